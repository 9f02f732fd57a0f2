package propagate

import (
	"encoding/json"
	"fmt"

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
	Raw          []byte
	CreateOnly   bool
	Adopt        bool
	Orphan       bool
	ReturnStatus bool
}

// DeliveryName names part n of a Binding's Deliveries for one WEC.
func DeliveryName(wds, binding string, part int) string {
	return fmt.Sprintf("%s.%s.%d", wds, binding, part)
}

// Pack splits a Binding's entries for one WEC into Delivery specs, in
// order, starting a new part when the current one holds partBytes of
// objects. An object larger than maxObject on its own is an error naming
// it.
func Pack(source gitstellarv1alpha1.DeliverySource, entries []Entry, partBytes, maxObject int) ([]gitstellarv1alpha1.DeliverySpec, error) {
	if partBytes <= 0 {
		partBytes = PartBytes
	}
	if maxObject <= 0 {
		maxObject = MaxObjectBytes
	}
	var (
		parts []gitstellarv1alpha1.DeliverySpec
		cur   gitstellarv1alpha1.DeliverySpec
		size  int
	)
	for _, e := range entries {
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
		if size+len(raw) > partBytes && len(cur.Entries) > 0 {
			parts = append(parts, cur)
			cur, size = gitstellarv1alpha1.DeliverySpec{}, 0
		}
		cur.Entries = append(cur.Entries, gitstellarv1alpha1.DeliveryEntry{
			Object: runtime.RawExtension{Raw: raw}, CreateOnly: e.CreateOnly, Adopt: e.Adopt, Orphan: e.Orphan, ReturnStatus: e.ReturnStatus,
		})
		size += len(raw)
	}
	if len(cur.Entries) > 0 {
		parts = append(parts, cur)
	}
	for i := range parts {
		parts[i].Source = source
		parts[i].Part = int32(i)
		parts[i].Parts = int32(len(parts))
	}
	return parts, nil
}
