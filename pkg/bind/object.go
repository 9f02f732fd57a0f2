package bind

import (
	"cmp"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// Object is what the resolver needs of a WDS object.
type Object struct {
	// GVR is the object's group, version (the one it is listed at) and
	// resource (lowercase plural).
	GVR             schema.GroupVersionResource
	Namespace       string // "" for a cluster-scoped object
	Name            string
	Labels          map[string]string
	ResourceVersion string
}

// ObjectKey identifies an object within a WDS.
type ObjectKey struct {
	Group, Resource, Namespace, Name string
}

// Key returns the object's key.
func (o *Object) Key() ObjectKey {
	return ObjectKey{Group: o.GVR.Group, Resource: o.GVR.Resource, Namespace: o.Namespace, Name: o.Name}
}

func (k ObjectKey) compare(o ObjectKey) int {
	return cmp.Or(cmp.Compare(k.Group, o.Group), cmp.Compare(k.Resource, o.Resource),
		cmp.Compare(k.Namespace, o.Namespace), cmp.Compare(k.Name, o.Name))
}

// Cluster is a WEC as its ITS inventory shows it.
type Cluster struct {
	Name   string
	Labels map[string]string
}

// never-propagated groups and resources, as KubeStellar's, plus
// gitstellar's own group.
var (
	neverGroups = map[string]bool{
		"flowcontrol.apiserver.k8s.io": true,
		"discovery.k8s.io":             true,
		"apiregistration.k8s.io":       true,
		"coordination.k8s.io":          true,
		"control.kubestellar.io":       true,
		"gitstellar.io":                true,
	}
	neverResources = map[schema.GroupResource]bool{
		{Group: "", Resource: "events"}:                             true,
		{Group: "events.k8s.io", Resource: "events"}:                true,
		{Group: "", Resource: "nodes"}:                              true,
		{Group: "", Resource: "endpoints"}:                          true,
		{Group: "storage.k8s.io", Resource: "csistoragecapacities"}: true,
		{Group: "storage.k8s.io", Resource: "csinodes"}:             true,
	}
)

// SystemNamespace is gitstellar's own namespace in a space (inventories):
// never bound.
const SystemNamespace = "gitstellar-system"

// NeverPropagated tells whether objects of a resource are never bound.
func NeverPropagated(gr schema.GroupResource) bool {
	return neverGroups[gr.Group] || neverResources[gr]
}

// Excluded tells whether an object is never bound: its resource, gitstellar's
// namespace, or what a control plane creates in every namespace.
func Excluded(o *Object) bool {
	gr := o.GVR.GroupResource()
	switch {
	case NeverPropagated(gr):
		return true
	case o.Namespace == SystemNamespace:
		return true
	case gr == schema.GroupResource{Resource: "namespaces"} && o.Name == SystemNamespace:
		return true
	case gr == schema.GroupResource{Resource: "configmaps"} && o.Name == "kube-root-ca.crt":
		return true
	case gr == schema.GroupResource{Resource: "serviceaccounts"} && o.Name == "default":
		return true
	}
	return false
}
