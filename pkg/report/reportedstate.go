package report

import (
	"context"
	"maps"
	"reflect"
	"slices"

	"k8s.io/apimachinery/pkg/types"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// Reported state: the status of a workload object's WECs written back into
// the WDS object. As in KubeStellar it is decided per object, over every
// Binding that holds it, not per Binding: each Binding asks for a
// singleton or a multi-WEC reported state (or both) of the object and
// sends it to its WECs, and the requests of all of them are combined.

// stateRequest is what one Binding asks of one object's reported state.
type stateRequest struct {
	singleton, multi bool
	// wecs are the Binding's destinations.
	wecs []string
	// returned: WEC → the .status its agent returned; absent until it has.
	returned map[string]map[string]any
}

// reportedState is what an object's status becomes; a nil status means
// none: what gitstellar wrote into it is taken back.
type reportedState struct {
	status map[string]any
	// label marks the object: LabelSingletonStatus when the status is one
	// WEC's, LabelMultiWECStatus when it is aggregated over several.
	label string
}

// decideReportedState combines the requests of every Binding holding an
// object of a kind (group, kind) as KubeStellar does:
//
//   - the WECs of the requests asking a singleton are unioned, and so are
//     those asking a multi-WEC state;
//   - both asked: over the union of all of them, one WEC is a singleton,
//     more are multi-WEC;
//   - a singleton asked of exactly one WEC, or a multi-WEC state asked of
//     exactly one WEC: that WEC's status, as a singleton;
//   - a multi-WEC state asked of several WECs: the aggregate of their
//     statuses; while only one of them has returned one, that status, as
//     a singleton;
//   - anything else (a singleton asked of two WECs by two policies, no
//     WEC, a WEC that has not returned a status yet): none.
//
// Unlike KubeStellar, a multi-WEC state of a kind without an aggregation
// rule is none rather than whatever the object last had.
func decideReportedState(group, kind string, requests []stateRequest) reportedState {
	var askedSingleton, askedMulti bool
	singleton, multi := map[string]bool{}, map[string]bool{}
	returned := map[string]map[string]any{}
	for _, r := range requests {
		if r.singleton {
			askedSingleton = true
			for _, w := range r.wecs {
				singleton[w] = true
			}
		}
		if r.multi {
			askedMulti = true
			for _, w := range r.wecs {
				multi[w] = true
			}
		}
		for w, st := range r.returned {
			if st != nil && returned[w] == nil {
				returned[w] = st
			}
		}
	}
	one := func(wecs map[string]bool) reportedState {
		for w := range wecs {
			if st := returned[w]; st != nil {
				return reportedState{status: st, label: controlv1alpha1.LabelSingletonStatus}
			}
		}
		return reportedState{}
	}
	switch {
	case askedSingleton && askedMulti:
		all := maps.Clone(singleton)
		maps.Copy(all, multi)
		if len(all) == 1 {
			return one(all)
		}
		return aggregated(group, kind, all, returned)
	case askedMulti && len(multi) == 1:
		return one(multi)
	case askedSingleton && len(singleton) == 1:
		return one(singleton)
	case askedMulti && len(multi) > 1:
		return aggregated(group, kind, multi, returned)
	}
	return reportedState{}
}

// aggregated is the multi-WEC reported state over several WECs.
func aggregated(group, kind string, wecs map[string]bool, returned map[string]map[string]any) reportedState {
	statuses := make(map[string]map[string]any, len(wecs))
	var reported []string
	for w := range wecs {
		statuses[w] = returned[w] // nil: counts as zeros in the aggregate
		if returned[w] != nil {
			reported = append(reported, w)
		}
	}
	switch {
	case len(reported) == 0:
		return reportedState{}
	case len(reported) == 1:
		return reportedState{status: returned[reported[0]], label: controlv1alpha1.LabelSingletonStatus}
	case !Aggregatable(group, kind):
		return reportedState{}
	}
	return reportedState{status: AggregateStatus(group, kind, statuses), label: controlv1alpha1.LabelMultiWECStatus}
}

// statusStaysInWDS tells whether a kind never gets a reported state: a
// WEC has no authority over a Namespace's or a CustomResourceDefinition's
// status in the WDS (KubeStellar's exceptions).
func statusStaysInWDS(group, resource string) bool {
	return (group == "" && resource == "namespaces") ||
		(group == "apiextensions.k8s.io" && resource == "customresourcedefinitions")
}

// boundRequest is one Binding's request of an object's reported state,
// with the object it was made of.
type boundRequest struct {
	stateRequest
	reportedObject
}

// reportedObject is an object gitstellar wrote a reported state into.
type reportedObject struct {
	ref objectRef
	uid types.UID
}

// setRequests records what a Binding now asks of its objects' reported
// states (nil: nothing, the Binding is gone) and queues the objects whose
// requests changed.
func (c *StatusController) setRequests(binding string, requests map[string]*boundRequest) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.requestedBy[binding] {
		if _, still := requests[key]; !still {
			delete(c.requests[key], binding)
			if len(c.requests[key]) == 0 {
				delete(c.requests, key)
			}
			c.queue.Add(stateKey + key)
		}
	}
	if len(requests) == 0 {
		delete(c.requestedBy, binding)
		return
	}
	keys := make(map[string]bool, len(requests))
	for key, r := range requests {
		keys[key] = true
		byBinding := c.requests[key]
		if byBinding == nil {
			byBinding = map[string]*boundRequest{}
			c.requests[key] = byBinding
		}
		if prev := byBinding[binding]; prev == nil || !reflect.DeepEqual(prev, r) {
			byBinding[binding] = r
			c.queue.Add(stateKey + key)
		}
	}
	c.requestedBy[binding] = keys
}

// syncReportedState decides an object's reported state over every
// Binding holding it and writes it, or takes back what was written.
func (c *StatusController) syncReportedState(ctx context.Context, key string) error {
	c.mu.Lock()
	byBinding := c.requests[key]
	requests := make([]stateRequest, 0, len(byBinding))
	var target reportedObject
	for _, b := range slices.Sorted(maps.Keys(byBinding)) {
		r := byBinding[b]
		requests = append(requests, r.stateRequest)
		target = r.reportedObject
	}
	written, wrote := c.reportedInto[key]
	c.mu.Unlock()
	var state reportedState
	if len(requests) > 0 {
		state = decideReportedState(target.ref.GVR.Group, target.ref.Kind, requests)
	}
	if wrote && (state.status == nil || written.uid != target.uid) {
		if err := c.clearReportedState(ctx, written); err != nil {
			return err
		}
		c.mu.Lock()
		delete(c.reportedInto, key)
		c.mu.Unlock()
	}
	if state.status == nil {
		return nil
	}
	if err := c.writeReportedState(ctx, target, state); err != nil {
		return err
	}
	c.mu.Lock()
	c.reportedInto[key] = target
	c.mu.Unlock()
	return nil
}
