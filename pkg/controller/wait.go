package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
)

// waitPoll is how often the waits below look at the spaces again.
const waitPoll = 100 * time.Millisecond

// WaitBound waits until the Bindings and their Deliveries reflect what a
// sync wrote: each WDS's bind controller has seen every object the sync
// wrote at the version it wrote (or seen it go) and written the Bindings
// since, and every Binding's status says the transport wrote the
// Deliveries of its generation (observedGeneration, Synced). It returns
// what each WDS binds.
func (c *Controller) WaitBound(ctx context.Context, res *SyncResult) (map[string][]bind.PolicySummary, error) {
	written := writtenObjects(res)
	for {
		waiting, err := c.boundState(written)
		if err != nil {
			return nil, err
		}
		if waiting == "" {
			break
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %s: %w", waiting, ctx.Err())
		case <-time.After(waitPoll):
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	out := map[string][]bind.PolicySummary{}
	for name, b := range c.binders {
		out[name] = b.ctl.Summaries()
	}
	return out, nil
}

// writtenObjects are, per WDS, the objects a sync wrote or found in place.
func writtenObjects(res *SyncResult) map[string][]bind.WrittenObject {
	out := map[string][]bind.WrittenObject{}
	if res == nil {
		return out
	}
	for _, sp := range res.Spaces {
		if sp.Type != string(gitstellarv1alpha1.SpaceTypeWDS) || sp.Apply == nil {
			continue
		}
		for _, e := range sp.Apply.Entries {
			w := bind.WrittenObject{Group: e.Key.Group, Kind: e.Key.Kind, Namespace: e.Key.Namespace, Name: e.Key.Name, ResourceVersion: e.ResourceVersion}
			switch {
			case e.Action == apply.Deleted:
				w.ResourceVersion = ""
			case e.ResourceVersion == "":
				continue // not written (refused, skipped): nothing to see
			}
			out[sp.Name] = append(out[sp.Name], w)
		}
	}
	return out
}

// boundState says what the Bindings still wait for ("" for nothing), or
// why they will not get there.
func (c *Controller) boundState(written map[string][]bind.WrittenObject) (string, error) {
	c.mu.Lock()
	binders := maps.Clone(c.binders)
	c.mu.Unlock()
	for _, wds := range slices.Sorted(maps.Keys(binders)) {
		b := binders[wds]
		caughtUp, waitingFor, failing := b.ctl.CaughtUp(written[wds])
		if !caughtUp {
			return fmt.Sprintf("WDS %s: %s", wds, waitingFor), nil
		}
		if len(failing) > 0 {
			return "", fmt.Errorf("WDS %s: the Bindings of %s could not be written (see the BindingPolicies' status)", wds, strings.Join(failing, ", "))
		}
		bindings, err := c.bindingsOf(wds)
		if errors.Is(err, errNotSynced) {
			return fmt.Sprintf("WDS %s: the Bindings to be listed", wds), nil
		}
		if err != nil {
			return "", err
		}
		known := map[string]bool{}
		for _, bd := range bindings {
			known[bd.Name] = true
			if bd.Status.ObservedGeneration != bd.Generation || controlv1alpha1.FindCondition(bd.Status.Conditions, controlv1alpha1.TypeSynced) == nil {
				return fmt.Sprintf("WDS %s: the Deliveries of Binding %s (generation %d)", wds, bd.Name, bd.Generation), nil
			}
		}
		for _, p := range b.ctl.Summaries() {
			if !known[p.Policy] && len(p.Errors) == 0 { // an invalid policy's Binding is left as it was, if any
				return fmt.Sprintf("WDS %s: Binding %s to be written", wds, p.Policy), nil
			}
		}
	}
	return "", nil
}

// bindingsOf are the Bindings of a WDS as its cache shows them, without
// their workloads.
func (c *Controller) bindingsOf(wds string) ([]controlv1alpha1.Binding, error) {
	sc, err := c.spaceCache(wds)
	if err != nil {
		return nil, err
	}
	inf, err := synced(sc.Informer(propagate.Bindings, spacecache.Filter{}, nil))
	if err != nil {
		return nil, err
	}
	var out []controlv1alpha1.Binding
	for _, o := range inf.GetStore().List() {
		b, err := propagate.BindingHead(o.(*unstructured.Unstructured))
		if err != nil {
			return nil, fmt.Errorf("WDS %s: %w", wds, err)
		}
		out = append(out, b)
	}
	return out, nil
}

// spaceCache is the shared informer cache of a connected space.
func (c *Controller) spaceCache(space string) (*spacecache.Cache, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	conn, ok := c.spaces[space]
	if !ok {
		return nil, fmt.Errorf("space %s is not connected", space)
	}
	return conn.cache, nil
}

// synced is an informer once it has listed its objects (errNotSynced
// until then).
func synced(inf cache.SharedIndexInformer, err error) (cache.SharedIndexInformer, error) {
	switch {
	case err != nil:
		return nil, err
	case !inf.HasSynced():
		return nil, errNotSynced
	}
	return inf, nil
}

var errNotSynced = errors.New("not listed yet")

// Delivered is where the WECs stand with the Bindings of every WDS.
type Delivered struct {
	// Applied, Failed: the WECs that applied every object bound to them,
	// and those that could not apply some (Problems says what).
	Applied, Failed []string
	// NotConnected are WECs still waited for whose agent does not report
	// (no agent run by this process, and no fresh heartbeat): an agent in
	// the WEC that is not installed or not running.
	NotConnected []string
	// Problems are the Bindings' errors, per WDS/Binding.
	Problems map[string][]string
}

// WaitDelivered waits until every Binding's status says whether its WECs
// applied it (Ready True or False), read from the WDS: agents run by this
// process and agents in the WECs alike. A WEC whose agent does not report
// is not waited for (Delivered.NotConnected). It fails when a WEC could
// not apply every object.
func (c *Controller) WaitDelivered(ctx context.Context) (Delivered, error) {
	for {
		d, done, err := c.delivered()
		if err != nil && !errors.Is(err, errNotSynced) {
			return d, err
		}
		if done && err == nil {
			if len(d.Failed) > 0 {
				return d, fmt.Errorf("%d of %d WECs hold objects they could not apply (see the Bindings' and Deliveries' status)", len(d.Failed), len(d.Failed)+len(d.Applied)+len(d.NotConnected))
			}
			return d, nil
		}
		select {
		case <-ctx.Done():
			return d, fmt.Errorf("waiting for the WECs: %w", ctx.Err())
		case <-time.After(waitPoll):
		}
	}
}

// delivered reads where the WECs stand, and whether anything is still
// worth waiting for.
func (c *Controller) delivered() (Delivered, bool, error) {
	c.mu.Lock()
	binders := maps.Clone(c.binders)
	inProcess := map[string]bool{}
	for name := range c.agents {
		inProcess[name] = true
	}
	c.mu.Unlock()
	progress := map[string]propagate.Progress{} // WEC → the least of its Bindings'
	out := Delivered{Problems: map[string][]string{}}
	done := true
	for _, wds := range slices.Sorted(maps.Keys(binders)) {
		bindings, err := c.bindingsOf(wds)
		if err != nil {
			return out, false, err
		}
		its, err := c.spaceCache(binders[wds].its)
		if err != nil {
			return out, false, err
		}
		deliveries, err := synced(propagate.DeliveriesInformer(its))
		if err != nil {
			return out, false, err
		}
		wecs, err := synced(its.Informer(propagate.WorkloadClusters, spacecache.Filter{}, nil))
		if err != nil {
			return out, false, err
		}
		for _, b := range bindings {
			if len(b.Status.Errors) > 0 {
				out.Problems[wds+"/"+b.Name] = b.Status.Errors
			}
			ready := controlv1alpha1.FindCondition(b.Status.Conditions, controlv1alpha1.TypeReady)
			if b.Status.ObservedGeneration != b.Generation || ready == nil {
				done = false // not written yet (WaitBound waits for that)
				continue
			}
			objs, _ := deliveries.GetIndexer().ByIndex(propagate.DeliveriesByBinding, propagate.DeliveryBindingKey(wds, b.Name))
			parts := propagate.PartsByWEC(objs)
			for _, dest := range b.Spec.Destinations {
				p := propagate.Applied
				if ready.Status != corev1.ConditionTrue {
					p = propagate.WECProgress(parts[dest.ClusterId], nil)
				}
				if old, seen := progress[dest.ClusterId]; !seen || worse(p, old) {
					progress[dest.ClusterId] = p
				}
				if p == propagate.Waiting && (inProcess[dest.ClusterId] || connected(wecs, dest.ClusterId)) {
					done = false
				}
			}
		}
	}
	for _, wec := range slices.Sorted(maps.Keys(progress)) {
		switch progress[wec] {
		case propagate.Applied:
			out.Applied = append(out.Applied, wec)
		case propagate.Failed:
			out.Failed = append(out.Failed, wec)
		default:
			out.NotConnected = append(out.NotConnected, wec)
		}
	}
	return out, done, nil
}

// worse orders progress: waiting, then failed, then applied.
func worse(p, than propagate.Progress) bool {
	rank := [...]int{propagate.Waiting: 0, propagate.Failed: 1, propagate.Applied: 2}
	return rank[p] < rank[than]
}

// connected tells whether a WEC's agent reports: its WorkloadCluster is
// Ready (the agent beat lately).
func connected(wecs cache.SharedIndexInformer, name string) bool {
	o, ok, _ := wecs.GetStore().GetByKey(name)
	if !ok {
		return false
	}
	var wc gitstellarv1alpha1.WorkloadCluster
	if runtime.DefaultUnstructuredConverter.FromUnstructured(o.(*unstructured.Unstructured).Object, &wc) != nil {
		return false
	}
	return meta.IsStatusConditionTrue(wc.Status.Conditions, "Ready")
}
