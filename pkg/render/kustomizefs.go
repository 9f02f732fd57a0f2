package render

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// errReadOnly is what kustomize gets when it tries to write.
var errReadOnly = errors.New("the repository is read-only")

// kustomizeFS is the repository as kustomize's filesystem: read-only, its
// root "/" the repository's root, so that no path kustomize builds, "../"
// included, leads outside the repository; symbolic links are resolved by
// the repository reader, inside the repository. Every read goes through
// the renderer's limits.
type kustomizeFS struct {
	r *renderer
	// virtual: files kustomize reads in place of the repository's, or
	// besides them (repository name → content): kustomizations whose
	// helmCharts gitstellar rendered, and what they rendered.
	virtual map[string][]byte
}

var _ filesys.FileSystem = kustomizeFS{}

// name turns kustomize's absolute (or root-relative) path into a name in
// the repository. Cleaning "/.." gives "/": nothing is above the root.
func (kustomizeFS) name(p string) string {
	p = strings.TrimPrefix(path.Clean("/"+filepath.ToSlash(p)), "/")
	if p == "" {
		return "."
	}
	return p
}

func (kustomizeFS) abs(name string) string {
	if name == "." {
		return "/"
	}
	return "/" + name
}

func (k kustomizeFS) Create(string) (filesys.File, error) { return nil, errReadOnly }
func (k kustomizeFS) Mkdir(string) error                  { return errReadOnly }
func (k kustomizeFS) MkdirAll(string) error               { return errReadOnly }
func (k kustomizeFS) RemoveAll(string) error              { return errReadOnly }
func (k kustomizeFS) WriteFile(string, []byte) error      { return errReadOnly }

func (k kustomizeFS) Open(p string) (filesys.File, error) {
	data, err := k.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if _, ok := k.virtual[k.name(p)]; ok {
		return &readOnlyFile{Reader: strings.NewReader(string(data)), info: virtualInfo{name: path.Base(k.name(p)), size: int64(len(data))}}, nil
	}
	fi, err := fs.Stat(k.r.fsys, k.name(p))
	if err != nil {
		return nil, err
	}
	return &readOnlyFile{Reader: strings.NewReader(string(data)), info: fi}, nil
}

func (k kustomizeFS) IsDir(p string) bool {
	fi, err := fs.Stat(k.r.fsys, k.name(p))
	return err == nil && fi.IsDir()
}

func (k kustomizeFS) ReadDir(p string) ([]string, error) {
	entries, err := fs.ReadDir(k.r.fsys, k.name(p))
	if err != nil {
		return nil, err
	}
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.Name()
	}
	return names, nil
}

// CleanedAbs returns the directory of p and the file name in it ("" when
// p is a directory), every symbolic link resolved.
func (k kustomizeFS) CleanedAbs(p string) (filesys.ConfirmedDir, string, error) {
	name := k.name(p)
	if _, ok := k.virtual[name]; ok {
		return filesys.ConfirmedDir(k.abs(path.Dir(name))), path.Base(name), nil
	}
	canon, err := k.r.fsys.Canonical(name)
	if err != nil {
		return "", "", err
	}
	fi, err := fs.Stat(k.r.fsys, canon)
	if err != nil {
		return "", "", err
	}
	if fi.IsDir() {
		return filesys.ConfirmedDir(k.abs(canon)), "", nil
	}
	return filesys.ConfirmedDir(k.abs(path.Dir(canon))), path.Base(canon), nil
}

func (k kustomizeFS) Exists(p string) bool {
	if _, ok := k.virtual[k.name(p)]; ok {
		return true
	}
	_, err := fs.Stat(k.r.fsys, k.name(p))
	return err == nil
}

func (k kustomizeFS) Glob(pattern string) ([]string, error) {
	matches, err := fs.Glob(k.r.fsys, k.name(pattern))
	for i, m := range matches {
		matches[i] = k.abs(m)
	}
	return matches, err
}

func (k kustomizeFS) ReadFile(p string) ([]byte, error) {
	if data, ok := k.virtual[k.name(p)]; ok {
		return data, nil
	}
	return k.r.readFile(k.name(p))
}

func (k kustomizeFS) Walk(p string, walkFn filepath.WalkFunc) error {
	return fs.WalkDir(k.r.fsys, k.name(p), func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return walkFn(k.abs(name), nil, err)
		}
		fi, err := d.Info()
		return walkFn(k.abs(name), fi, err)
	})
}

type readOnlyFile struct {
	*strings.Reader
	info fs.FileInfo
}

func (f *readOnlyFile) Write([]byte) (int, error)  { return 0, errReadOnly }
func (f *readOnlyFile) Close() error               { return nil }
func (f *readOnlyFile) Stat() (os.FileInfo, error) { return f.info, nil }

var _ io.ReadWriteCloser = (*readOnlyFile)(nil)

// virtualInfo describes a virtual file.
type virtualInfo struct {
	name string
	size int64
}

func (v virtualInfo) Name() string       { return v.name }
func (v virtualInfo) Size() int64        { return v.size }
func (v virtualInfo) Mode() fs.FileMode  { return 0o444 }
func (v virtualInfo) ModTime() time.Time { return time.Time{} }
func (v virtualInfo) IsDir() bool        { return false }
func (v virtualInfo) Sys() any           { return nil }
