package render

import (
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// kustomizationFile returns the kustomization file of a directory, or "".
func kustomizationFile(dir string) string {
	for _, name := range []string{"kustomization.yaml", "kustomization.yml", "Kustomization"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.Mode().IsRegular() {
			return name
		}
	}
	return ""
}

// kustomize renders the kustomization in dir (relative to the root). The
// objects' location is the kustomization file: kustomize does not say which
// line an output object comes from.
func (r *renderer) kustomize(dir, file string) []Object {
	loc := Location{File: dir + "/" + file}
	opts := krusty.MakeDefaultOptions()
	opts.LoadRestrictions = types.LoadRestrictionsRootOnly
	opts.PluginConfig.HelmConfig.Enabled = false
	k := krusty.MakeKustomizer(opts)
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(r.root, dir))
	if err != nil {
		// Paths in kustomize's messages are absolute: make them relative to
		// the repository, as every other location is.
		r.errorf(loc, "kustomize: %s", strings.ReplaceAll(err.Error(), r.root+string(filepath.Separator), ""))
		return nil
	}
	var objs []Object
	for _, res := range resMap.Resources() {
		y, err := res.AsYAML()
		if err != nil {
			r.errorf(loc, "kustomize: %v", err)
			continue
		}
		u, err := yamlToUnstructured(y)
		if err != nil {
			r.errorf(loc, "kustomize: %v", err)
			continue
		}
		o := Object{Unstructured: u, Source: loc}
		if r.checkObject(o) {
			objs = append(objs, o)
		}
	}
	return objs
}
