package source

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// DirTree is a directory on disk, a work tree for instance, read through
// os.Root: no name, symbolic links included, reaches outside it, and only
// regular files are opened (never a FIFO or a device, which could block
// or never end). The caller closes it.
func DirTree(dir string) (*Tree, func() error, error) {
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, nil, err
	}
	return &Tree{store: dirStore{root: root}, Name: dir}, root.Close, nil
}

// dirStore reads a directory through os.Root.
type dirStore struct {
	root *os.Root
}

func (s dirStore) lstat(p string) (treeEntry, error) {
	fi, err := s.root.Lstat(p)
	if err != nil {
		return treeEntry{}, unwrapPath(err)
	}
	return fileEntry(fi), nil
}

func (s dirStore) readDir(p string) ([]treeEntry, error) {
	f, err := s.root.Open(p)
	if err != nil {
		return nil, unwrapPath(err)
	}
	defer f.Close()
	entries, err := f.ReadDir(-1)
	if err != nil {
		return nil, unwrapPath(err)
	}
	out := make([]treeEntry, 0, len(entries))
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil {
			return nil, unwrapPath(err)
		}
		out = append(out, fileEntry(fi))
	}
	return out, nil
}

func (s dirStore) readLink(p string) (string, error) {
	target, err := s.root.Readlink(p)
	if err != nil {
		return "", unwrapPath(err)
	}
	if len(target) > MaxSymlinkTarget {
		return "", fmt.Errorf("target longer than %d bytes", MaxSymlinkTarget)
	}
	return target, nil
}

func (s dirStore) open(p string) (io.ReadCloser, error) {
	f, err := s.root.OpenFile(p, openReadFlags, 0)
	if err != nil {
		return nil, unwrapPath(err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%w: %s", ErrNotRegular, describeMode(fi.Mode()))
	}
	if err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

func fileEntry(fi fs.FileInfo) treeEntry {
	e := treeEntry{name: fi.Name(), size: fi.Size()}
	switch m := fi.Mode(); {
	case m.IsRegular():
		e.kind = kindFile
	case m.IsDir():
		e.kind = kindDir
	case m&fs.ModeSymlink != 0:
		e.kind = kindSymlink
	default:
		e.kind, e.what = kindOther, describeMode(m)
	}
	return e
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a FIFO"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "an entry of mode " + m.String()
}

// unwrapPath drops os.Root's *PathError: the Tree names the path itself.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
