package gittest

import (
	"path"
	"slices"
	"strings"
	"testing"
	"time"

	gogit "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/storer"
)

// Entry is one entry of a crafted tree: a path and what it is. Entries
// may do what `git add` never would: two entries of one name, a symbolic
// link and a directory below the same name, a link to anything.
type Entry struct {
	Path string
	// Mode is filemode.Regular when zero.
	Mode filemode.FileMode
	// Content is a file's bytes or a symbolic link's target.
	Content string
}

// File is a regular file entry.
func File(p, content string) Entry { return Entry{Path: p, Content: content} }

// Symlink is a symbolic link entry.
func Symlink(p, target string) Entry {
	return Entry{Path: p, Mode: filemode.Symlink, Content: target}
}

// Craft writes a commit holding exactly these entries into the repository
// at dir (created when missing) with Git's object plumbing, as an attacker
// would, and points branch at it. It returns the commit's hash.
func Craft(t testing.TB, dir, branch string, entries ...Entry) string {
	t.Helper()
	repo, err := gogit.PlainOpen(dir)
	if err != nil {
		if repo, err = gogit.PlainInit(dir, false); err != nil {
			t.Fatalf("init %s: %v", dir, err)
		}
	}
	s := repo.Storer
	root := craftTree(t, s, "", entries)
	sig := object.Signature{Name: "mallory", Email: "mallory@example.com", When: time.Unix(1700000000, 0)}
	c := &object.Commit{Author: sig, Committer: sig, Message: "crafted\n", TreeHash: root}
	if head, err := repo.Reference(plumbing.NewBranchReferenceName(branch), true); err == nil {
		c.ParentHashes = []plumbing.Hash{head.Hash()}
	}
	hash := store(t, s, c)
	ref := plumbing.NewHashReference(plumbing.NewBranchReferenceName(branch), hash)
	if err := s.SetReference(ref); err != nil {
		t.Fatal(err)
	}
	if err := s.SetReference(plumbing.NewSymbolicReference(plumbing.HEAD, ref.Name())); err != nil {
		t.Fatal(err)
	}
	return hash.String()
}

// craftTree stores the tree of the entries under prefix ("" the root).
func craftTree(t testing.TB, s storer.EncodedObjectStorer, prefix string, entries []Entry) plumbing.Hash {
	tree := &object.Tree{}
	var subdirs []string
	for _, e := range entries {
		rel, ok := strings.CutPrefix(e.Path, prefix)
		if !ok {
			continue
		}
		if first, _, nested := strings.Cut(rel, "/"); nested {
			if !slices.Contains(subdirs, first) {
				subdirs = append(subdirs, first)
			}
			continue
		}
		mode := e.Mode
		if mode == 0 {
			mode = filemode.Regular
		}
		hash := blob(t, s, e.Content)
		if mode == filemode.Submodule {
			hash = plumbing.NewHash(e.Content)
		}
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: rel, Mode: mode, Hash: hash})
	}
	for _, d := range subdirs {
		tree.Entries = append(tree.Entries, object.TreeEntry{Name: d, Mode: filemode.Dir,
			Hash: craftTree(t, s, path.Join(prefix, d)+"/", entries)})
	}
	slices.SortStableFunc(tree.Entries, func(a, b object.TreeEntry) int { return strings.Compare(a.Name, b.Name) })
	return store(t, s, tree)
}

func blob(t testing.TB, s storer.EncodedObjectStorer, content string) plumbing.Hash {
	o := s.NewEncodedObject()
	o.SetType(plumbing.BlobObject)
	w, err := o.Writer()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte(content)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func store(t testing.TB, s storer.EncodedObjectStorer, obj interface {
	Encode(plumbing.EncodedObject) error
}) plumbing.Hash {
	o := s.NewEncodedObject()
	if err := obj.Encode(o); err != nil {
		t.Fatal(err)
	}
	h, err := s.SetEncodedObject(o)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
