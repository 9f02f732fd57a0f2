package propagate

import (
	"bytes"
	"fmt"
	"maps"
	"slices"
	"strings"
	"text/template"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// Transforms are the CustomTransforms of a WDS, compiled.
type Transforms struct {
	byResource map[schema.GroupResource][]compiledTransform
	// Errors are per CustomTransform: a path that does not parse.
	Errors map[string][]string
	// Warnings: more than one CustomTransform for the same resource.
	Warnings []string
}

type compiledTransform struct {
	name  string
	paths []Path
}

// CompileTransforms parses every CustomTransform. A path that does not
// parse is an error of its CustomTransform and is skipped; its valid paths
// still apply.
func CompileTransforms(cts []controlv1alpha1.CustomTransform) *Transforms {
	t := &Transforms{byResource: map[schema.GroupResource][]compiledTransform{}, Errors: map[string][]string{}}
	sorted := slices.Clone(cts)
	slices.SortFunc(sorted, func(a, b controlv1alpha1.CustomTransform) int { return strings.Compare(a.Name, b.Name) })
	for _, ct := range sorted {
		c := compiledTransform{name: ct.Name}
		for _, r := range ct.Spec.Remove {
			p, err := ParsePath(r)
			if err != nil {
				t.Errors[ct.Name] = append(t.Errors[ct.Name], err.Error())
				continue
			}
			c.paths = append(c.paths, p)
		}
		gr := schema.GroupResource{Group: ct.Spec.APIGroup, Resource: ct.Spec.Resource}
		t.byResource[gr] = append(t.byResource[gr], c)
	}
	for gr, list := range t.byResource {
		if len(list) > 1 {
			var names []string
			for _, c := range list {
				names = append(names, c.name)
			}
			t.Warnings = append(t.Warnings, fmt.Sprintf("%s: CustomTransforms %s all apply", gr, strings.Join(names, ", ")))
		}
	}
	slices.Sort(t.Warnings)
	return t
}

// Properties are the values a WEC's templates expand with.
type Properties map[string]string

// PropertiesOf merges a WEC's properties, later ones winning: the built-in
// clusterName, the inventory object's labels, its annotations, then the
// data of its ConfigMap in the ITS namespace customization-properties.
func PropertiesOf(wec string, labels, annotations, configMap map[string]string) Properties {
	p := Properties{"clusterName": wec}
	for _, m := range []map[string]string{labels, annotations, configMap} {
		maps.Copy(p, m)
	}
	return p
}

// Labels and annotations of other GitOps tools that would make one of
// their instances in a WEC prune or fight over the object.
var (
	foreignLabels      = []string{"kustomize.toolkit.fluxcd.io/name", "kustomize.toolkit.fluxcd.io/namespace", "helm.toolkit.fluxcd.io/name", "helm.toolkit.fluxcd.io/namespace"}
	foreignAnnotations = []string{"argocd.argoproj.io/tracking-id", "kubectl.kubernetes.io/last-applied-configuration"}
	// Labels gitstellar's source controller puts on WDS objects.
	// gitstellar's marks in the WDS: where an object comes from, and that
	// its status is its one WEC's.
	sourceLabels = []string{"gitstellar.io/source", controlv1alpha1.LabelSingletonStatus}
)

// Transform returns the object as one WEC is to receive it, in
// KubeStellar's order: the always-removed fields, Service and Job
// cleaning, the CustomTransforms of its resource, then template expansion
// when the object asks for it. The input is not changed.
func (t *Transforms) Transform(in *unstructured.Unstructured, gr schema.GroupResource, props Properties) (*unstructured.Unstructured, error) {
	u := in.DeepCopy()
	removeAlways(u)
	switch gr {
	case schema.GroupResource{Resource: "services"}:
		cleanService(u)
	case schema.GroupResource{Group: "batch", Resource: "jobs"}:
		cleanJob(u)
	}
	if t != nil {
		for _, c := range t.byResource[gr] {
			for _, p := range c.paths {
				p.Remove(u.Object)
			}
		}
	}
	if in.GetAnnotations()[controlv1alpha1.AnnotationExpandTemplates] == "true" {
		expanded, err := expand(u.Object, props, "")
		if err != nil {
			return nil, err
		}
		u.Object = expanded.(map[string]any)
	}
	return u, nil
}

func removeAlways(u *unstructured.Unstructured) {
	meta, _ := u.Object["metadata"].(map[string]any)
	for _, f := range []string{"managedFields", "finalizers", "generation", "ownerReferences", "selfLink",
		"resourceVersion", "uid", "generateName", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds"} {
		delete(meta, f)
	}
	delete(u.Object, "status")
	labels := u.GetLabels()
	for _, k := range append(foreignLabels, sourceLabels...) {
		delete(labels, k)
	}
	if labels[gitstellarv1alpha1.LabelManagedBy] == gitstellarv1alpha1.ManagedByValue {
		delete(labels, gitstellarv1alpha1.LabelManagedBy)
	}
	setOrDrop(u, labels, u.SetLabels, "labels")
	annotations := u.GetAnnotations()
	for _, k := range foreignAnnotations {
		delete(annotations, k)
	}
	setOrDrop(u, annotations, u.SetAnnotations, "annotations")
}

func setOrDrop(u *unstructured.Unstructured, m map[string]string, set func(map[string]string), key string) {
	if len(m) == 0 {
		unstructured.RemoveNestedField(u.Object, "metadata", key)
		return
	}
	set(m)
}

// cleanService drops what the WDS's apiserver allocated: cluster IPs
// (unless headless), IP families, and node ports unless the object keeps
// them (annotation control.kubestellar.io/preserve: nodeport).
func cleanService(u *unstructured.Unstructured) {
	if ip, _, _ := unstructured.NestedString(u.Object, "spec", "clusterIP"); ip != "None" {
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIP")
		unstructured.RemoveNestedField(u.Object, "spec", "clusterIPs")
	}
	unstructured.RemoveNestedField(u.Object, "spec", "ipFamilies")
	if u.GetAnnotations()[controlv1alpha1.AnnotationPreserve] == controlv1alpha1.PreserveNodePort {
		return
	}
	unstructured.RemoveNestedField(u.Object, "spec", "healthCheckNodePort")
	ports, found, _ := unstructured.NestedSlice(u.Object, "spec", "ports")
	if !found {
		return
	}
	for _, p := range ports {
		if m, ok := p.(map[string]any); ok {
			delete(m, "nodePort")
		}
	}
	_ = unstructured.SetNestedSlice(u.Object, ports, "spec", "ports")
}

// cleanJob drops what the WDS's job controller set: the selector, suspend,
// and the controller-uid labels.
func cleanJob(u *unstructured.Unstructured) {
	unstructured.RemoveNestedField(u.Object, "spec", "selector")
	unstructured.RemoveNestedField(u.Object, "spec", "suspend")
	for _, path := range [][]string{{"metadata", "labels"}, {"spec", "template", "metadata", "labels"}} {
		for _, k := range []string{"controller-uid", "batch.kubernetes.io/controller-uid"} {
			unstructured.RemoveNestedField(u.Object, append(slices.Clone(path), k)...)
		}
	}
}

// expand runs every string value through text/template with
// the WEC's properties; a reference to a missing property is an error.
func expand(v any, props Properties, where string) (any, error) {
	switch x := v.(type) {
	case string:
		if !strings.Contains(x, "{{") {
			return x, nil
		}
		tmpl, err := template.New(where).Option("missingkey=error").Parse(x)
		if err != nil {
			return nil, fmt.Errorf("template at %s: %w", where, err)
		}
		var b bytes.Buffer
		if err := tmpl.Execute(&b, map[string]string(props)); err != nil {
			return nil, fmt.Errorf("template at %s: %w", where, err)
		}
		return b.String(), nil
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, child := range x {
			e, err := expand(child, props, where+"."+k)
			if err != nil {
				return nil, err
			}
			out[k] = e
		}
		return out, nil
	case []any:
		out := make([]any, len(x))
		for i, child := range x {
			e, err := expand(child, props, fmt.Sprintf("%s[%d]", where, i))
			if err != nil {
				return nil, err
			}
			out[i] = e
		}
		return out, nil
	}
	return v, nil
}
