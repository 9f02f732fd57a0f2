package propagate

import (
	"encoding/json"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// PartBytes is how many bytes of objects a Delivery gathers before the
// next part begins: small, so that a one-object change rewrites a small
// Delivery (and status) per WEC, the ITS's server-side apply of a Delivery
// costing in proportion to its size.
const PartBytes = 64 << 10

// MaxObjectBytes bounds one object, which travels in a Delivery of its own
// when larger than PartBytes: well under etcd's request limit (1.5 MiB).
const MaxObjectBytes = 512 << 10

// Entry is one transformed object for a WEC and how it is to be treated.
type Entry struct {
	Object *unstructured.Unstructured
	// Raw is Object as JSON, when known; Pack encodes Object otherwise.
	Raw        []byte
	CreateOnly bool
	Adopt      bool
	// AdoptUnmanaged: take the object over unless another tool manages it.
	AdoptUnmanaged bool
	Orphan         bool
	ReturnStatus   bool
}

// DeliveryName names part n of a Binding's Deliveries for one WEC.
func DeliveryName(wds, binding string, part int) string {
	return fmt.Sprintf("%s.%s.%d", wds, binding, part)
}

// Pack splits a Binding's entries for one WEC into Delivery specs of at
// most partBytes of objects each (an object larger than that travels
// alone; one larger than maxObject is an error naming it).
//
// The assignment of objects to parts is stable: previous (object key, as
// DeliveryRemoval.Key, → part) is where each object travelled last, and
// an object stays in its part while the part has room, so that a change to
// one object rewrites the one part holding it. New objects, and the
// largest objects of a part that overflowed, go to the last part, or a new
// one when it is full.
// A part left empty takes the last part's objects. Without previous, the
// entries fill parts in order.
func Pack(source gitstellarv1alpha1.DeliverySource, entries []Entry, partBytes, maxObject int, previous map[string]int) ([]gitstellarv1alpha1.DeliverySpec, error) {
	if partBytes <= 0 {
		partBytes = PartBytes
	}
	if maxObject <= 0 {
		maxObject = MaxObjectBytes
	}
	type part struct {
		entries []int // indexes into entries, in order
		size    int
	}
	var (
		parts    []part
		raws     = make([][]byte, len(entries))
		homeless []int
	)
	for i, e := range entries {
		raw := e.Raw
		if raw == nil {
			var err error
			if raw, err = json.Marshal(e.Object.Object); err != nil {
				return nil, err
			}
		}
		if len(raw) > maxObject {
			return nil, fmt.Errorf("%s %s/%s is %d bytes, more than a Delivery may carry (%d)",
				e.Object.GetKind(), e.Object.GetNamespace(), e.Object.GetName(), len(raw), maxObject)
		}
		raws[i] = raw
		gvk := e.Object.GroupVersionKind()
		key := gitstellarv1alpha1.DeliveryRemoval{Group: gvk.Group, Kind: gvk.Kind, Namespace: e.Object.GetNamespace(), Name: e.Object.GetName()}.Key()
		p, ok := previous[key]
		if !ok || p < 0 || p >= len(entries) { // new, or a part number no packing gives
			homeless = append(homeless, i)
			continue
		}
		for len(parts) <= p {
			parts = append(parts, part{})
		}
		parts[p].entries = append(parts[p].entries, i)
		parts[p].size += len(raw)
	}
	for k := range parts { // an overflowing part lets its largest objects go
		for parts[k].size > partBytes && len(parts[k].entries) > 1 {
			largest := 0
			for j, i := range parts[k].entries {
				if len(raws[i]) > len(raws[parts[k].entries[largest]]) {
					largest = j
				}
			}
			i := parts[k].entries[largest]
			parts[k].entries = slices.Delete(parts[k].entries, largest, largest+1)
			parts[k].size -= len(raws[i])
			homeless = append(homeless, i)
		}
	}
	slices.Sort(homeless)
	for _, i := range homeless {
		last := len(parts) - 1
		if last < 0 || parts[last].size > 0 && parts[last].size+len(raws[i]) > partBytes {
			parts = append(parts, part{})
			last++
		}
		parts[last].entries = append(parts[last].entries, i)
		parts[last].size += len(raws[i])
	}
	for len(parts) > 0 && len(parts[len(parts)-1].entries) == 0 {
		parts = parts[:len(parts)-1]
	}
	for k := 0; k < len(parts); k++ { // a gap takes the last part
		if len(parts[k].entries) == 0 {
			parts[k] = parts[len(parts)-1]
			parts = parts[:len(parts)-1]
			for len(parts) > 0 && len(parts[len(parts)-1].entries) == 0 {
				parts = parts[:len(parts)-1]
			}
		}
	}
	specs := make([]gitstellarv1alpha1.DeliverySpec, len(parts))
	for k, p := range parts {
		slices.Sort(p.entries)
		specs[k] = gitstellarv1alpha1.DeliverySpec{Source: source, Part: int32(k)}
		for _, i := range p.entries {
			e := entries[i]
			specs[k].Entries = append(specs[k].Entries, gitstellarv1alpha1.DeliveryEntry{
				Object: runtime.RawExtension{Raw: raws[i]}, CreateOnly: e.CreateOnly, Adopt: e.Adopt, AdoptUnmanaged: e.AdoptUnmanaged, Orphan: e.Orphan, ReturnStatus: e.ReturnStatus,
			})
		}
	}
	if len(specs) > 0 {
		specs[0].Parts = int32(len(specs)) // on part 0 only: a new count rewrites no other part
	}
	return specs, nil
}
