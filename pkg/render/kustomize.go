package render

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"regexp"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFile returns the kustomization file of a directory (a
// repository name), or "".
func kustomizationFile(fsys fs.FS, dir string) string {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fi, err := fs.Stat(fsys, path.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return name
		}
	}
	return ""
}

// kustomize renders the kustomization in dir (relative to the layout).
// kustomize reads the repository through kustomizeFS: confined to it,
// within the limits; its load restrictions keep each kustomization's files
// in its directory; exec and KRM plugins are off, helmCharts are rendered
// by gitstellar (kustomizehelm.go); and a
// kustomization naming anything remote is refused before kustomize runs,
// unless the operator allowed remote bases. The objects' location is the
// kustomization file: kustomize does not say which line an output object
// comes from.
func (r *renderer) kustomize(dir, file string) []Object {
	loc := Location{File: dir + "/" + file}
	var (
		fsys filesys.FileSystem = kustomizeFS{r: r}
		base string             // where the repository is in fsys
	)
	if !r.opts.AllowRemoteBases {
		if errs := r.remoteRefs(r.name(dir)); len(errs) > 0 {
			r.errs = append(r.errs, errs...)
			return nil
		}
	}
	virtual, ok := r.inflateHelmCharts(r.name(dir))
	if !ok {
		return nil
	}
	if r.opts.AllowRemoteBases {
		disk, cleanup, err := r.materialize(virtual)
		if err != nil {
			r.errorf(loc, "kustomize: %v", err)
			return nil
		}
		defer cleanup()
		fsys, base = filesys.MakeFsOnDisk(), disk
	} else {
		fsys = kustomizeFS{r: r, virtual: virtual}
	}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig = types.DisabledPluginConfig()
	opts.PluginConfig.HelmConfig.Enabled = false
	resMap, err := runKustomize(opts, fsys, base+"/"+r.name(dir))
	if err != nil {
		r.errorf(loc, "kustomize: %s", r.kustomizeMessage(err.Error(), base))
		return nil
	}
	var objs []Object
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			r.errorf(loc, "kustomize: %v", err)
			continue
		}
		o, problem := kustomizedObject(y, loc, r.limits)
		if problem != "" {
			r.errorf(loc, "kustomize: %s", problem)
			continue
		}
		if r.checkObject(o) {
			objs = append(objs, o)
		}
	}
	return objs
}

// runKustomize runs kustomize, turning a panic (kustomize has some on
// malformed input) into an error: repository content must not end the
// process.
func runKustomize(opts *krusty.Options, fsys filesys.FileSystem, dir string) (m resmap.ResMap, err error) {
	defer func() {
		if p := recover(); p != nil {
			m, err = nil, fmt.Errorf("kustomize failed on this input: %v", p)
		}
	}()
	return krusty.MakeKustomizer(opts).Run(fsys, dir)
}

// kustomizeMessage makes the paths in kustomize's message relative to
// the layout, as every other location is. base is where the repository is
// in kustomize's filesystem.
func (r *renderer) kustomizeMessage(msg, base string) string {
	prefix := base + "/"
	if r.root != "." {
		prefix += r.root + "/"
	}
	return regexp.MustCompile(`(^|[\s'"(\[])`+regexp.QuoteMeta(prefix)).ReplaceAllString(msg, "$1")
}

// materialize writes the repository's regular files into a temporary
// directory for kustomize, whose remote bases are cloned on disk. The
// files are written through os.Root; the names come from the repository
// reader, so none leads outside. The virtual files (kustomizations whose
// helmCharts were rendered, and their output) are written over them.
func (r *renderer) materialize(virtual map[string][]byte) (string, func(), error) {
	dir, err := os.MkdirTemp("", "gitstellar-kustomize-")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	root, err := os.OpenRoot(dir)
	if err != nil {
		cleanup()
		return "", nil, err
	}
	defer root.Close()
	err = fs.WalkDir(r.fsys, ".", func(name string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return fs.SkipDir
		case d.IsDir():
			return root.MkdirAll(name, 0o755)
		case !d.Type().IsRegular():
			return nil // symbolic links and the rest are not copied
		}
		data, err := r.readFile(name)
		if err != nil {
			return err
		}
		return root.WriteFile(name, data, 0o644)
	})
	for name, data := range virtual {
		if err == nil {
			err = root.WriteFile(name, data, 0o644)
		}
	}
	if err != nil {
		cleanup()
		return "", nil, err
	}
	return dir, cleanup, nil
}
