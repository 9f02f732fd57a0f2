package plan

import (
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/kustomize/kyaml/resid"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// Inventory is the WECs of each ITS, when they come from elsewhere than the
// repository (a live ITS). The WECs under AnyITS stand for every ITS.
type Inventory map[string][]WEC

// AnyITS keys the WECs of an Inventory that every ITS has.
const AnyITS = "*"

// WEC is a WorkloadCluster as the resolver and the transforms see it.
type WEC struct {
	Name        string
	Labels      map[string]string
	Annotations map[string]string
	// Data and BinaryData: of its property ConfigMap in the ITS's
	// customization-properties, when the repository declares one.
	Data       map[string]string
	BinaryData map[string][]byte
}

// ObjectRef names an object of a WDS.
type ObjectRef struct {
	WDS       string `json:"wds"`
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
}

func (r ObjectRef) String() string { return r.WDS + " " + r.describe() }

// describe is "Kind[.group] [namespace/]name".
func (r ObjectRef) describe() string {
	kind := r.Kind
	if r.Group != "" {
		kind += "." + r.Group
	}
	if r.Namespace != "" {
		return kind + " " + r.Namespace + "/" + r.Name
	}
	return kind + " " + r.Name
}

// key orders and identifies an object in a WEC: two WDSes cannot both
// land the same object.
func (r ObjectRef) key() string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// landed is one object as one WEC would receive it.
type landed struct {
	ref      ObjectRef
	object   *unstructured.Unstructured
	hash     [32]byte
	policies []string
}

// landing is what a revision puts where.
type landing struct {
	// wecs: WEC → object key → the object as it lands there.
	wecs map[string]map[string]*landed
	// policies: "wds/policy" → its resolution.
	policies map[string]*policyLanding
	// warnings about this revision.
	warnings []string
	// frozen: "wec/wds/policy" whose templates do not expand in that WEC,
	// so that what the policy holds there stays as it is.
	frozen map[string]bool
}

// policyLanding is what a policy binds in a revision.
type policyLanding struct {
	wds, name string
	wecs      []string
	objects   []ObjectRef
}

// resolve computes what a rendered revision lands in every WEC, with the
// same resolver and transforms as the controller. inventory, when set,
// replaces the WorkloadClusters of the repository.
func resolve(r *render.Result, inventory Inventory) *landing {
	l := &landing{wecs: map[string]map[string]*landed{}, policies: map[string]*policyLanding{}, frozen: map[string]bool{}}
	// The WECs' template properties are their labels and annotations, and
	// their property ConfigMaps (customization-properties) declared in the
	// repository beside them.
	wecsOf := map[string][]WEC{} // ITS → WECs
	for _, sp := range r.Spaces {
		if sp.Type != gitstellarv1alpha1.SpaceTypeITS {
			continue
		}
		props := map[string]*unstructured.Unstructured{}
		for _, o := range sp.Objects {
			if o.GetKind() == "ConfigMap" && o.GroupVersionKind().Group == "" && o.GetNamespace() == controlv1alpha1.PropertiesNamespace {
				props[o.GetName()] = o.Unstructured
			}
		}
		for _, o := range sp.Objects {
			if o.GetKind() == "WorkloadCluster" && o.GroupVersionKind().Group == gitstellarv1alpha1.GroupVersion.Group {
				w := WEC{Name: o.GetName(), Labels: o.GetLabels(), Annotations: o.GetAnnotations()}
				w.Data, w.BinaryData = propagate.ConfigMapProperties(props[o.GetName()])
				wecsOf[sp.Name] = append(wecsOf[sp.Name], w)
			}
		}
	}
	if inventory != nil {
		wecsOf = map[string][]WEC{}
		for _, sp := range r.Spaces {
			if sp.Type == gitstellarv1alpha1.SpaceTypeITS {
				wecsOf[sp.Name] = append(slices.Clone(inventory[sp.Name]), inventory[AnyITS]...)
			}
		}
	}
	selected := map[string]bool{} // "its/wec" selected by some policy
	for _, sp := range r.Spaces {
		if sp.Type != gitstellarv1alpha1.SpaceTypeWDS {
			continue
		}
		its := sp.Declaration.Spec.ITS
		l.resolveWDS(sp, its, wecsOf[its], selected)
	}
	for _, its := range slices.Sorted(maps.Keys(wecsOf)) {
		for _, w := range wecsOf[its] {
			if !selected[its+"/"+w.Name] {
				l.warnings = append(l.warnings, fmt.Sprintf("WEC %s (ITS %s) is selected by no BindingPolicy", w.Name, its))
			}
		}
	}
	return l
}

func (l *landing) resolveWDS(sp *render.Space, its string, wecs []WEC, selected map[string]bool) {
	var (
		policies   []*controlv1alpha1.BindingPolicy
		transforms []controlv1alpha1.CustomTransform
		collectors = map[string]bool{}
		objects    []*bind.Object
		byKey      = map[bind.ObjectKey]render.Object{}
		nsLabels   = map[string]map[string]string{}
	)
	plurals, scopes := declaredKinds(sp.Objects)
	for _, o := range sp.Objects {
		o = inDefaultNamespace(o, scopes)
		gvk := o.GroupVersionKind()
		if gvk.Group == controlv1alpha1.GroupVersion.Group {
			switch gvk.Kind {
			case "BindingPolicy":
				var bp controlv1alpha1.BindingPolicy
				if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &bp) == nil {
					policies = append(policies, &bp)
				}
			case "CustomTransform":
				var ct controlv1alpha1.CustomTransform
				if runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &ct) == nil {
					transforms = append(transforms, ct)
				}
			case "StatusCollector":
				collectors[o.GetName()] = true
			}
		}
		if gvk.Group == "" && gvk.Kind == "Namespace" {
			nsLabels[o.GetName()] = o.GetLabels()
		}
		b := &bind.Object{GVR: resourceFor(gvk, plurals), Namespace: o.GetNamespace(), Name: o.GetName(), Labels: o.GetLabels()}
		objects = append(objects, b)
		byKey[b.Key()] = o
	}
	clusters := make([]bind.Cluster, len(wecs))
	wecByName := map[string]WEC{}
	for i, w := range wecs {
		clusters[i] = bind.Cluster{Name: w.Name, Labels: w.Labels}
		wecByName[w.Name] = w
	}
	compiled := propagate.CompileTransforms(transforms)
	for _, w := range compiled.Warnings {
		l.warnings = append(l.warnings, sp.Name+": "+w)
	}
	for name, errs := range compiled.Errors {
		for _, e := range errs {
			l.warnings = append(l.warnings, fmt.Sprintf("%s: CustomTransform %s: %s", sp.Name, name, e))
		}
	}
	bound := map[bind.ObjectKey]bool{}
	// A transformed object is the same for every WEC unless it expands
	// templates: transform it once.
	shared := map[bind.ObjectKey]*landed{}
	// A singleton reported state is decided per object, over the WECs of
	// every policy asking it of the object.
	type singletonAsk struct {
		policies []string
		wecs     map[string]bool
	}
	singletons := map[bind.ObjectKey]*singletonAsk{}
	for _, res := range bind.Resolve(bind.Inputs{Policies: policies, Objects: objects, NamespaceLabels: nsLabels, Clusters: clusters}) {
		pl := &policyLanding{wds: sp.Name, name: res.Policy}
		l.policies[sp.Name+"/"+res.Policy] = pl
		for _, e := range res.Errors {
			l.warnings = append(l.warnings, fmt.Sprintf("%s: BindingPolicy %s: %s", sp.Name, res.Policy, e))
		}
		for _, d := range res.Spec.Destinations {
			pl.wecs = append(pl.wecs, d.ClusterId)
			selected[its+"/"+d.ClusterId] = true
		}
		type member struct {
			key bind.ObjectKey
			mod controlv1alpha1.DownsyncModulation
		}
		var members []member
		for _, o := range res.Spec.Workload.ClusterScope {
			members = append(members, member{bind.ObjectKey{Group: o.Group, Resource: o.Resource, Name: o.Name}, o.DownsyncModulation})
		}
		for _, o := range res.Spec.Workload.NamespaceScope {
			members = append(members, member{bind.ObjectKey{Group: o.Group, Resource: o.Resource, Namespace: o.Namespace, Name: o.Name}, o.DownsyncModulation})
		}
		for _, m := range members {
			obj := byKey[m.key]
			pl.objects = append(pl.objects, refOf(sp.Name, obj))
			if len(pl.wecs) > 0 {
				bound[m.key] = true
			}
			if m.mod.WantSingletonReportedState {
				ask := singletons[m.key]
				if ask == nil {
					ask = &singletonAsk{wecs: map[string]bool{}}
					singletons[m.key] = ask
				}
				ask.policies = append(ask.policies, res.Policy)
				for _, w := range pl.wecs {
					ask.wecs[w] = true
				}
			}
			for _, sc := range m.mod.StatusCollectors {
				if !collectors[sc] {
					l.warnings = appendOnce(l.warnings, fmt.Sprintf("%s: BindingPolicy %s names StatusCollector %s, which is not defined", sp.Name, res.Policy, sc))
				}
			}
		}
		switch {
		case len(res.Errors) > 0:
		case len(members) == 0:
			l.warnings = append(l.warnings, fmt.Sprintf("%s: BindingPolicy %s selects no object", sp.Name, res.Policy))
		}
		if len(res.Errors) == 0 && len(pl.wecs) == 0 {
			l.warnings = append(l.warnings, fmt.Sprintf("%s: BindingPolicy %s selects no WEC", sp.Name, res.Policy))
		}
		// Template expansion failing for one WEC leaves that Binding's
		// state in that WEC as it is: nothing of it lands there.
		for _, wec := range pl.wecs {
			w := wecByName[wec]
			props := propagate.PropertiesOf(wec, w.Labels, w.Annotations, w.Data, w.BinaryData)
			var out []*landed
			var failed error
			for _, m := range members {
				obj := byKey[m.key]
				templated := obj.GetAnnotations()[controlv1alpha1.AnnotationExpandTemplates] == "true"
				if s := shared[m.key]; s != nil && !templated {
					out = append(out, s)
					continue
				}
				t, err := compiled.Transform(obj.Unstructured, schema.GroupResource{Group: m.key.Group, Resource: m.key.Resource}, props)
				if err != nil {
					failed = fmt.Errorf("%s: %w", refOf(sp.Name, obj), err)
					break
				}
				ld := &landed{ref: refOf(sp.Name, obj), object: t, hash: hashOf(t)}
				if !templated {
					shared[m.key] = ld
				}
				out = append(out, ld)
			}
			if failed != nil {
				l.warnings = append(l.warnings, fmt.Sprintf("%s: BindingPolicy %s: WEC %s: templates do not expand, so nothing of this policy changes there: %v", sp.Name, res.Policy, wec, failed))
				l.frozen[wec+"/"+sp.Name+"/"+res.Policy] = true
				continue
			}
			if l.wecs[wec] == nil {
				l.wecs[wec] = map[string]*landed{}
			}
			for _, ld := range out {
				k := ld.ref.key()
				have := l.wecs[wec][k]
				switch {
				case have == nil:
					cp := *ld
					cp.policies = []string{res.Policy}
					l.wecs[wec][k] = &cp
				case have.ref.WDS != ld.ref.WDS:
					l.warnings = appendOnce(l.warnings, fmt.Sprintf("WEC %s: %s and %s both deliver %s; the first writer keeps it", wec, have.ref.WDS, ld.ref.WDS, ld.ref.key()))
				default:
					have.policies = appendOnce(have.policies, res.Policy)
				}
			}
		}
	}
	for _, b := range objects {
		ask := singletons[b.Key()]
		if ask == nil || len(ask.wecs) == 1 {
			continue
		}
		l.warnings = append(l.warnings, fmt.Sprintf("%s: %s: a singleton reported state is asked (BindingPolicy %s) but it goes to %d WECs; none is written",
			sp.Name, refOf(sp.Name, byKey[b.Key()]).describe(), strings.Join(ask.policies, ", "), len(ask.wecs)))
	}
	for _, b := range objects {
		o := byKey[b.Key()]
		gvk := o.GroupVersionKind()
		if bound[b.Key()] || bind.Excluded(b) || gvk.Group == gitstellarv1alpha1.GroupVersion.Group {
			continue
		}
		l.warnings = append(l.warnings, fmt.Sprintf("%s: %s is bound to no WEC", sp.Name, refOf(sp.Name, o).describe()))
	}
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func refOf(wds string, o render.Object) ObjectRef {
	gvk := o.GroupVersionKind()
	return ObjectRef{WDS: wds, Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: o.GetNamespace(), Name: o.GetName()}
}

func hashOf(u *unstructured.Unstructured) [32]byte {
	b, _ := json.Marshal(u.Object)
	return sha256.Sum256(b)
}

// declaredKinds reads the CRDs declared in a space: each kind's resource
// (plural), and whether it is cluster-scoped (with gitstellar's own kinds).
func declaredKinds(objects []render.Object) (plurals map[schema.GroupKind]string, clusterScoped map[schema.GroupKind]bool) {
	plurals, clusterScoped = map[schema.GroupKind]string{}, maps.Clone(ownScopes)
	for _, o := range objects {
		if o.GroupVersionKind().GroupKind() != (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
			continue
		}
		group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
		kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
		plural, _, _ := unstructured.NestedString(o.Object, "spec", "names", "plural")
		scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
		if kind == "" {
			continue
		}
		gk := schema.GroupKind{Group: group, Kind: kind}
		clusterScoped[gk] = scope == string(apiextensionsv1.ClusterScoped)
		if plural != "" {
			plurals[gk] = plural
		}
	}
	return plurals, clusterScoped
}

// ownScopes: of every CRD gitstellar installs, whether it is cluster-scoped.
var ownScopes = func() map[schema.GroupKind]bool {
	out := map[schema.GroupKind]bool{}
	all, err := crds.ForRole(crds.RoleAll)
	if err != nil {
		panic(err) // embedded at build time
	}
	for _, c := range all {
		out[schema.GroupKind{Group: c.Spec.Group, Kind: c.Spec.Names.Kind}] = c.Spec.Scope == apiextensionsv1.ClusterScoped
	}
	return out
}()

// inDefaultNamespace puts a namespaced object that names no namespace in
// "default", as `run` does when it applies it to the WDS. The kind's scope
// comes from the space's CRDs and gitstellar's own, else from Kubernetes'
// kinds as kustomize knows them; a kind known to neither (a CRD installed
// in the WDS by other means) is taken as namespaced, as kustomize does.
func inDefaultNamespace(o render.Object, clusterScoped map[schema.GroupKind]bool) render.Object {
	if o.GetNamespace() != "" {
		return o
	}
	gvk := o.GroupVersionKind()
	scoped, known := clusterScoped[gvk.GroupKind()]
	if !known {
		scoped = resid.NewGvk(gvk.Group, gvk.Version, gvk.Kind).IsClusterScoped()
	}
	if scoped {
		return o
	}
	o.Unstructured = o.DeepCopy()
	o.SetNamespace(metav1.NamespaceDefault)
	return o
}

// builtinResources maps the kinds client-go knows to their resources.
var builtinResources = func() map[schema.GroupKind]string {
	out := map[schema.GroupKind]string{}
	for gvk := range clientgoscheme.Scheme.AllKnownTypes() {
		if strings.HasSuffix(gvk.Kind, "List") || gvk.Version == runtime.APIVersionInternal {
			continue
		}
		plural, _ := meta.UnsafeGuessKindToResource(gvk)
		out[gvk.GroupKind()] = plural.Resource
	}
	out[schema.GroupKind{Kind: "Endpoints"}] = "endpoints"
	return out
}()

// resourceFor finds the resource of a kind without an API server: the
// revision's CRDs, then Kubernetes' own kinds, then the usual plural.
func resourceFor(gvk schema.GroupVersionKind, plurals map[schema.GroupKind]string) schema.GroupVersionResource {
	if p, ok := plurals[gvk.GroupKind()]; ok {
		return gvk.GroupVersion().WithResource(p)
	}
	if p, ok := builtinResources[gvk.GroupKind()]; ok {
		return gvk.GroupVersion().WithResource(p)
	}
	plural, _ := meta.UnsafeGuessKindToResource(gvk)
	return plural
}

func compareRefs(a, b ObjectRef) int {
	return cmp.Or(cmp.Compare(a.WDS, b.WDS), cmp.Compare(a.Group, b.Group), cmp.Compare(a.Kind, b.Kind),
		cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
}
