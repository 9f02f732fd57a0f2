package bind

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/resourceversion"
)

// WrittenObject is an object written into the WDS, at the resourceVersion
// the write left it at ("" for one deleted).
type WrittenObject struct {
	Group, Kind, Namespace, Name string
	ResourceVersion              string
}

func (w WrittenObject) String() string {
	return strings.TrimPrefix(w.Group+"/", "/") + w.Kind + " " + strings.TrimPrefix(w.Namespace+"/", "/") + w.Name
}

// CaughtUp tells whether the Bindings reflect the given writes: the
// controller has seen each object at its resourceVersion (or a later
// one), or seen it go, and has written every Binding since. When not yet,
// it says what it waits for. Writes of kinds that are never bound (other
// API groups than --bind-groups, KubeStellar's control objects) count as
// seen; a kind that discovery has not shown yet (a CRD just created) is
// waited for. Policies whose Binding could not be written are listed:
// they wait for a retry, not for something to be seen.
func (c *Controller) CaughtUp(written []WrittenObject) (caughtUp bool, waitingFor string, failing []string) {
	c.mu.Lock()
	synced := c.synced
	c.mu.Unlock()
	if len(synced) == 0 {
		return false, "the WDS's objects to be listed", nil
	}
	for _, s := range synced {
		if !s() {
			return false, "the WDS's objects to be listed", nil
		}
	}
	if waiting := c.unseen(written); waiting != "" {
		return false, waiting, nil
	}
	if !c.queue.Idle() {
		return false, "the Bindings to be written", nil
	}
	return true, "", c.queue.Failing()
}

// unseen says which write the controller has not seen yet ("" when it
// has seen them all).
func (c *Controller) unseen(written []WrittenObject) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, w := range written {
		gvr, known := c.kinds[schema.GroupKind{Group: w.Group, Kind: w.Kind}]
		switch {
		case !known:
			return fmt.Sprintf("discovery to serve the kind of %s", w)
		case gvr == nil: // never bound
			continue
		}
		seen, ok := c.objects[ObjectKey{Group: gvr.Group, Resource: gvr.Resource, Namespace: w.Namespace, Name: w.Name}]
		if !atLeast(seen, ok, w.ResourceVersion) {
			return "the write of " + w.String() + " to be seen"
		}
	}
	return ""
}

// atLeast tells whether an object as seen is the one written at rv, or a
// later version; for a deletion (rv ""), whether it is seen gone.
func atLeast(seen *Object, ok bool, rv string) bool {
	if rv == "" {
		return !ok
	}
	if !ok {
		return false
	}
	cmp, err := resourceversion.CompareResourceVersion(seen.ResourceVersion, rv)
	if err != nil { // not comparable: only the same version counts
		return seen.ResourceVersion == rv
	}
	return cmp >= 0
}
