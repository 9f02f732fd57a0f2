package source

import (
	"io"
	"io/fs"
	"strings"
	"testing"
)

// mapStore is a tree as a map, for fuzzing the resolver: path → entry,
// and a link's target.
type mapStore map[string]treeEntry

func (m mapStore) lstat(p string) (treeEntry, error) {
	if p == "." {
		return treeEntry{name: ".", kind: kindDir}, nil
	}
	e, ok := m[p]
	if !ok {
		return treeEntry{}, fs.ErrNotExist
	}
	return e, nil
}

func (m mapStore) readDir(p string) ([]treeEntry, error) {
	var out []treeEntry
	for name, e := range m {
		dir, base := ".", name
		if i := strings.LastIndex(name, "/"); i >= 0 {
			dir, base = name[:i], name[i+1:]
		}
		if dir == p {
			e.name = base
			out = append(out, e)
		}
	}
	return out, nil
}

func (m mapStore) readLink(p string) (string, error) { return m[p].what, nil }

func (m mapStore) open(p string) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(p)), nil
}

// parseMapStore reads "path -> target" (a link), "path/" (a directory) and
// "path" (a file) lines; the directories above every path exist.
func parseMapStore(spec string) mapStore {
	m := mapStore{}
	for _, line := range strings.Split(spec, "\n") {
		p, target, isLink := strings.Cut(line, " -> ")
		p = strings.Trim(p, "/")
		if !fs.ValidPath(p) || p == "." {
			continue
		}
		parts := strings.Split(p, "/")
		for i := 1; i < len(parts); i++ {
			if _, ok := m[strings.Join(parts[:i], "/")]; !ok {
				m[strings.Join(parts[:i], "/")] = treeEntry{kind: kindDir}
			}
		}
		switch {
		case isLink:
			m[p] = treeEntry{kind: kindSymlink, what: target}
		case strings.HasSuffix(line, "/"):
			m[p] = treeEntry{kind: kindDir}
		default:
			m[p] = treeEntry{kind: kindFile}
		}
	}
	return m
}

// FuzzTree: whatever the tree and its links, a name resolves to a path of
// the tree that is no link, or to an error; never a panic, never a path
// outside.
func FuzzTree(f *testing.F) {
	f.Add("a/b/c\nl -> a/b\n", "l/c")
	f.Add("x -> /etc\nx/file\n", "x/file")
	f.Add("l1 -> l2\nl2 -> l1\n", "l1")
	f.Add("s -> .\nsneak -> s/../..\n", "sneak/etc/passwd")
	f.Add("d/\nd/up -> ../..\n", "d/up/x")
	f.Add("a -> b/../../c\nb -> .\n", "a")
	f.Add("z -> /dev/zero\n", "z")
	f.Add("w -> C:\\\\Windows\n", "w")
	f.Fuzz(func(t *testing.T, spec, name string) {
		store := parseMapStore(spec)
		tree := &Tree{store: store}
		canon, err := tree.Canonical(name)
		if err != nil {
			return
		}
		if !fs.ValidPath(canon) {
			t.Fatalf("%q resolved to %q, not a path in the tree", name, canon)
		}
		e, err := store.lstat(canon)
		if err != nil {
			t.Fatalf("%q resolved to %q, which does not exist: %v", name, canon, err)
		}
		if e.kind == kindSymlink {
			t.Fatalf("%q resolved to a link %q", name, canon)
		}
		if _, err := fs.ReadFile(tree, name); err != nil && e.kind == kindFile {
			t.Fatalf("%q resolves to a file but does not read: %v", name, err)
		}
	})
}
