package render

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
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
	// Charts are the Helm charts rendered, in the order their
	// declarations were read.
	Charts []RenderedChart
}

// RenderedChart is a chart a declaration rendered: kept in the repository
// (Repository is empty, Digest too), or from a chart repository at the
// version its constraint resolved to.
type RenderedChart struct {
	Source     Location `json:"source"`
	Release    string   `json:"release"`
	Repository string   `json:"repository"`
	Name       string   `json:"name"`
	Version    string   `json:"version"`
	Digest     string   `json:"digest"`
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

// FS is the repository content Render reads: a source.Tree, confined to
// the repository, symbolic links resolved inside it.
type FS interface {
	fs.ReadDirFS
	fs.StatFS
	// Canonical returns the path a name leads to, every symbolic link
	// resolved.
	Canonical(name string) (string, error)
}

var _ FS = (*source.Tree)(nil)

// Options say how to render.
type Options struct {
	// Path is the directory of the layout in the repository ("" for the
	// root). Kustomizations may reach the whole repository, never above.
	Path string
	// Limits bound what a revision may make gitstellar read and hold.
	Limits Limits
	// AllowRemoteBases lets kustomize fetch remote bases and http(s)
	// resources; without it a kustomization naming one is an error and
	// rendering reaches no network.
	AllowRemoteBases bool
	// Validator, if set, checks the rendered objects it handles: a
	// revision with a problem does not render, each problem at its
	// object's location (pkg/validate checks control objects as the
	// spaces and gitstellar's controllers would).
	Validator SchemaValidator
	// Charts fetches the charts declarations take from chart
	// repositories; nil: such a declaration is an error.
	Charts ChartSource
	// Capabilities, when set, gives the .Capabilities charts in a WDS's
	// directory render with: what that WDS serves (nil: Helm's defaults).
	Capabilities func(wds string) *ChartCapabilities
	// SpacesOnly reads gitstellar.yaml, spaces/ and clusters/ only: the
	// Result has the Spaces, each ITS with its WorkloadClusters and their
	// property ConfigMaps, and no WDS content (the WDS directories are not
	// read, nor checked). For tools that need the topology, not the
	// workloads (`gitstellar dev up --repo`).
	SpacesOnly bool
}

// ChartCapabilities are what a space serves, as Helm's .Capabilities has
// them: its Kubernetes version, and its API versions ("apps/v1") and
// kinds ("apps/v1/Deployment").
type ChartCapabilities struct {
	KubeVersion string
	APIVersions []string
}

// ChartSource fetches a packaged chart from a chart repository, at the
// newest version satisfying a constraint.
type ChartSource interface {
	Fetch(ctx context.Context, repository, name, version string) (*chartrepo.Chart, error)
}

// Render renders the repository content of fsys. On any error it returns
// nil and Errors listing every problem found, each at a location relative
// to opts.Path. It stops early, with ctx's error, when ctx ends.
func Render(ctx context.Context, fsys FS, opts Options) (*Result, error) {
	root := "."
	if opts.Path != "" {
		root = path.Clean(filepath.ToSlash(opts.Path))
		if !fs.ValidPath(root) {
			return nil, Errors{{Location: Location{File: opts.Path}, Message: "the path must be relative to the repository and stay inside it"}}
		}
	}
	r := &renderer{ctx: ctx, fsys: fsys, root: root, opts: opts, limits: opts.Limits.withDefaults(), spaces: map[string]*Space{}}
	res, err := r.render()
	if err != nil || opts.Validator == nil {
		return res, err
	}
	if errs := Validate(ctx, res, opts.Validator); errs != nil {
		return nil, errs
	}
	return res, nil
}

// Directory renders a directory on disk (a work tree), read through
// os.Root: nothing outside it is read, symbolic links included.
func Directory(ctx context.Context, dir string, opts Options) (*Result, error) {
	tree, closeTree, err := source.DirTree(dir)
	if err != nil {
		return nil, Errors{{Location: Location{File: dir}, Message: "cannot read the repository: " + unwrapPathError(err).Error()}}
	}
	defer closeTree()
	return Render(ctx, tree, opts)
}

type renderer struct {
	ctx    context.Context
	fsys   FS
	root   string // the layout's directory in fsys
	opts   Options
	limits Limits
	ignore ignorer
	spaces map[string]*Space
	errs   Errors
	// What this revision has used of its limits.
	files     int
	bytesRead int64
	objects   int
	stopped   bool
	// charts rendered
	charts []RenderedChart
}

// name is the repository name of a path relative to the layout.
func (r *renderer) name(rel string) string {
	if r.root == "." {
		return rel
	}
	if rel == "." {
		return r.root
	}
	return r.root + "/" + rel
}

// rel is the layout-relative path of a repository name.
func (r *renderer) rel(name string) string {
	if r.root == "." {
		return name
	}
	if rel, ok := strings.CutPrefix(name, r.root+"/"); ok {
		return rel
	}
	if name == r.root {
		return "."
	}
	return "/" + name // outside the layout: the repository-absolute name
}

func (r *renderer) render() (*Result, error) {
	fi, err := fs.Stat(r.fsys, r.root)
	if err != nil {
		return nil, Errors{{Location: Location{File: r.opts.Path}, Message: "cannot read the repository: " + unwrapPathError(err).Error()}}
	}
	if !fi.IsDir() {
		return nil, Errors{{Location: Location{File: r.opts.Path}, Message: "not a directory"}}
	}
	settings, serr := r.readSettings()
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	if serr != nil {
		return nil, Errors{serr}
	}
	r.ignore = newIgnorer(settings.Ignore)

	r.readSpaces()
	r.readClusters()
	if !r.opts.SpacesOnly {
		r.readWDSDirs()
	}
	r.checkDuplicates()
	if settings.Adopt != "" {
		r.adoptByDefault(settings.Adopt)
	}
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	if len(r.errs) > 0 {
		return nil, r.errs.sorted()
	}
	res := &Result{Settings: settings, Charts: r.charts}
	for _, s := range r.spaces {
		sortByKey(s.Objects)
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

// readClusters reads clusters/: WorkloadClusters, each into its ITS, and
// the ConfigMaps of their template properties (KubeStellar's
// customization-properties), each into the ITS of its WorkloadCluster.
func (r *renderer) readClusters() {
	objects := r.readPlainDir(ClustersDir)
	itsOf := map[string]*Space{} // WorkloadCluster → its ITS
	for _, obj := range objects {
		if isConfigMap(obj) {
			continue
		}
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
			itsOf[wec.Name] = its
		}
	}
	for _, obj := range objects {
		if !isConfigMap(obj) {
			continue
		}
		switch ns := obj.GetNamespace(); {
		case ns != "" && ns != controlv1alpha1.PropertiesNamespace:
			r.errorf(obj.Source, "ConfigMap %q: a ConfigMap in %s/ holds a WEC's template properties, in namespace %s, not %q", obj.GetName(), ClustersDir, controlv1alpha1.PropertiesNamespace, ns)
		case itsOf[obj.GetName()] == nil:
			r.errorf(obj.Source, "ConfigMap %q: a ConfigMap in %s/ holds the template properties of the WorkloadCluster of its name, and no WorkloadCluster %q is declared there", obj.GetName(), ClustersDir, obj.GetName())
		default:
			obj.SetNamespace(controlv1alpha1.PropertiesNamespace)
			itsOf[obj.GetName()].Objects = append(itsOf[obj.GetName()].Objects, obj)
		}
	}
}

// adoptByDefault puts gitstellar.io/adopt: value on every BindingPolicy
// of the WDSes that has no gitstellar.io/adopt (gitstellar.yaml's adopt).
func (r *renderer) adoptByDefault(value string) {
	for _, s := range r.spaces {
		for _, obj := range s.Objects {
			gvk := obj.GroupVersionKind()
			if gvk.Group != controlv1alpha1.GroupVersion.Group || gvk.Kind != "BindingPolicy" {
				continue
			}
			ann := obj.GetAnnotations()
			if _, set := ann[gitstellarv1alpha1.AnnotationAdopt]; set {
				continue
			}
			if ann == nil {
				ann = map[string]string{}
			}
			ann[gitstellarv1alpha1.AnnotationAdopt] = value
			obj.SetAnnotations(ann)
		}
	}
}

func isConfigMap(obj Object) bool {
	gvk := obj.GroupVersionKind()
	return gvk.Group == "" && gvk.Kind == "ConfigMap"
}

// readWDSDirs reads every other top-level directory as the content of the
// WDS of the same name. A symbolic link to a directory is a directory.
func (r *renderer) readWDSDirs() {
	entries, err := fs.ReadDir(r.fsys, r.root)
	if err != nil {
		r.errorf(Location{File: "."}, "%v", unwrapPathError(err))
		return
	}
	for _, e := range entries {
		name := e.Name()
		if name == SpacesDir || name == ClustersDir || strings.HasPrefix(name, ".") {
			continue
		}
		isDir, ok := r.isDir(name, e)
		if !ok || !isDir || r.ignore.ignored(name, true) {
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
	if _, err := fs.Stat(r.fsys, r.name(dir)); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	return r.readTree(dir)
}

// readTree reads a directory recursively: a directory holding a
// kustomization is rendered by kustomize, other files are decoded.
// Symbolic links are followed inside the repository; one that loops back
// to a directory being read is an error.
func (r *renderer) readTree(dir string) []Object {
	var objs []Object
	r.walk(dir, map[string]bool{}, &objs)
	return objs
}

func (r *renderer) walk(dir string, ancestors map[string]bool, objs *[]Object) {
	if r.ctx.Err() != nil || r.stopped {
		return
	}
	loc := Location{File: dir + "/"}
	canon, err := r.fsys.Canonical(r.name(dir))
	if err != nil {
		r.errorf(loc, "%v", unwrapPathError(err))
		return
	}
	if ancestors[canon] {
		r.errorf(loc, "symbolic links loop: this directory is inside itself")
		return
	}
	if depth := strings.Count(dir, "/") + 1; depth > r.limits.DirDepth {
		r.limitErrorf(loc, "the directory depth, %s", overLimit("dir-depth", strconv.Itoa(depth), r.limits.DirDepth))
		return
	}
	ancestors[canon] = true
	defer delete(ancestors, canon)
	if !r.count(loc) {
		return
	}
	if isChartDir(r.fsys, r.name(dir)) {
		return // a chart: rendered through the helmchart.yaml that names it
	}
	if fi, err := fs.Stat(r.fsys, r.name(dir+"/"+HelmChartFile)); err == nil && fi.Mode().IsRegular() {
		*objs = append(*objs, r.helm(dir)...)
		return
	}
	if k := kustomizationFile(r.fsys, r.name(dir)); k != "" {
		*objs = append(*objs, r.kustomize(dir, k)...)
		return
	}
	entries, err := fs.ReadDir(r.fsys, r.name(dir))
	if err != nil {
		r.errorf(loc, "%v", unwrapPathError(err))
		return
	}
	for _, e := range entries {
		rel := dir + "/" + e.Name()
		isDir, ok := r.isDir(rel, e)
		if !ok || r.ignore.ignored(rel, isDir) {
			continue
		}
		if isDir {
			r.walk(rel, ancestors, objs)
			continue
		}
		*objs = append(*objs, r.readManifest(rel)...)
	}
}

// isDir tells whether an entry is (or leads to) a directory; ok is false
// when the entry is skipped. A symbolic link that cannot be followed is an
// error: one that leads outside the repository or loops, unless it would
// be ignored as a file and as a directory; a dangling one, when it would
// be read as a file.
func (r *renderer) isDir(rel string, e fs.DirEntry) (isDir, ok bool) {
	if e.Type()&fs.ModeSymlink == 0 {
		return e.IsDir(), true
	}
	fi, err := fs.Stat(r.fsys, r.name(rel))
	if err != nil {
		asFile, asDir := r.ignore.ignored(rel, false), r.ignore.ignored(rel, true)
		if errors.Is(err, fs.ErrNotExist) {
			asDir = true
		}
		if !asFile || !asDir {
			r.errorf(Location{File: rel}, "%v", unwrapPathError(err))
		}
		return false, false
	}
	return fi.IsDir(), true
}

// readManifest reads and decodes one file.
func (r *renderer) readManifest(rel string) []Object {
	data, err := r.readFile(r.name(rel))
	if err != nil {
		r.errorf(Location{File: rel}, "%v", unwrapPathError(err))
		return nil
	}
	decoded, errs := decodeFile(rel, data, r.limits)
	r.errs = append(r.errs, errs...)
	var objs []Object
	for _, o := range decoded {
		if r.checkObject(o) {
			objs = append(objs, o)
		}
	}
	return objs
}

// count counts one more file or directory read against the files limit.
func (r *renderer) count(loc Location) bool {
	if r.files++; r.files > r.limits.Files {
		r.limitErrorf(loc, "%s", overLimit("files", "the number of files and directories read", r.limits.Files))
		return false
	}
	return true
}

// readFile reads a regular file of the repository, within the file-size
// and total-size limits. name is a repository name.
func (r *renderer) readFile(name string) ([]byte, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, err
	}
	f, err := r.fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("not a regular file")
	}
	if fi.Size() > r.limits.FileSize {
		return nil, errors.New(overLimit("file-size", "the file's size, "+byteCount(fi.Size())+",", byteCount(r.limits.FileSize)))
	}
	if r.bytesRead+fi.Size() > r.limits.TotalSize {
		r.stopped = true
		return nil, errors.New(overLimit("total-size", "the size of the files read", byteCount(r.limits.TotalSize)))
	}
	data, err := io.ReadAll(io.LimitReader(f, r.limits.FileSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > r.limits.FileSize {
		return nil, errors.New(overLimit("file-size", "the file's size", byteCount(r.limits.FileSize)))
	}
	r.bytesRead += int64(len(data))
	return data, nil
}

// limitErrorf records that a revision-wide limit was hit: nothing more is
// read.
func (r *renderer) limitErrorf(loc Location, format string, args ...any) {
	r.stopped = true
	r.errorf(loc, format, args...)
}

// unwrapPathError drops an *fs.PathError's operation: the location
// already names the path.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// checkObject checks the fields every object needs, and their types:
// apiVersion, kind, metadata.name, metadata.namespace and generateName
// are strings, labels and annotations maps of strings (as kubectl has
// it: `namespace: no` is a boolean, not the namespace "no"). It counts the
// object against the objects limit.
func (r *renderer) checkObject(o Object) bool {
	if problems := typeProblems(o.Object); len(problems) > 0 {
		for _, p := range problems {
			r.errorf(o.Source, "%s", p)
		}
		return false
	}
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
	if r.objects++; r.objects > r.limits.Objects {
		if r.objects == r.limits.Objects+1 {
			r.limitErrorf(o.Source, "%s", overLimit("objects", "the number of objects in the revision", r.limits.Objects))
		}
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

// sortByKey sorts objects by key, each key computed once.
func sortByKey(objs []Object) {
	type keyed struct {
		key Key
		obj Object
	}
	ks := make([]keyed, len(objs))
	for i, o := range objs {
		ks[i] = keyed{KeyOf(o.Unstructured), o}
	}
	slices.SortFunc(ks, func(a, b keyed) int { return a.key.Compare(b.key) })
	for i := range ks {
		objs[i] = ks[i].obj
	}
}
