package render

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// The directories of the layout that are not WDS directories.
const (
	SpacesDir   = "spaces"
	ClustersDir = "clusters"
)

// Space is a space declared in the repository and the objects to apply
// into it, sorted by key.
type Space struct {
	Name string
	Type gitstellarv1alpha1.SpaceType
	// Declaration is the Space object as read.
	Declaration *gitstellarv1alpha1.Space
	Source      Location
	Objects     []Object
}

// Result is a rendered revision: its spaces, sorted by name.
type Result struct {
	Settings Settings
	Spaces   []*Space
}

// Space returns the space of that name, or nil.
func (r *Result) Space(name string) *Space {
	for _, s := range r.Spaces {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Render renders the repository content under root. On any error it
// returns nil and Errors listing every problem found.
func Render(root string) (*Result, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, Errors{{Location: Location{File: root}, Message: err.Error()}}
	}
	r := &renderer{root: abs, spaces: map[string]*Space{}}
	return r.render()
}

type renderer struct {
	root   string
	ignore ignorer
	spaces map[string]*Space
	errs   Errors
}

func (r *renderer) render() (*Result, error) {
	fi, err := os.Stat(r.root)
	if err != nil {
		return nil, Errors{{Location: Location{File: r.root}, Message: "cannot read the repository: " + errors.Unwrap(err).Error()}}
	}
	if !fi.IsDir() {
		return nil, Errors{{Location: Location{File: r.root}, Message: "not a directory"}}
	}
	settings, serr := readSettings(r.root)
	if serr != nil {
		return nil, Errors{serr}
	}
	r.ignore = newIgnorer(settings.Ignore)

	r.readSpaces()
	r.readClusters()
	r.readWDSDirs()
	r.checkDuplicates()
	if len(r.errs) > 0 {
		return nil, r.errs.sorted()
	}
	res := &Result{Settings: settings}
	for _, s := range r.spaces {
		slices.SortFunc(s.Objects, func(a, b Object) int { return KeyOf(a.Unstructured).Compare(KeyOf(b.Unstructured)) })
		res.Spaces = append(res.Spaces, s)
	}
	slices.SortFunc(res.Spaces, func(a, b *Space) int { return strings.Compare(a.Name, b.Name) })
	return res, nil
}

// readSpaces reads spaces/: Space objects only.
func (r *renderer) readSpaces() {
	for _, obj := range r.readPlainDir(SpacesDir) {
		var sp gitstellarv1alpha1.Space
		if !r.expectKind(obj, "Space", &sp) {
			continue
		}
		if prev, dup := r.spaces[sp.Name]; dup {
			r.errorf(obj.Source, "Space %q is also declared at %s", sp.Name, prev.Source)
			continue
		}
		switch sp.Spec.Type {
		case gitstellarv1alpha1.SpaceTypeWDS, gitstellarv1alpha1.SpaceTypeITS:
		default:
			r.errorf(obj.Source, "Space %q: spec.type must be WDS or ITS, not %q", sp.Name, sp.Spec.Type)
			continue
		}
		if sp.Name == SpacesDir || sp.Name == ClustersDir {
			r.errorf(obj.Source, "Space %q: the name is reserved for the %s/ directory", sp.Name, sp.Name)
			continue
		}
		r.spaces[sp.Name] = &Space{Name: sp.Name, Type: sp.Spec.Type, Declaration: &sp, Source: obj.Source,
			Objects: []Object{obj}}
	}
	for _, s := range r.spaces {
		if s.Type != gitstellarv1alpha1.SpaceTypeWDS {
			continue
		}
		switch its := r.spaces[s.Declaration.Spec.ITS]; {
		case s.Declaration.Spec.ITS == "":
			r.errorf(s.Source, "WDS %q: spec.its must name its ITS", s.Name)
		case its == nil:
			r.errorf(s.Source, "WDS %q: spec.its names %q, which is not a Space in %s/", s.Name, s.Declaration.Spec.ITS, SpacesDir)
		case its.Type != gitstellarv1alpha1.SpaceTypeITS:
			r.errorf(s.Source, "WDS %q: spec.its names %q, which is a %s, not an ITS", s.Name, its.Name, its.Type)
		}
	}
}

// readClusters reads clusters/: WorkloadClusters, each into its ITS.
func (r *renderer) readClusters() {
	for _, obj := range r.readPlainDir(ClustersDir) {
		var wec gitstellarv1alpha1.WorkloadCluster
		if !r.expectKind(obj, "WorkloadCluster", &wec) {
			continue
		}
		its := r.spaces[wec.Spec.ITS]
		switch {
		case wec.Spec.ITS == "":
			r.errorf(obj.Source, "WorkloadCluster %q: spec.its must name the ITS that holds it", wec.Name)
		case its == nil:
			r.errorf(obj.Source, "WorkloadCluster %q: spec.its names %q, which is not a Space in %s/", wec.Name, wec.Spec.ITS, SpacesDir)
		case its.Type != gitstellarv1alpha1.SpaceTypeITS:
			r.errorf(obj.Source, "WorkloadCluster %q: spec.its names %q, which is a %s, not an ITS", wec.Name, its.Name, its.Type)
		default:
			its.Objects = append(its.Objects, obj)
		}
	}
}

// readWDSDirs reads every other top-level directory as the content of the
// WDS of the same name.
func (r *renderer) readWDSDirs() {
	entries, err := os.ReadDir(r.root)
	if err != nil {
		r.errorf(Location{File: "."}, "%v", err)
		return
	}
	for _, e := range entries {
		name := e.Name()
		if !e.IsDir() || name == SpacesDir || name == ClustersDir || r.ignore.ignored(name, true) {
			continue
		}
		space := r.spaces[name]
		switch {
		case space == nil:
			r.errorf(Location{File: name + "/"}, "directory %q is not a WDS: no Space named %q in %s/ (ignore it in %s if it is not for gitstellar)", name, name, SpacesDir, SettingsFile)
			continue
		case space.Type != gitstellarv1alpha1.SpaceTypeWDS:
			r.errorf(Location{File: name + "/"}, "directory %q: Space %q is an %s; only a WDS has a directory (WorkloadClusters go in %s/)", name, name, space.Type, ClustersDir)
			continue
		}
		for _, obj := range r.readTree(name) {
			if r.allowedInWDS(obj) {
				space.Objects = append(space.Objects, obj)
			}
		}
	}
}

// allowedInWDS refuses the kinds that are not written in Git.
func (r *renderer) allowedInWDS(obj Object) bool {
	gvk := obj.GroupVersionKind()
	switch {
	case gvk.Group == gitstellarv1alpha1.GroupVersion.Group && gvk.Kind == "Space":
		r.errorf(obj.Source, "a Space belongs in %s/", SpacesDir)
	case gvk.Group == gitstellarv1alpha1.GroupVersion.Group && gvk.Kind == "WorkloadCluster":
		r.errorf(obj.Source, "a WorkloadCluster belongs in %s/", ClustersDir)
	case gvk.Group == gitstellarv1alpha1.GroupVersion.Group && gvk.Kind == "Delivery",
		gvk.Group == "control.kubestellar.io" && (gvk.Kind == "Binding" || gvk.Kind == "CombinedStatus"):
		r.errorf(obj.Source, "%s objects are written by gitstellar, not kept in Git", gvk.Kind)
	default:
		return true
	}
	return false
}

// expectKind checks that obj is a gitstellar.io object of the given kind
// and decodes it into out.
func (r *renderer) expectKind(obj Object, kind string, out runtime.Object) bool {
	gvk := obj.GroupVersionKind()
	if gvk.Group != gitstellarv1alpha1.GroupVersion.Group || gvk.Kind != kind {
		r.errorf(obj.Source, "%s/ holds %s objects (apiVersion %s) only, not %s %s", filepath.Dir(obj.Source.File), kind, gitstellarv1alpha1.GroupVersion, obj.GetAPIVersion(), obj.GetKind())
		return false
	}
	if gvk.Version != gitstellarv1alpha1.GroupVersion.Version {
		r.errorf(obj.Source, "%s: apiVersion %s is not served; use %s", kind, obj.GetAPIVersion(), gitstellarv1alpha1.GroupVersion)
		return false
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructuredWithValidation(obj.Object, out, true); err != nil {
		r.errorf(obj.Source, "%s %q: %v", kind, obj.GetName(), err)
		return false
	}
	return true
}

// readPlainDir reads a directory of plain YAML; a missing one is empty.
func (r *renderer) readPlainDir(dir string) []Object {
	if _, err := os.Stat(filepath.Join(r.root, dir)); os.IsNotExist(err) {
		return nil
	}
	return r.readTree(dir)
}

// readTree reads a directory recursively: a directory holding a
// kustomization is rendered by kustomize, other files are decoded.
func (r *renderer) readTree(dir string) []Object {
	var objs []Object
	err := filepath.WalkDir(filepath.Join(r.root, dir), func(path string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(r.root, path)
		rel = filepath.ToSlash(rel)
		if err != nil {
			r.errorf(Location{File: rel}, "%v", err)
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			r.errorf(Location{File: rel}, "symbolic links are not followed")
			return nil
		}
		if rel != dir && r.ignore.ignored(rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if k := kustomizationFile(path); k != "" {
				objs = append(objs, r.kustomize(rel, k)...)
				return filepath.SkipDir
			}
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			r.errorf(Location{File: rel}, "%v", err)
			return nil
		}
		decoded, errs := decodeFile(rel, data)
		r.errs = append(r.errs, errs...)
		for _, o := range decoded {
			if r.checkObject(o) {
				objs = append(objs, o)
			}
		}
		return nil
	})
	if err != nil {
		r.errorf(Location{File: dir}, "%v", err)
	}
	return objs
}

// checkObject checks the fields every object needs.
func (r *renderer) checkObject(o Object) bool {
	var missing []string
	if o.GetAPIVersion() == "" {
		missing = append(missing, "apiVersion")
	}
	if o.GetKind() == "" {
		missing = append(missing, "kind")
	}
	if o.GetName() == "" {
		missing = append(missing, "metadata.name")
	}
	if len(missing) > 0 {
		r.errorf(o.Source, "missing %s", strings.Join(missing, ", "))
		return false
	}
	return true
}

// checkDuplicates refuses the same object twice in one space.
func (r *renderer) checkDuplicates() {
	for _, s := range r.spaces {
		seen := map[Key]Location{}
		for _, o := range s.Objects {
			k := KeyOf(o.Unstructured)
			if prev, dup := seen[k]; dup {
				r.errorf(o.Source, "%s is also defined at %s (both go into space %s)", k, prev, s.Name)
				continue
			}
			seen[k] = o.Source
		}
	}
}
