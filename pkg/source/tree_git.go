package source

import (
	"fmt"
	"io"
	"io/fs"
	"path"
	"sync"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// CommitTree is the tree of a commit, read from the object store: nothing
// is written to disk.
func CommitTree(c *object.Commit) (*Tree, error) {
	root, err := c.Tree()
	if err != nil {
		return nil, fmt.Errorf("commit %s: %w", c.Hash, err)
	}
	return &Tree{store: &gitStore{root: root, dirs: map[string]*object.Tree{".": root}}, Name: "commit " + c.Hash.String()[:12]}, nil
}

// OpenRevision reads a revision of a local repository: rev is anything git
// understands as a revision (HEAD, a branch, a tag, origin/main, a commit,
// HEAD~1). It returns the tree and the commit's full hash.
func OpenRevision(repoPath, rev string) (*Tree, string, error) {
	repo, err := git.PlainOpenWithOptions(repoPath, &git.PlainOpenOptions{DetectDotGit: true})
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", repoPath, err)
	}
	hash, err := repo.ResolveRevision(plumbing.Revision(rev))
	if err != nil {
		return nil, "", fmt.Errorf("revision %q: %w", rev, err)
	}
	c, err := repo.CommitObject(*hash)
	if err != nil {
		return nil, "", fmt.Errorf("revision %q: %w", rev, err)
	}
	t, err := CommitTree(c)
	if err != nil {
		return nil, "", fmt.Errorf("revision %q: %w", rev, err)
	}
	return t, c.Hash.String(), nil
}

// gitStore reads a Git tree object and the objects below it, keeping the
// trees it decoded (directories only, never file contents).
type gitStore struct {
	root *object.Tree
	mu   sync.Mutex
	dirs map[string]*object.Tree
}

// dir returns the tree of a directory.
func (s *gitStore) dir(p string) (*object.Tree, error) {
	s.mu.Lock()
	t, ok := s.dirs[p]
	s.mu.Unlock()
	if ok {
		return t, nil
	}
	pt, e, err := s.find(p) // "." is always in dirs: this ends
	if err != nil {
		return nil, err
	}
	if e.Mode != filemode.Dir {
		return nil, fmt.Errorf("%s is not a directory", p)
	}
	if t, err = pt.Tree(e.Name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.dirs[p] = t
	s.mu.Unlock()
	return t, nil
}

// find is the entry of one name in a tree.
func find(t *object.Tree, name string) (*object.TreeEntry, error) {
	for i := range t.Entries {
		if t.Entries[i].Name == name {
			return &t.Entries[i], nil
		}
	}
	return nil, fs.ErrNotExist
}

// find returns the entry of a path and the tree holding it.
func (s *gitStore) find(p string) (*object.Tree, *object.TreeEntry, error) {
	dir, name := path.Split(p)
	t, err := s.dir(path.Clean(dir + "."))
	if err != nil {
		return nil, nil, err
	}
	e, err := find(t, name)
	return t, e, err
}

func (s *gitStore) lstat(p string) (treeEntry, error) {
	if p == "." {
		return treeEntry{name: ".", kind: kindDir}, nil
	}
	t, e, err := s.find(p)
	if err != nil {
		return treeEntry{}, err
	}
	return s.entry(e, func() (int64, error) { return t.Size(e.Name) })
}

func (s *gitStore) readDir(p string) ([]treeEntry, error) {
	t, err := s.dir(p)
	if err != nil {
		return nil, err
	}
	out := make([]treeEntry, 0, len(t.Entries))
	for i := range t.Entries {
		name := t.Entries[i].Name
		e, err := s.entry(&t.Entries[i], func() (int64, error) { return t.Size(name) })
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// entry describes a tree entry; size is asked only of a file.
func (s *gitStore) entry(e *object.TreeEntry, size func() (int64, error)) (treeEntry, error) {
	out := treeEntry{name: e.Name}
	switch e.Mode {
	case filemode.Dir:
		out.kind = kindDir
	case filemode.Symlink:
		out.kind = kindSymlink
	case filemode.Regular, filemode.Executable, filemode.Deprecated:
		out.kind = kindFile
		n, err := size()
		if err != nil {
			return treeEntry{}, err
		}
		out.size = n
	case filemode.Submodule:
		out.kind, out.what = kindOther, "a submodule (submodules are not read)"
	default:
		out.kind, out.what = kindOther, fmt.Sprintf("an entry of mode %s", e.Mode)
	}
	return out, nil
}

func (s *gitStore) blob(p string) (*object.Blob, error) {
	t, e, err := s.find(p)
	if err != nil {
		return nil, err
	}
	f, err := t.TreeEntryFile(e)
	if err != nil {
		return nil, err
	}
	return &f.Blob, nil
}

func (s *gitStore) readLink(p string) (string, error) {
	b, err := s.blob(p)
	if err != nil {
		return "", err
	}
	if b.Size > MaxSymlinkTarget {
		return "", fmt.Errorf("target longer than %d bytes", MaxSymlinkTarget)
	}
	r, err := b.Reader()
	if err != nil {
		return "", err
	}
	defer r.Close()
	target, err := io.ReadAll(io.LimitReader(r, MaxSymlinkTarget))
	return string(target), err
}

func (s *gitStore) open(p string) (io.ReadCloser, error) {
	b, err := s.blob(p)
	if err != nil {
		return nil, err
	}
	return b.Reader()
}
