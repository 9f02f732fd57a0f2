package source

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
)

// Options says what to follow.
type Options struct {
	// URL of the repository: https://, ssh://, user@host:path, file://, or
	// a local path.
	URL string
	// Ref is the branch, tag or commit to follow.
	Ref Ref
	// CacheDir holds the fetched objects. Nothing is checked out: a
	// revision is read from the object store (Tree).
	CacheDir string
	// Credentials authenticate to the remote.
	Credentials Credentials
	// Verifier, when set, refuses a commit that is not signed by one of its
	// trusted keys (--verify-commits). Only the followed commit is checked,
	// not its history.
	Verifier *CommitVerifier
}

// Revision is a commit and its tree.
type Revision struct {
	// Commit is the full SHA of the commit.
	Commit string
	// Ref is what was followed ("branch main", "tag v1", or the commit).
	Ref string
	// Tree is the commit's files, read from the object store.
	Tree    *Tree
	Author  string
	Message string
	Time    time.Time
	// Signer is the key that signed the commit, when Options.Verifier is
	// set: "SSH key SHA256:... (comment)" or "OpenPGP key ... (user ID)".
	Signer string
}

// Short is the commit's 12-character abbreviation.
func (r *Revision) Short() string {
	if len(r.Commit) > 12 {
		return r.Commit[:12]
	}
	return r.Commit
}

// Fetcher fetches revisions of one repository. It is safe for concurrent
// use; fetches are serialised.
type Fetcher struct {
	opts    Options
	remote  string
	dir     string
	auth    transport.AuthMethod
	mu      sync.Mutex
	repo    *git.Repository
	current *Revision
	// resolved is the remote ref the followed ref names (HEAD's target).
	resolved plumbing.ReferenceName
	// oci follows an OCI artifact instead of a Git repository.
	oci *ociSource
}

// NewFetcher prepares a fetcher; it does not reach the remote.
func NewFetcher(opts Options) (*Fetcher, error) {
	if opts.URL == "" {
		return nil, errors.New("no repository URL")
	}
	if IsOCI(opts.URL) {
		if opts.Verifier != nil {
			return nil, errors.New("an OCI artifact has no commit signature to verify")
		}
		src, err := newOCISource(opts)
		if err != nil {
			return nil, err
		}
		return &Fetcher{opts: opts, oci: src}, nil
	}
	if opts.Ref == (Ref{}) {
		return nil, errors.New("no ref to follow")
	}
	remote := opts.URL
	if schemeOf(remote) == "file" && !strings.HasPrefix(remote, "file://") {
		abs, err := filepath.Abs(remote)
		if err != nil {
			return nil, err
		}
		remote = abs
	}
	auth, err := opts.Credentials.AuthFor(remote)
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256([]byte(remote))
	return &Fetcher{opts: opts, remote: remote, auth: auth,
		dir: filepath.Join(opts.CacheDir, hex.EncodeToString(sum[:8]))}, nil
}

// Current is the revision of the last successful Fetch, or nil.
func (f *Fetcher) Current() *Revision {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current
}

// Fetch brings the followed ref's commit and checks it out. changed is
// false when the ref still points at the commit of the previous Fetch: then
// nothing was downloaded or written.
func (f *Fetcher) Fetch(ctx context.Context) (rev *Revision, changed bool, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.oci != nil {
		rev, changed, err := f.oci.fetch(ctx)
		if err == nil {
			f.current = rev
		}
		return rev, changed, err
	}
	if err := f.open(); err != nil {
		return nil, false, err
	}
	hash, err := f.resolve(ctx)
	if err != nil {
		return nil, false, err
	}
	if f.current != nil && f.current.Commit == hash.String() {
		return f.current, false, nil
	}
	commit, err := f.commit(ctx, hash)
	if err != nil {
		return nil, false, err
	}
	signer, err := f.verify(commit) // before anything is read
	if err != nil {
		return nil, false, err
	}
	tree, err := CommitTree(commit)
	if err != nil {
		return nil, false, err
	}
	rev = &Revision{
		Commit: commit.Hash.String(), Ref: f.opts.Ref.String(), Tree: tree,
		Author: commit.Author.Name, Message: firstLine(commit.Message), Time: commit.Committer.When,
		Signer: signer,
	}
	f.current = rev
	return rev, true, nil
}

func (f *Fetcher) open() error {
	if f.repo != nil {
		return nil
	}
	path := filepath.Join(f.dir, "repo")
	repo, err := OpenBareCache(path, f.remote)
	if err != nil {
		return err
	}
	// Earlier versions checked revisions out here.
	_ = os.RemoveAll(filepath.Join(f.dir, "trees"))
	f.repo = repo
	return nil
}

// resolve asks the remote which commit the ref points at.
func (f *Fetcher) resolve(ctx context.Context) (plumbing.Hash, error) {
	ref := f.opts.Ref
	if ref.Commit != "" {
		return plumbing.NewHash(ref.Commit), nil
	}
	remote, err := f.repo.Remote("origin")
	if err != nil {
		return plumbing.ZeroHash, err
	}
	refs, err := remote.ListContext(ctx, &git.ListOptions{Auth: f.auth, PeelingOption: git.AppendPeeled})
	if err != nil {
		return plumbing.ZeroHash, f.remoteError("list refs of", err)
	}
	want := ref.remoteName()
	for _, r := range refs { // HEAD may be symbolic: follow it
		if r.Name() == want && r.Type() == plumbing.SymbolicReference {
			want = r.Target()
		}
	}
	f.resolved = want
	var found, peeled plumbing.Hash
	for _, r := range refs {
		switch r.Name() {
		case want:
			found = r.Hash()
		case want + "^{}":
			peeled = r.Hash()
		}
	}
	switch {
	case !peeled.IsZero():
		return peeled, nil
	case !found.IsZero():
		return found, nil
	}
	return plumbing.ZeroHash, fmt.Errorf("%s: %s not found", RedactURL(f.opts.URL), ref)
}

// commit returns the commit object, fetching it when it is not here yet.
func (f *Fetcher) commit(ctx context.Context, hash plumbing.Hash) (*object.Commit, error) {
	if c, err := f.repo.CommitObject(hash); err == nil {
		return c, nil
	}
	ref := f.opts.Ref
	target := config.RefSpec("+" + string(ref.remoteName()) + ":refs/gitstellar/target")
	if ref.Commit != "" {
		target = config.RefSpec("+" + ref.Commit + ":refs/gitstellar/target")
	} else if f.resolved != "" {
		target = config.RefSpec("+" + string(f.resolved) + ":refs/gitstellar/target")
	}
	err := f.fetch(ctx, target, 1)
	if err != nil && ref.Commit != "" {
		// Not every server serves a commit by its hash: fetch the branches.
		err = f.fetch(ctx, "+refs/heads/*:refs/gitstellar/heads/*", 0)
	}
	if err != nil {
		return nil, err
	}
	c, err := f.repo.CommitObject(hash)
	if err != nil {
		if tag, terr := f.repo.TagObject(hash); terr == nil {
			return tag.Commit()
		}
		return nil, fmt.Errorf("%s: commit %s not found after fetching", RedactURL(f.opts.URL), hash)
	}
	return c, nil
}

func (f *Fetcher) fetch(ctx context.Context, spec config.RefSpec, depth int) error {
	err := f.repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{spec},
		Depth:      depth,
		Auth:       f.auth,
		Tags:       git.NoTags,
		Force:      true,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return f.remoteError("fetch from", err)
	}
	return nil
}

// remoteError words a transport error without credentials.
func (f *Fetcher) remoteError(what string, err error) error {
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%s %s: authentication failed: check the credentials", what, RedactURL(f.opts.URL))
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s %s: repository not found", what, RedactURL(f.opts.URL))
	}
	return fmt.Errorf("%s %s: %w", what, RedactURL(f.opts.URL), err)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}
