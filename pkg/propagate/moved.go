package propagate

import (
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// An object that leaves one Binding's Deliveries to a WEC while another
// Binding of the WDS binds it to that WEC moves between Bindings (between
// policies, or between the parts of one policy's Binding): leaving the
// first is not a removal, and the agent keeps the object, which the other
// Binding's Deliveries carry. The bind controller writes a Binding that
// gains objects before one that loses them, so the transport, which sees
// the Bindings in the order they were written, finds the object in the
// other Binding when the first one loses it.

// keepMoved adds to now (the objects a Binding's Deliveries to a WEC
// carry) those of the objects leaving them that another Binding binds to
// the same WEC: old are the objects the Deliveries carried, part0 lists
// the earlier removals not acknowledged yet.
func (t *Transport) keepMoved(binding, wec string, part0 *unstructured.Unstructured, old map[string]gitstellarv1alpha1.DeliveryRemoval, now map[string]bool) {
	leaving := map[string][]gitstellarv1alpha1.DeliveryRemoval{} // group/namespace/name → the objects leaving
	add := func(r gitstellarv1alpha1.DeliveryRemoval) {
		if !now[r.Key()] {
			leaving[r.Group+"/"+r.Namespace+"/"+r.Name] = append(leaving[r.Group+"/"+r.Namespace+"/"+r.Name], r)
		}
	}
	for _, r := range old {
		add(r)
	}
	earlier, _, _ := pendingRemovals(part0)
	for _, r := range earlier {
		add(r)
	}
	if len(leaving) == 0 || t.bindings == nil { // nil: a Retirer's, every Binding leaving
		return
	}
	for _, o := range t.bindings.GetStore().List() {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || u.GetName() == binding || !bindsTo(u, wec) {
			continue
		}
		for _, scope := range []string{"clusterScope", "namespaceScope"} {
			entries, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "workload", scope)
			list, _ := entries.([]any)
			for _, e := range list {
				m, _ := e.(map[string]any)
				group, _ := m["group"].(string)
				resource, _ := m["resource"].(string)
				namespace, _ := m["namespace"].(string)
				name, _ := m["name"].(string)
				for _, r := range leaving[group+"/"+namespace+"/"+name] {
					// A resource whose kind is not known yet may be the
					// same object: kept rather than deleted on a guess.
					if kind, known := t.kinds.of(schema.GroupResource{Group: group, Resource: resource}); !known || kind == r.Kind {
						now[r.Key()] = true
					}
				}
			}
		}
	}
}

// bindsTo tells whether a Binding names a WEC among its destinations.
func bindsTo(u *unstructured.Unstructured, wec string) bool {
	dests, _, _ := unstructured.NestedFieldNoCopy(u.Object, "spec", "destinations")
	list, _ := dests.([]any)
	for _, d := range list {
		if m, ok := d.(map[string]any); ok && m["clusterId"] == wec {
			return true
		}
	}
	return false
}

// resourceKinds is the kind of each resource whose objects the transport
// read.
type resourceKinds struct {
	mu    sync.Mutex
	kinds map[schema.GroupResource]string
}

func (k *resourceKinds) learn(gr schema.GroupResource, kind string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.kinds == nil {
		k.kinds = map[schema.GroupResource]string{}
	}
	k.kinds[gr] = kind
}

func (k *resourceKinds) of(gr schema.GroupResource) (string, bool) {
	k.mu.Lock()
	defer k.mu.Unlock()
	kind, ok := k.kinds[gr]
	return kind, ok
}
