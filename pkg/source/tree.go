package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"time"
)

// MaxSymlinkHops is how many symbolic links one path may pass through
// before it is called a loop (Linux's own limit is 40).
const MaxSymlinkHops = 40

// MaxSymlinkTarget is the longest symbolic link target read (PATH_MAX).
const MaxSymlinkTarget = 4096

// Tree is a read-only view of a revision's files: the tree of a commit,
// read straight from the Git object store, or a directory on disk,
// confined with os.Root. It is the one reader of repository content.
//
// A name is a slash-separated path relative to the root (fs.ValidPath).
// Symbolic links are followed, but only inside the tree: a link whose
// target is absolute, climbs above the root, or loops is an error naming
// the link. Only regular files are read; a FIFO, a device, a socket or a
// submodule is an error, never a read that can block or never end.
//
// Tree implements fs.FS, fs.ReadDirFS, fs.StatFS and fs.ReadLinkFS.
// ReadDir and Lstat report a symbolic link as such (fs.ModeSymlink); Open
// and Stat follow it;
// Canonical says where a name leads, so that a walker can notice a
// directory it has already read.
type Tree struct {
	store treeStore
	// Name says which revision this is: "commit 0123456789ab" or a
	// directory.
	Name string
}

var (
	_ fs.ReadDirFS  = (*Tree)(nil)
	_ fs.StatFS     = (*Tree)(nil)
	_ fs.ReadLinkFS = (*Tree)(nil)
)

// ErrOutside is the error of a symbolic link that leads outside the tree.
var ErrOutside = errors.New("leads outside the repository")

// ErrNotRegular is the error of an entry that is neither a regular file,
// a directory nor a symbolic link.
var ErrNotRegular = errors.New("not a regular file")

type entryKind int

const (
	kindFile entryKind = iota
	kindDir
	kindSymlink
	kindOther // submodule, FIFO, device, socket
)

// treeEntry is an entry as stored, symbolic links not followed.
type treeEntry struct {
	name string
	kind entryKind
	size int64
	// what describes a kindOther entry: "a submodule", "a FIFO"...
	what string
}

// treeStore is what a Tree reads. Every path it is given is canonical:
// clean, relative, "." for the root, with no symbolic link among its
// directories.
type treeStore interface {
	lstat(p string) (treeEntry, error)
	readDir(p string) ([]treeEntry, error)
	readLink(p string) (string, error)
	// open opens a regular file.
	open(p string) (io.ReadCloser, error)
}

// Open opens a file or a directory, following symbolic links.
func (t *Tree) Open(name string) (fs.File, error) {
	canon, e, err := t.resolve("open", name, true)
	if err != nil {
		return nil, err
	}
	info := entryInfo{e, path.Base(name)}
	switch e.kind {
	case kindDir:
		return &treeDir{tree: t, canon: canon, name: name, info: info}, nil
	case kindFile:
		rc, err := t.store.open(canon)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: err}
		}
		return &treeFile{ReadCloser: rc, info: info}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fmt.Errorf("%w: %s", ErrNotRegular, e.what)}
}

// Stat describes a file or a directory, following symbolic links.
func (t *Tree) Stat(name string) (fs.FileInfo, error) {
	_, e, err := t.resolve("stat", name, true)
	if err != nil {
		return nil, err
	}
	return entryInfo{e, path.Base(name)}, nil
}

// Lstat describes a file, a directory or a symbolic link, not following
// a link that name ends with.
func (t *Tree) Lstat(name string) (fs.FileInfo, error) {
	_, e, err := t.resolve("lstat", name, false)
	if err != nil {
		return nil, err
	}
	return entryInfo{e, path.Base(name)}, nil
}

// ReadLink returns a symbolic link's target as stored.
func (t *Tree) ReadLink(name string) (string, error) {
	canon, e, err := t.resolve("readlink", name, false)
	if err != nil {
		return "", err
	}
	if e.kind != kindSymlink {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: errors.New("not a symbolic link")}
	}
	target, err := t.store.readLink(canon)
	if err != nil {
		return "", &fs.PathError{Op: "readlink", Path: name, Err: err}
	}
	return target, nil
}

// ReadDir lists a directory, sorted by name. Symbolic links are listed as
// links (fs.ModeSymlink), not followed.
func (t *Tree) ReadDir(name string) ([]fs.DirEntry, error) {
	canon, e, err := t.resolve("readdir", name, true)
	if err != nil {
		return nil, err
	}
	if e.kind != kindDir {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: errors.New("not a directory")}
	}
	entries, err := t.store.readDir(canon)
	if err != nil {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: err}
	}
	out := make([]fs.DirEntry, 0, len(entries))
	for _, e := range entries {
		if !validElement(e.name) {
			return nil, &fs.PathError{Op: "readdir", Path: name, Err: fmt.Errorf("the tree holds an entry named %q, which is not a file name", e.name)}
		}
		out = append(out, fs.FileInfoToDirEntry(entryInfo{e, e.name}))
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}

// Canonical returns the path that name leads to, every symbolic link
// resolved: two names that lead to the same directory have the same
// canonical path.
func (t *Tree) Canonical(name string) (string, error) {
	canon, _, err := t.resolve("resolve", name, true)
	return canon, err
}

// resolve follows name through the tree, symbolic links included (the
// last one only when followLast), and returns the canonical path and its
// entry.
func (t *Tree) resolve(op, name string, followLast bool) (string, treeEntry, error) {
	if !fs.ValidPath(name) {
		return "", treeEntry{}, &fs.PathError{Op: op, Path: name, Err: fs.ErrInvalid}
	}
	fail := func(err error) (string, treeEntry, error) {
		return "", treeEntry{}, &fs.PathError{Op: op, Path: name, Err: err}
	}
	var (
		resolved []string
		todo     = splitPath(name)
		hops     int
		entry    = treeEntry{name: ".", kind: kindDir}
	)
	for len(todo) > 0 {
		elem := todo[0]
		todo = todo[1:]
		switch elem {
		case "", ".":
			continue
		case "..":
			// Only a link target can say ".." (fs.ValidPath refuses it
			// in a name). The link's check below refuses a target that
			// climbs above the root as written; this one catches a climb
			// through other links.
			if len(resolved) == 0 {
				return fail(fmt.Errorf("a symbolic link on the way %w", ErrOutside))
			}
			resolved = resolved[:len(resolved)-1]
			entry = treeEntry{name: "..", kind: kindDir}
			continue
		}
		p := joinPath(resolved, elem)
		e, err := t.store.lstat(p)
		if err != nil {
			return fail(err)
		}
		if e.kind == kindSymlink && (followLast || len(todo) > 0) {
			if hops++; hops > MaxSymlinkHops {
				return fail(fmt.Errorf("more than %d symbolic links (a loop?) at %s", MaxSymlinkHops, p))
			}
			target, err := t.store.readLink(p)
			if err != nil {
				return fail(fmt.Errorf("symbolic link %s: %w", p, err))
			}
			if err := inside(resolved, target); err != nil {
				return fail(fmt.Errorf("symbolic link %s → %q %w", p, target, err))
			}
			todo = append(splitPath(target), todo...)
			continue
		}
		if len(todo) > 0 && e.kind != kindDir {
			return fail(fmt.Errorf("%s is not a directory", p))
		}
		resolved = append(resolved, elem)
		entry = e
	}
	if len(resolved) == 0 {
		return ".", treeEntry{name: ".", kind: kindDir}, nil
	}
	return strings.Join(resolved, "/"), entry, nil
}

// inside checks that a link target, read in the directory dir, stays in
// the tree.
func inside(dir []string, target string) error {
	if target == "" {
		return errors.New("is empty")
	}
	if strings.HasPrefix(target, "/") || strings.HasPrefix(target, `\`) || (len(target) > 1 && target[1] == ':') {
		return fmt.Errorf("%w: the target is absolute", ErrOutside)
	}
	depth := len(dir)
	for _, elem := range splitPath(target) {
		switch elem {
		case "", ".":
		case "..":
			if depth--; depth < 0 {
				return ErrOutside
			}
		default:
			depth++
		}
	}
	return nil
}

func splitPath(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func joinPath(dir []string, elem string) string {
	if len(dir) == 0 {
		return elem
	}
	return strings.Join(dir, "/") + "/" + elem
}

// validElement tells whether a stored entry name is one element of a path.
func validElement(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, "/\x00")
}

// entryInfo is an entry as an fs.FileInfo.
type entryInfo struct {
	e    treeEntry
	name string
}

func (i entryInfo) Name() string       { return i.name }
func (i entryInfo) Size() int64        { return i.e.size }
func (i entryInfo) ModTime() time.Time { return time.Time{} }
func (i entryInfo) IsDir() bool        { return i.e.kind == kindDir }
func (i entryInfo) Sys() any           { return nil }
func (i entryInfo) Mode() fs.FileMode {
	switch i.e.kind {
	case kindDir:
		return fs.ModeDir | 0o555
	case kindSymlink:
		return fs.ModeSymlink | 0o777
	case kindOther:
		return fs.ModeIrregular
	}
	return 0o444
}

type treeFile struct {
	io.ReadCloser
	info entryInfo
}

func (f *treeFile) Stat() (fs.FileInfo, error) { return f.info, nil }

type treeDir struct {
	tree        *Tree
	canon, name string
	info        entryInfo
	entries     []fs.DirEntry
	read        bool
}

func (d *treeDir) Stat() (fs.FileInfo, error) { return d.info, nil }
func (d *treeDir) Close() error               { return nil }
func (d *treeDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: errors.New("is a directory")}
}

// ReadDir implements fs.ReadDirFile.
func (d *treeDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if !d.read {
		entries, err := d.tree.ReadDir(d.name)
		if err != nil {
			return nil, err
		}
		d.entries, d.read = entries, true
	}
	if n <= 0 {
		out := d.entries
		d.entries = nil
		return out, nil
	}
	if len(d.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(d.entries))
	out := d.entries[:n]
	d.entries = d.entries[n:]
	return out, nil
}
