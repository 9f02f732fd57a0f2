package propagate

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/memo"
)

// Deletion in a WEC is an explicit decision of the hub, never a guess: the
// transport lists in part 0 of a Binding's Deliveries to a WEC each object
// it took out of them (DeliverySpec.Removed), and the agent deletes only
// what is listed there. A Delivery deleted by hand, not written yet, or
// not synced after a restart removes nothing. When a Binding goes because
// its BindingPolicy went, or a WEC leaves a Binding, part 0 stays as a
// tombstone listing every object until the agent has acknowledged it.

// entryHeader is what the transport reads of an entry's object.
type entryHeader struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

func (h entryHeader) removal() gitstellarv1alpha1.DeliveryRemoval {
	gv, _ := schema.ParseGroupVersion(h.APIVersion)
	return gitstellarv1alpha1.DeliveryRemoval{Group: gv.Group, Kind: h.Kind, Namespace: h.Metadata.Namespace, Name: h.Metadata.Name}
}

// specObjects are the objects the specs deliver, by key.
func specObjects(specs []gitstellarv1alpha1.DeliverySpec) map[string]bool {
	out := map[string]bool{}
	for _, s := range specs {
		for _, e := range s.Entries {
			var h entryHeader
			if json.Unmarshal(e.Object.Raw, &h) == nil {
				out[h.removal().Key()] = true
			}
		}
	}
	return out
}

// deliveredObjects are the objects existing Deliveries carry, by key.
func (t *Transport) deliveredObjects(parts map[int]*unstructured.Unstructured) map[string]gitstellarv1alpha1.DeliveryRemoval {
	out := map[string]gitstellarv1alpha1.DeliveryRemoval{}
	for _, d := range parts {
		maps.Copy(out, t.carriedBy(d))
	}
	return out
}

// assignment is where the existing Deliveries carry each object: its key
// → part.
func (t *Transport) assignment(parts map[int]*unstructured.Unstructured) map[string]int {
	out := map[string]int{}
	for n, d := range parts {
		for key := range t.carriedBy(d) {
			out[key] = n
		}
	}
	return out
}

// carriedBy is carried, once per version of the Delivery.
func (t *Transport) carriedBy(d *unstructured.Unstructured) map[string]gitstellarv1alpha1.DeliveryRemoval {
	return t.delivered.Get(memo.ObjectName(d), memo.SpecVersion(d), func() map[string]gitstellarv1alpha1.DeliveryRemoval { return carried(d) })
}

// carried are the objects one Delivery's spec carries, by key.
func carried(d *unstructured.Unstructured) map[string]gitstellarv1alpha1.DeliveryRemoval {
	out := map[string]gitstellarv1alpha1.DeliveryRemoval{}
	entries, _ := DeliveryEntries(d)
	for _, e := range entries {
		var h entryHeader
		if json.Unmarshal(e.Object.Raw, &h) == nil {
			r := h.removal()
			out[r.Key()] = r
		}
	}
	return out
}

// pendingRemovals reads part 0's removals and how far the agent has
// acknowledged them.
func pendingRemovals(part0 *unstructured.Unstructured) (removed []gitstellarv1alpha1.DeliveryRemoval, generation, acknowledged int64) {
	if part0 == nil {
		return nil, 0, 0
	}
	raw, _, _ := unstructured.NestedSlice(part0.Object, "spec", "removed")
	for _, r := range raw {
		var dr gitstellarv1alpha1.DeliveryRemoval
		if m, ok := r.(map[string]any); ok && runtime.DefaultUnstructuredConverter.FromUnstructured(m, &dr) == nil {
			removed = append(removed, dr)
		}
	}
	acknowledged, _, _ = unstructured.NestedInt64(part0.Object, "status", "observedGeneration")
	return removed, part0.GetGeneration(), acknowledged
}

// removals is part 0's new removal list: what left the Deliveries (was in
// old, is not in now) stamped with part 0's next generation (generation is
// its current one: the transport's last write may not be in its cache
// yet), and the earlier removals the agent has not acknowledged yet. An
// object delivered again is no longer removed. Acknowledged removals are
// dropped only when there is a new one, so that they cost no write of
// their own.
func removals(part0 *unstructured.Unstructured, generation int64, old map[string]gitstellarv1alpha1.DeliveryRemoval, now map[string]bool) []gitstellarv1alpha1.DeliveryRemoval {
	prev, cached, acknowledged := pendingRemovals(part0)
	generation = max(generation, cached)
	listed := map[string]bool{}
	for _, r := range prev {
		listed[r.Key()] = true
	}
	var fresh []gitstellarv1alpha1.DeliveryRemoval
	for _, key := range slices.Sorted(maps.Keys(old)) {
		if !now[key] && !listed[key] {
			r := old[key]
			r.Generation = generation + 1
			fresh = append(fresh, r)
		}
	}
	var out []gitstellarv1alpha1.DeliveryRemoval
	for _, r := range prev {
		if !now[r.Key()] && (len(fresh) == 0 || r.Generation > acknowledged) {
			out = append(out, r)
		}
	}
	out = append(out, fresh...)
	slices.SortFunc(out, func(a, b gitstellarv1alpha1.DeliveryRemoval) int { return strings.Compare(a.Key(), b.Key()) })
	return out
}

// acknowledgedTombstone tells whether part 0 is a tombstone the agent has
// acknowledged: it can go.
func acknowledgedTombstone(part0 *unstructured.Unstructured) bool {
	if part0 == nil {
		return false
	}
	payload, _, _ := unstructured.NestedString(part0.Object, "spec", "payload")
	entries, _, _ := unstructured.NestedSlice(part0.Object, "spec", "entries")
	_, generation, acknowledged := pendingRemovals(part0)
	return payload == "" && len(entries) == 0 && acknowledged >= generation
}
