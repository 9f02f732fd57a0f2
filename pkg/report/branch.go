package report

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/format/packfile"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/protocol/packp"
	"github.com/go-git/go-git/v5/plumbing/storer"
	"github.com/go-git/go-git/v5/plumbing/transport"
	"github.com/go-git/go-git/v5/plumbing/transport/client"
	"github.com/go-git/go-git/v5/storage/memory"
	"github.com/go-logr/logr"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// ErrOtherWriter says that another writer holds the status branch: its
// commit is the branch's head and is younger than the lease. The error
// wrapping it names the other writer.
var ErrOtherWriter = errors.New("another writer holds the status branch")

// The trailers of a status commit.
const (
	TrailerWriter       = "Gitstellar-Writer"
	TrailerSourceCommit = "Gitstellar-Source-Commit"
)

// StatusBranchOptions configure a StatusBranchWriter.
type StatusBranchOptions struct {
	// URL of the repository: https://, ssh://, user@host:path, file://, or
	// a local path.
	URL string
	// Branch written to; default "gitstellar-status".
	Branch string
	// Credentials authenticate to the remote, as for the source.
	Credentials source.Credentials
	// Writer is the stable identity of this writer, e.g. "gitstellar run
	// quickstart", written in the Gitstellar-Writer trailer. One line.
	Writer string
	// LeaseDuration is how long another writer's last commit keeps the
	// branch theirs; default 2m.
	LeaseDuration time.Duration
	// Log gets pushes and problems; never credentials.
	Log logr.Logger

	// Attempts is how many times a Write tries to push before it returns
	// the error; default 5.
	Attempts int
	// Backoff is the wait after the first failed attempt, doubled after
	// each next one; default 1s.
	Backoff time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultStatusBranch is the branch written when none is set.
const DefaultStatusBranch = "gitstellar-status"

func (o StatusBranchOptions) withDefaults() StatusBranchOptions {
	o.Branch = cmp.Or(o.Branch, DefaultStatusBranch)
	o.LeaseDuration = cmp.Or(o.LeaseDuration, 2*time.Minute)
	o.Attempts = cmp.Or(o.Attempts, 5)
	o.Backoff = cmp.Or(o.Backoff, time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// StatusBranchWriter commits Summaries to the status branch of a
// repository: the tree of each commit is exactly RenderStatusFiles, on top
// of the branch's head, pushed without force. It is safe for concurrent
// use; writes are serialised.
//
// It keeps in memory the objects of the branch's head and of the commit
// being made, nothing else, and no repository on disk: the head is
// fetched (its last commit only) when the writer starts and when a push
// is refused because the branch moved; otherwise the head is the commit
// it pushed last.
type StatusBranchWriter struct {
	opts   StatusBranchOptions
	remote string
	auth   transport.AuthMethod
	log    logr.Logger

	mu      sync.Mutex
	started time.Time // when the write being made began
	// rendered and stored: how long the write being made took to render
	// its files and to store them (for its log line)
	rendered, stored time.Duration
	objects          *memory.Storage // the head's objects and the new ones
	head             *object.Commit  // the branch's head, as last fetched or pushed
	headKnown        bool            // head is current (nil: no branch)
	files            statusMemo      // what the last commit's files reuse
	headLimit        int64           // the most bytes held of a fetched head
	// beforePush runs between reading the remote's head and pushing (tests).
	beforePush func()
}

// NewStatusBranchWriter checks the options; it does not reach the remote.
func NewStatusBranchWriter(opts StatusBranchOptions) (*StatusBranchWriter, error) {
	opts = opts.withDefaults()
	switch {
	case opts.URL == "":
		return nil, errors.New("status branch: no repository URL")
	case strings.TrimSpace(opts.Writer) == "" || strings.ContainsAny(opts.Writer, "\r\n"):
		return nil, fmt.Errorf("status branch: writer %q: want a non-empty single line", opts.Writer)
	case opts.LeaseDuration < 0 || opts.Attempts < 0 || opts.Backoff < 0:
		return nil, errors.New("status branch: negative lease, attempts or backoff")
	}
	if err := plumbing.NewBranchReferenceName(opts.Branch).Validate(); err != nil {
		return nil, fmt.Errorf("status branch %q: %w", opts.Branch, err)
	}
	remote, err := absoluteRemote(opts.URL)
	if err != nil {
		return nil, err
	}
	auth, err := opts.Credentials.AuthFor(remote)
	if err != nil {
		return nil, fmt.Errorf("status branch: %w", err)
	}
	return &StatusBranchWriter{
		opts: opts, remote: remote, auth: auth, objects: memory.NewStorage(), headLimit: headLimit,
		log: opts.Log.WithValues("repository", source.RedactURL(opts.URL), "branch", opts.Branch),
	}, nil
}

// Write renders the summary and, when the files differ from the branch's
// head, commits them on top of it and pushes. It returns whether a commit
// was pushed. A push rejected because the branch moved is redone on the
// new head; failures are retried with backoff. An error wrapping
// ErrOtherWriter means another writer's lease holds the branch: nothing was
// pushed. Since every Write pushes the whole state, a failed Write loses
// nothing: the next one pushes it all.
func (w *StatusBranchWriter) Write(ctx context.Context, s Summary) (bool, error) {
	start := time.Now()
	files, err := w.files.render(s)
	if err != nil {
		return false, fmt.Errorf("status branch: %w", err)
	}
	rendered := time.Since(start)
	w.mu.Lock()
	defer w.mu.Unlock()
	storing := time.Now()
	tree, err := w.storeTree(files)
	if errors.Is(err, errBlobGone) {
		// A file the memo kept is in neither the head nor the commit
		// being made (another writer's head was fetched since): every
		// file is rendered and stored again.
		w.files.reset()
		if files, err = w.files.render(s); err != nil {
			return false, fmt.Errorf("status branch: %w", err)
		}
		tree, err = w.storeTree(files)
	}
	if err != nil {
		w.files.reset() // the next write renders and stores every file again
		return false, fmt.Errorf("status branch: store the tree: %w", err)
	}
	w.files.keep()
	w.started, w.rendered, w.stored = start, rendered, time.Since(storing)
	return w.retry(ctx, func(*object.Commit) (Summary, plumbing.Hash, error) { return s, tree, nil })
}

// WriteErrors records the errors of a revision that was not applied while
// keeping what the branch says of the objects: the head's summary.yaml
// gets these errors (and keeps its source commit, the one the spaces still
// hold), README.md is rendered again from it, every other file stays. It
// is for a process that has not seen the objects' state itself (`run
// --once` on a revision that does not render).
func (w *StatusBranchWriter) WriteErrors(ctx context.Context, errs []string) (bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.started, w.rendered, w.stored = time.Now(), 0, 0
	return w.retry(ctx, func(head *object.Commit) (Summary, plumbing.Hash, error) {
		files := map[string]statusFile{}
		var s Summary
		if head != nil {
			if err := w.readTree(head, files); err != nil {
				return s, plumbing.ZeroHash, fmt.Errorf("status branch: read %s: %w", head.Hash.String()[:12], err)
			}
			if f, ok := files[StatusSummaryFile]; ok && f.data != nil {
				var err error
				if s, err = DecodeStatusSummary(f.data); err != nil {
					return s, plumbing.ZeroHash, err
				}
			}
		}
		s.Errors = errs
		rendered, err := (&statusMemo{}).render(s)
		if err != nil {
			return s, plumbing.ZeroHash, fmt.Errorf("status branch: %w", err)
		}
		files[StatusReadmeFile], files[StatusSummaryFile] = rendered[StatusReadmeFile], rendered[StatusSummaryFile]
		tree, err := w.storeTree(files)
		if err != nil {
			return s, plumbing.ZeroHash, fmt.Errorf("status branch: store the tree: %w", err)
		}
		return s, tree, nil
	})
}

// readTree lists every file of a commit by its blob; only summary.yaml is
// read.
func (w *StatusBranchWriter) readTree(c *object.Commit, into map[string]statusFile) error {
	tree, err := c.Tree()
	if err != nil {
		return err
	}
	walker := object.NewTreeWalker(tree, true, nil)
	defer walker.Close()
	for {
		name, entry, err := walker.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if !entry.Mode.IsFile() {
			continue
		}
		f := statusFile{hash: entry.Hash, inHead: true}
		if name == StatusSummaryFile {
			blob, err := object.GetBlob(w.objects, entry.Hash)
			if errors.Is(err, plumbing.ErrObjectNotFound) {
				into[name] = f // larger than the writer holds of a head: not kept
				continue
			}
			if err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
			if f.data, err = readBlob(blob); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		into[name] = f
	}
}

// readBlob reads a blob's content.
func readBlob(blob *object.Blob) ([]byte, error) {
	r, err := blob.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// content gives the summary and tree to commit on top of a head (nil: the
// branch does not exist yet).
type content func(head *object.Commit) (Summary, plumbing.Hash, error)

// retry makes attempts with backoff; called with w.mu held.
func (w *StatusBranchWriter) retry(ctx context.Context, next content) (bool, error) {
	wait := w.opts.Backoff
	for attempt := 1; ; attempt++ {
		pushed, err := w.attempt(ctx, next)
		if err == nil || !retriable(err) || attempt >= w.opts.Attempts {
			if err != nil && !errors.Is(err, ErrOtherWriter) {
				w.log.Error(err, "writing the status branch failed", "attempts", attempt)
			}
			return pushed, err
		}
		w.log.Info("writing the status branch failed, retrying", "attempt", attempt, "retryIn", wait, "error", err.Error())
		select {
		case <-ctx.Done():
			return false, fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// attempt brings the remote's head, and commits and pushes on top of it
// when the tree differs.
func (w *StatusBranchWriter) attempt(ctx context.Context, next content) (bool, error) {
	fetching := time.Now()
	if !w.headKnown {
		head, err := w.fetchHead(ctx)
		if err != nil {
			return false, err
		}
		w.head, w.headKnown = head, true
	}
	head := w.head
	fetched := time.Since(fetching)
	if head != nil {
		if err := w.checkLease(head); err != nil {
			w.headKnown = false // look again at the next write
			return false, err
		}
	}
	s, tree, err := next(head)
	if err != nil {
		return false, fmt.Errorf("%w: %w", errPermanent, err)
	}
	if head != nil && head.TreeHash == tree {
		return false, nil
	}
	commit, err := w.storeCommit(s, tree, head)
	if err != nil {
		return false, fmt.Errorf("status branch: commit: %w", err)
	}
	if w.beforePush != nil {
		w.beforePush()
	}
	pushing := time.Now()
	if err := w.push(ctx, commit, head); err != nil {
		w.headKnown = false // the branch may have moved: fetch it again
		return false, err
	}
	if err := w.keepOnly(commit); err != nil { // the new head
		return true, fmt.Errorf("status branch: %w", err)
	}
	ms := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
	w.log.Info("pushed the status", "commit", commit.String()[:12], "sourceCommit", s.SourceCommit, "orphan", head == nil,
		"took", ms(time.Since(w.started)), "render", ms(w.rendered), "store", ms(w.stored), "fetch", ms(fetched), "push", ms(time.Since(pushing)))
	return true, nil
}

// fetchHead fetches the branch's last commit into a repository on disk
// made for the fetch and removed after it, and holds of it what writing on
// top of it takes (holdHead); nil when the remote has no such branch.
func (w *StatusBranchWriter) fetchHead(ctx context.Context) (*object.Commit, error) {
	dir, err := os.MkdirTemp("", "gitstellar-status-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	repo, err := git.PlainInit(dir, true)
	if err != nil {
		return nil, err
	}
	if _, err := repo.CreateRemote(&config.RemoteConfig{Name: "origin", URLs: []string{w.remote}}); err != nil {
		return nil, err
	}
	branch := plumbing.NewBranchReferenceName(w.opts.Branch)
	tracking := plumbing.NewRemoteReferenceName("origin", w.opts.Branch)
	err = repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin",
		RefSpecs:   []config.RefSpec{config.RefSpec("+" + branch.String() + ":" + tracking.String())},
		Auth:       w.auth,
		Tags:       git.NoTags,
		Depth:      1,
	})
	switch {
	case errors.Is(err, git.NoMatchingRefSpecError{}), errors.Is(err, transport.ErrEmptyRemoteRepository):
		return nil, nil
	case err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate):
		return nil, w.remoteError("fetch", err)
	}
	ref, err := repo.Reference(tracking, true)
	if err != nil {
		return nil, fmt.Errorf("status branch: after fetching: %w", err)
	}
	fetched, ok := repo.Storer.(interface {
		storer.EncodedObjectStorer
		EncodedObjectSize(plumbing.Hash) (int64, error)
	})
	if !ok {
		return nil, errors.New("status branch: the fetched repository does not tell object sizes")
	}
	return w.holdHead(fetched, ref.Hash())
}

// headLimit bounds what the writer holds of a fetched head: whoever can
// push the branch controls its content.
const headLimit = 64 << 20

// holdHead copies into the writer's objects what writing on top of a
// fetched head takes: the commit, its trees (a push then sends only what
// the new commit adds) and its summary.yaml (WriteErrors keeps it) — not
// the other files, which a new commit replaces or refers to by hash. Up to
// w.headLimit bytes: beyond, the trees are left out (a push then sends
// every object of the new commit), and so is a larger summary.yaml.
func (w *StatusBranchWriter) holdHead(fetched interface {
	storer.EncodedObjectStorer
	EncodedObjectSize(plumbing.Hash) (int64, error)
}, head plumbing.Hash) (*object.Commit, error) {
	c, err := object.GetCommit(fetched, head)
	if err != nil {
		return nil, err
	}
	var held []plumbing.EncodedObject
	var size int64
	hold := func(h plumbing.Hash) (plumbing.EncodedObject, bool, error) {
		n, err := fetched.EncodedObjectSize(h)
		if err != nil {
			return nil, false, err
		}
		if size += n; size > w.headLimit {
			return nil, false, nil
		}
		o, err := inMemory(fetched.EncodedObject(plumbing.AnyObject, h))
		if err == nil {
			held = append(held, o)
		}
		return o, err == nil, err
	}
	var walk func(tree plumbing.Hash, root bool) (bool, error)
	walk = func(tree plumbing.Hash, root bool) (bool, error) {
		o, ok, err := hold(tree)
		if !ok || err != nil {
			return ok, err
		}
		var t object.Tree
		if err := t.Decode(o); err != nil {
			return false, err
		}
		for _, e := range t.Entries {
			switch {
			case e.Mode == filemode.Dir:
				ok, err = walk(e.Hash, false)
			case root && e.Name == StatusSummaryFile:
				_, _, err = hold(e.Hash) // left out when too large
			}
			if !ok || err != nil {
				return ok, err
			}
		}
		return true, nil
	}
	complete, err := walk(c.TreeHash, true)
	if err != nil {
		return nil, err
	}
	if !complete {
		w.log.Info("the status branch's head is larger than what the writer holds of it: the next commit sends every file", "head", head.String()[:12], "limitBytes", w.headLimit)
		held = nil
	}
	commit, err := inMemory(fetched.EncodedObject(plumbing.CommitObject, head))
	if err != nil {
		return nil, err
	}
	for _, o := range append(held, commit) {
		if _, err := w.objects.SetEncodedObject(o); err != nil {
			return nil, err
		}
	}
	return object.GetCommit(w.objects, head)
}

// inMemory reads an object of the fetched repository into memory: the
// repository is removed once the fetch is done.
func inMemory(o plumbing.EncodedObject, err error) (plumbing.EncodedObject, error) {
	if err != nil {
		return nil, err
	}
	r, err := o.Reader()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	m := &plumbing.MemoryObject{}
	m.SetType(o.Type())
	if _, err := io.Copy(m, r); err != nil {
		return nil, err
	}
	return m, nil
}

// keepOnly drops every object but the commit's and those of its tree:
// what the writer holds stays the size of one snapshot of the branch.
func (w *StatusBranchWriter) keepOnly(commit plumbing.Hash) error {
	kept := memory.NewStorage()
	keep := func(h plumbing.Hash) error {
		o, err := w.objects.EncodedObject(plumbing.AnyObject, h)
		if errors.Is(err, plumbing.ErrObjectNotFound) {
			return nil // a file of a fetched head the commit kept as it was: not held
		}
		if err != nil {
			return err
		}
		_, err = kept.SetEncodedObject(o)
		return err
	}
	c, err := object.GetCommit(w.objects, commit)
	if err != nil {
		return err
	}
	if err := keep(commit); err != nil {
		return err
	}
	var walk func(tree plumbing.Hash) error
	walk = func(tree plumbing.Hash) error {
		if err := keep(tree); err != nil {
			return err
		}
		t, err := object.GetTree(w.objects, tree)
		if err != nil {
			return err
		}
		for _, e := range t.Entries {
			if e.Mode == filemode.Dir {
				err = walk(e.Hash)
			} else {
				err = keep(e.Hash)
			}
			if err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(c.TreeHash); err != nil {
		return err
	}
	w.objects = kept
	w.head, err = object.GetCommit(kept, commit)
	return err
}

// checkLease refuses a head that another writer committed less than the
// lease ago. A head without the writer trailer (a person's commit) holds
// no lease.
func (w *StatusBranchWriter) checkLease(head *object.Commit) error {
	other := commitTrailers(head.Message)[TrailerWriter]
	if other == "" || other == w.opts.Writer {
		return nil
	}
	until := head.Committer.When.Add(w.opts.LeaseDuration)
	if w.opts.Now().Before(until) {
		return fmt.Errorf("%w: %q committed %s at %s; its lease lasts until %s",
			ErrOtherWriter, other, head.Hash.String()[:12], head.Committer.When.UTC().Format(time.RFC3339), until.UTC().Format(time.RFC3339))
	}
	w.log.Info("taking over the status branch: the other writer's lease expired", "otherWriter", other, "head", head.Hash.String()[:12])
	return nil
}

// commitTrailers reads the "Key: value" lines of a message's last
// paragraph.
func commitTrailers(message string) map[string]string {
	paragraphs := strings.Split(strings.TrimSpace(strings.ReplaceAll(message, "\r\n", "\n")), "\n\n")
	trailers := map[string]string{}
	for _, line := range strings.Split(paragraphs[len(paragraphs)-1], "\n") {
		if key, value, ok := strings.Cut(line, ": "); ok && !strings.Contains(key, " ") {
			trailers[key] = strings.TrimSpace(value)
		}
	}
	return trailers
}

// statusCommitMessage is "status of <short commit>", counts, and the
// trailers.
func statusCommitMessage(s Summary, writer string) string {
	short := s.SourceCommit
	if len(short) > 12 {
		short = short[:12]
	}
	var b strings.Builder
	fmt.Fprintf(&b, "status of %s\n\n", cmp.Or(short, "no source commit"))
	objects, placements, ready := 0, 0, 0
	for _, space := range s.Spaces {
		objects += len(space.Objects)
		for _, o := range space.Objects {
			for _, st := range o.WECs {
				placements++
				if st.Synced && st.Ready {
					ready++
				}
			}
		}
	}
	fmt.Fprintf(&b, "%d object(s) in %d WDS(es); %d/%d ready in their WECs", objects, len(s.Spaces), ready, placements)
	if len(s.Errors) > 0 {
		fmt.Fprintf(&b, "; %d error(s) in the revision", len(s.Errors))
	}
	fmt.Fprintf(&b, ".\n\n%s: %s\n", TrailerWriter, writer)
	if s.SourceCommit != "" {
		fmt.Fprintf(&b, "%s: %s\n", TrailerSourceCommit, oneLine(s.SourceCommit))
	}
	return b.String()
}

var statusSignature = object.Signature{Name: "gitstellar", Email: "gitstellar@users.noreply.gitstellar.io"}

// storeCommit writes a commit of tree on top of parent (none: an orphan).
func (w *StatusBranchWriter) storeCommit(s Summary, tree plumbing.Hash, parent *object.Commit) (plumbing.Hash, error) {
	sig := statusSignature
	sig.When = w.opts.Now().Truncate(time.Second)
	c := &object.Commit{Author: sig, Committer: sig, Message: statusCommitMessage(s, w.opts.Writer), TreeHash: tree}
	if parent != nil {
		c.ParentHashes = []plumbing.Hash{parent.Hash}
	}
	obj := w.objects.NewEncodedObject()
	if err := c.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.objects.SetEncodedObject(obj)
}

// push sends the commit, with the objects it adds to parent (every object
// of it for an orphan), and moves the branch from parent to it, never
// forced: the server refuses it when the branch moved since it was
// fetched. go-git's Push would find what to send by walking every object
// reachable from the remote's branches, at each push: a cost that grows
// with the branch's history, where this one grows with what changed.
func (w *StatusBranchWriter) push(ctx context.Context, commit plumbing.Hash, parent *object.Commit) error {
	objects, err := w.objectsAdded(commit, parent)
	if err != nil {
		return fmt.Errorf("status branch: %w", err)
	}
	where := "push " + commit.String()[:12] + " to"
	endpoint, err := transport.NewEndpoint(w.remote)
	if err != nil {
		return w.remoteError(where, err)
	}
	remote, err := client.NewClient(endpoint)
	if err != nil {
		return w.remoteError(where, err)
	}
	session, err := remote.NewReceivePackSession(endpoint, w.auth)
	if err != nil {
		return w.remoteError(where, err)
	}
	defer session.Close()
	advertised, err := session.AdvertisedReferencesContext(ctx)
	if err != nil {
		return w.remoteError(where, err)
	}
	old := plumbing.ZeroHash
	if parent != nil {
		old = parent.Hash
	}
	req := packp.NewReferenceUpdateRequestFromCapabilities(advertised.Capabilities)
	req.Commands = []*packp.Command{{Name: plumbing.NewBranchReferenceName(w.opts.Branch), Old: old, New: commit}}
	pack, packed := io.Pipe()
	go func() {
		_, err := packfile.NewEncoder(packed, w.objects, false).Encode(objects, 0)
		packed.CloseWithError(err)
	}()
	req.Packfile = pack
	report, err := session.ReceivePack(ctx, req)
	_ = pack.Close()
	if err == nil && report != nil {
		err = report.Error()
	}
	if err != nil {
		return w.remoteError(where, err)
	}
	return nil
}

// objectsAdded lists the commit and the trees and blobs of its tree that
// parent's tree does not hold at the same path: unchanged directories are
// skipped whole.
func (w *StatusBranchWriter) objectsAdded(commit plumbing.Hash, parent *object.Commit) ([]plumbing.Hash, error) {
	c, err := object.GetCommit(w.objects, commit)
	if err != nil {
		return nil, err
	}
	had := plumbing.ZeroHash
	if parent != nil {
		had = parent.TreeHash
	}
	out := []plumbing.Hash{commit}
	seen := map[plumbing.Hash]bool{commit: true}
	var walk func(tree, had plumbing.Hash) error
	walk = func(tree, had plumbing.Hash) error {
		if tree == had || seen[tree] {
			return nil
		}
		seen[tree] = true
		out = append(out, tree)
		t, err := object.GetTree(w.objects, tree)
		if err != nil {
			return err
		}
		before := map[string]plumbing.Hash{}
		if !had.IsZero() {
			if old, err := object.GetTree(w.objects, had); err == nil {
				for _, e := range old.Entries {
					before[e.Name] = e.Hash
				}
			}
		}
		for _, e := range t.Entries {
			switch {
			case e.Mode == filemode.Dir:
				if err := walk(e.Hash, before[e.Name]); err != nil {
					return err
				}
			case e.Hash != before[e.Name] && !seen[e.Hash]:
				seen[e.Hash] = true
				out = append(out, e.Hash)
			}
		}
		return nil
	}
	return out, walk(c.TreeHash, had)
}

// statusTree is a directory of the tree being stored.
type statusTree struct {
	blobs map[string]plumbing.Hash
	dirs  map[string]*statusTree
}

// storeTree writes the files as blobs and trees and returns the root tree.
func (w *StatusBranchWriter) storeTree(files map[string]statusFile) (plumbing.Hash, error) {
	root := &statusTree{}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		// A file without data is one the memo kept, whose blob an earlier
		// write stored (held unless another writer's head was fetched
		// since), or one of the head kept as it is (the remote has it).
		blob := files[p].hash
		if files[p].data == nil && !files[p].inHead && w.objects.HasEncodedObject(blob) != nil {
			return plumbing.ZeroHash, fmt.Errorf("%s: %w", p, errBlobGone)
		}
		if files[p].data != nil {
			var err error
			if blob, err = w.storeObject(plumbing.BlobObject, files[p].data); err != nil {
				return plumbing.ZeroHash, err
			}
		}
		dir, name := path.Split(p)
		node := root
		for _, part := range strings.Split(strings.TrimSuffix(dir, "/"), "/") {
			if part == "" {
				continue
			}
			if node.dirs == nil {
				node.dirs = map[string]*statusTree{}
			}
			if node.dirs[part] == nil {
				node.dirs[part] = &statusTree{}
			}
			node = node.dirs[part]
		}
		if node.blobs == nil {
			node.blobs = map[string]plumbing.Hash{}
		}
		node.blobs[name] = blob
	}
	return w.storeDir(root)
}

func (w *StatusBranchWriter) storeDir(dir *statusTree) (plumbing.Hash, error) {
	var t object.Tree
	for name, hash := range dir.blobs {
		if _, clash := dir.dirs[name]; clash {
			return plumbing.ZeroHash, fmt.Errorf("%s is both a file and a directory", name)
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Regular, Hash: hash})
	}
	for name, sub := range dir.dirs {
		hash, err := w.storeDir(sub)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		t.Entries = append(t.Entries, object.TreeEntry{Name: name, Mode: filemode.Dir, Hash: hash})
	}
	// Git orders entries by name, a directory's name ending with '/'.
	sortName := func(e object.TreeEntry) string {
		if e.Mode == filemode.Dir {
			return e.Name + "/"
		}
		return e.Name
	}
	slices.SortFunc(t.Entries, func(a, b object.TreeEntry) int { return strings.Compare(sortName(a), sortName(b)) })
	obj := w.objects.NewEncodedObject()
	if err := t.Encode(obj); err != nil {
		return plumbing.ZeroHash, err
	}
	if w.objects.HasEncodedObject(obj.Hash()) == nil {
		return obj.Hash(), nil // an unchanged directory
	}
	return w.objects.SetEncodedObject(obj)
}

func (w *StatusBranchWriter) storeObject(typ plumbing.ObjectType, content []byte) (plumbing.Hash, error) {
	hash := plumbing.ComputeHash(typ, content)
	if w.objects.HasEncodedObject(hash) == nil {
		return hash, nil // stored by an earlier commit: an unchanged file
	}
	obj := w.objects.NewEncodedObject()
	obj.SetType(typ)
	out, err := obj.Writer()
	if err != nil {
		return plumbing.ZeroHash, err
	}
	if _, err := out.Write(content); err != nil {
		out.Close()
		return plumbing.ZeroHash, err
	}
	if err := out.Close(); err != nil {
		return plumbing.ZeroHash, err
	}
	return w.objects.SetEncodedObject(obj)
}

// errBlobGone: a file's blob, kept by the memo, is no longer held.
var errBlobGone = errors.New("its blob is no longer held")

// errPermanent marks errors that retrying within a Write does not fix.
var errPermanent = errors.New("not retried")

func retriable(err error) bool {
	return !errors.Is(err, errPermanent) && !errors.Is(err, ErrOtherWriter) &&
		!errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded)
}

// remoteError words a transport error without credentials.
func (w *StatusBranchWriter) remoteError(what string, err error) error {
	where := fmt.Sprintf("status branch %s: %s %s", w.opts.Branch, what, source.RedactURL(w.opts.URL))
	switch {
	case errors.Is(err, transport.ErrAuthenticationRequired), errors.Is(err, transport.ErrAuthorizationFailed):
		return fmt.Errorf("%s: authentication failed: check the credentials (%w)", where, errPermanent)
	case errors.Is(err, transport.ErrRepositoryNotFound):
		return fmt.Errorf("%s: repository not found (%w)", where, errPermanent)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// absoluteRemote makes a local path absolute; URLs stay as they are.
func absoluteRemote(remote string) (string, error) {
	if strings.Contains(remote, "://") {
		return remote, nil
	}
	if i := strings.Index(remote, ":"); i > 0 && !strings.Contains(remote[:i], "/") && !filepath.IsAbs(remote) {
		return remote, nil // scp-like user@host:path
	}
	return filepath.Abs(remote)
}
