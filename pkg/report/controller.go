package report

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/memo"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// The resources the status controller reads and writes besides Bindings,
// BindingPolicies (pkg/bind) and Deliveries (pkg/propagate).
var (
	collectorsGVR       = controlv1alpha1.GroupVersion.WithResource("statuscollectors")
	combinedStatusesGVR = controlv1alpha1.GroupVersion.WithResource("combinedstatuses")
	namespacesGVR       = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
)

// ReportFieldManager writes reported state into WDS objects, and
// CombinedStatus objects.
const ReportFieldManager = gitstellarv1alpha1.FieldManager + "-report"

// AnnotationRedact on a WDS object lists (comma-separated) JSONPaths of its
// returned status that never leave the cluster (the status branch).
const AnnotationRedact = "gitstellar.io/redact"

// StatusOptions configures a StatusController.
type StatusOptions struct {
	WDS                  string
	WDSConfig, ITSConfig *rest.Config
	// WDSCache and ITSCache share the spaces' informers with the other
	// components of the process; nil: the controller makes its own.
	WDSCache, ITSCache *spacecache.Cache
	Log                logr.Logger
}

// StatusController returns, for one WDS, what its agents report from the
// WECs: the singleton and multi-WEC reported state into the WDS objects,
// CombinedStatus objects from StatusCollectors, and a summary of every
// bound object in every WEC for the status branch.
type StatusController struct {
	opts  StatusOptions
	wds   dynamic.Interface
	its   dynamic.Interface
	queue *keyqueue.Queue

	bindings, policies, collectors, combined, deliveries cache.SharedIndexInformer
	caches                                               spacecache.Caches

	mu        sync.Mutex
	compiled  map[string]*Collector // StatusCollector name → compiled, current generation
	summaries map[string]*bindingSummary
	// version counts the changes of summaries: a reader whose last
	// Summary had this version needs no new one.
	version    uint64
	statusMemo map[string]string // object ref → hash of the reported state last written
	// requests: object ref → Binding → what the Binding asks of the
	// object's reported state; requestedBy: Binding → the object refs it
	// asks of; reportedInto: object ref → the object gitstellar wrote a
	// reported state into.
	requests     map[string]map[string]*boundRequest
	requestedBy  map[string]map[string]bool
	reportedInto map[string]reportedObject
	// combinedKept: Binding → the CombinedStatuses its last sync wrote,
	// and the policy it is a part of: the parts of one policy's Binding
	// share its CombinedStatuses' label, and each keeps the others'.
	combinedKept map[string]keptCombined
	// objects: WDS objects read, at their last resourceVersion; headers:
	// per Delivery, the objects it carries, once per generation; views:
	// per Delivery, its entries and what its agent reports of them, once
	// per resourceVersion (shared, read only); decoded: Bindings, once
	// per resourceVersion.
	objects memo.ByVersion[*unstructured.Unstructured]
	headers memo.ByVersion[[]entryHeader]
	views   memo.ByVersion[map[string]*wecEntry]
	history specHistory
	decoded memo.ByVersion[*controlv1alpha1.Binding]
}

// objectRef names a WDS object.
type objectRef struct {
	GVR             schema.GroupVersionResource
	Kind, Namespace string
	Name            string
}

func (r objectRef) String() string {
	return r.GVR.Group + "/" + r.GVR.Resource + "/" + r.Namespace + "/" + r.Name
}

// bindingSummary is what one Binding's objects are in its WECs.
type bindingSummary struct {
	policy  PolicySummary
	objects map[string]*ObjectSummary
}

// NewStatusController prepares a status controller; Run starts it.
func NewStatusController(opts StatusOptions) (*StatusController, error) {
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	wdsCfg, itsCfg := spaces.Rated(opts.WDSConfig), spaces.Rated(opts.ITSConfig)
	wds, err := dynamic.NewForConfig(wdsCfg)
	if err != nil {
		return nil, err
	}
	its, err := dynamic.NewForConfig(itsCfg)
	if err != nil {
		return nil, err
	}
	c := &StatusController{opts: opts, wds: wds, its: its, queue: keyqueue.New(),
		compiled: map[string]*Collector{}, summaries: map[string]*bindingSummary{},
		statusMemo: map[string]string{}, combinedKept: map[string]keptCombined{},
		requests: map[string]map[string]*boundRequest{}, requestedBy: map[string]map[string]bool{}, reportedInto: map[string]reportedObject{},
	}
	wdsCache, itsCache := c.caches.Use(opts.WDSCache, wds), c.caches.Use(opts.ITSCache, its)
	for _, i := range []struct {
		into     *cache.SharedIndexInformer
		gvr      schema.GroupVersionResource
		in       spacecache.Filter
		indexers cache.Indexers
	}{
		{&c.bindings, bind.Bindings, spacecache.Filter{}, nil},
		{&c.policies, bind.BindingPolicies, spacecache.Filter{}, nil},
		{&c.collectors, collectorsGVR, spacecache.Filter{}, nil},
		{&c.combined, combinedStatusesGVR, spacecache.Filter{Labels: gitstellarv1alpha1.LabelManagedBy + "=" + gitstellarv1alpha1.ManagedByValue},
			cache.Indexers{"policy": keyqueue.ByLabel(controlv1alpha1.LabelCombinedStatusBindingPolicy)}},
	} {
		if *i.into, err = wdsCache.Informer(i.gvr, i.in, i.indexers); err != nil {
			return nil, err
		}
	}
	if c.deliveries, err = propagate.DeliveriesInformer(itsCache); err != nil {
		return nil, err
	}
	return c, nil
}

// Run reports until ctx ends.
func (c *StatusController) Run(ctx context.Context) error {
	byName := func(label string) func(any) {
		return func(o any) {
			if u, ok := keyqueue.Unstructured(o); ok {
				name := u.GetName()
				if label != "" {
					name = u.GetLabels()[label]
				}
				c.queue.Add(name)
			}
		}
	}
	handler := func(f func(any)) cache.ResourceEventHandlerFuncs {
		return cache.ResourceEventHandlerFuncs{AddFunc: f, UpdateFunc: func(_, o any) { f(o) }, DeleteFunc: f}
	}
	forget := cache.ResourceEventHandlerFuncs{DeleteFunc: func(o any) {
		if u, ok := keyqueue.Unstructured(o); ok {
			c.headers.Forget(memo.ObjectName(u))
			c.views.Forget(memo.ObjectName(u))
			c.history.forget(memo.ObjectName(u))
		}
	}}
	for _, h := range []struct {
		inf     cache.SharedIndexInformer
		handler cache.ResourceEventHandler
	}{
		{c.bindings, handler(byName(""))}, {c.policies, handler(byName(""))},
		{c.deliveries, propagate.OfWDS(c.opts.WDS, handler(byName(gitstellarv1alpha1.LabelBinding)))},
		{c.deliveries, propagate.OfWDS(c.opts.WDS, forget)},
		{c.collectors, handler(func(o any) { c.collectorChanged(ctx, o) })},
	} {
		if _, err := spacecache.Handle(ctx, h.inf, h.handler); err != nil {
			return err
		}
	}
	c.caches.Start(ctx)
	if !spacecache.WaitForSync(ctx, c.bindings, c.policies, c.collectors, c.combined, c.deliveries) {
		return ctx.Err()
	}
	// CombinedStatuses of policies that are gone.
	for _, p := range c.combined.GetIndexer().ListIndexFuncValues("policy") {
		c.queue.Add(p)
	}
	c.queue.Run(ctx, 2, c.sync, func(key string, err error) {
		c.opts.Log.Error(err, "report", "wds", c.opts.WDS, "binding", key)
	})
	<-ctx.Done()
	c.queue.Wait()
	return nil
}

// Idle tells whether the controller has caught up.
func (c *StatusController) Idle() bool {
	return c.bindings.HasSynced() && c.deliveries.HasSynced() && c.queue.Idle()
}

// collectorChanged recompiles a StatusCollector whose generation changed,
// reports its errors in its status, and re-evaluates every Binding.
func (c *StatusController) collectorChanged(ctx context.Context, o any) {
	u, ok := keyqueue.Unstructured(o)
	if !ok {
		return
	}
	_, exists, _ := c.collectors.GetStore().Get(u)
	c.mu.Lock()
	prev := c.compiled[u.GetName()]
	if !exists {
		delete(c.compiled, u.GetName())
	}
	c.mu.Unlock()
	if exists && (prev == nil || prev.Generation != u.GetGeneration()) {
		var sc controlv1alpha1.StatusCollector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sc); err != nil {
			return
		}
		compiled, err := CompileCollector(&sc)
		var errs []string
		if err != nil {
			errs = CollectorErrors(err)
			compiled = nil
		}
		c.mu.Lock()
		if compiled != nil {
			c.compiled[sc.Name] = compiled
		} else {
			c.compiled[sc.Name] = &Collector{Name: sc.Name, Generation: sc.Generation} // no programs: results stay empty
		}
		c.mu.Unlock()
		c.writeCollectorStatus(ctx, &sc, errs)
	} else if exists {
		return // a status change (ours)
	}
	for _, b := range c.bindings.GetStore().ListKeys() {
		c.queue.Add(b)
	}
}

func (c *StatusController) writeCollectorStatus(ctx context.Context, sc *controlv1alpha1.StatusCollector, errs []string) {
	if sc.Status.ObservedGeneration == sc.Generation && slices.Equal(sc.Status.Errors, errs) {
		return
	}
	status := map[string]any{"observedGeneration": sc.Generation}
	if len(errs) > 0 {
		status["errors"] = errs
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": controlv1alpha1.GroupVersion.String(), "kind": "StatusCollector",
		"metadata": map[string]any{"name": sc.Name}, "status": status,
	}}
	if _, err := c.wds.Resource(collectorsGVR).ApplyStatus(ctx, sc.Name, u, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil && !apierrors.IsNotFound(err) {
		c.opts.Log.Error(err, "StatusCollector status", "name", sc.Name)
	}
}

// wecEntry is what one WEC reports for one object of a Binding.
type wecEntry struct {
	wec     string
	kind    string
	version string
	// status is what the agent reported of the entry, nil until it has.
	status *gitstellarv1alpha1.DeliveryEntryStatus
	// returned is status.ReturnedStatus decoded (shared: read only).
	returned map[string]any
	// current: the agent reported on the entry as it is (at the
	// Delivery's generation, or at an earlier one holding the same entry)
	current bool
}

// stateKey prefixes the queue keys of objects whose reported state is to
// be decided again (a Binding's name has no colon).
const stateKey = "state:"

// sync reports one Binding's objects, or decides one object's reported
// state.
func (c *StatusController) sync(ctx context.Context, key string) error {
	if ref, ok := strings.CutPrefix(key, stateKey); ok {
		return c.syncReportedState(ctx, ref)
	}
	return c.syncBinding(ctx, key)
}

// syncBinding reports one Binding's objects.
func (c *StatusController) syncBinding(ctx context.Context, name string) error {
	raw, found, err := c.bindings.GetStore().GetByKey(name)
	if err != nil {
		return err
	}
	if !found {
		c.decoded.Forget(name)
		c.mu.Lock()
		if _, had := c.summaries[name]; had {
			delete(c.summaries, name)
			c.version++
		}
		c.mu.Unlock()
		c.setRequests(name, nil)
		c.mu.Lock()
		policy := name
		if kept, ok := c.combinedKept[name]; ok {
			policy = kept.policy
		}
		delete(c.combinedKept, name)
		c.mu.Unlock()
		return c.pruneCombined(ctx, policy)
	}
	// Decoded once per version: every Delivery status reported reports
	// its Binding again.
	b, err := c.decoded.GetErr(name, raw.(*unstructured.Unstructured).GetResourceVersion(), func() (*controlv1alpha1.Binding, error) {
		var b controlv1alpha1.Binding
		err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.(*unstructured.Unstructured).Object, &b)
		return &b, err
	})
	if err != nil {
		return err
	}
	entries := c.entriesOf(name) // object key (group/resource-less) → WEC entries
	policy := bind.PolicyOfBinding(raw.(*unstructured.Unstructured))
	var wecs []string
	for _, d := range b.Spec.Destinations {
		wecs = append(wecs, d.ClusterId)
	}
	slices.Sort(wecs)
	sum := &bindingSummary{policy: PolicySummary{Name: policy, WECs: wecs},
		objects: make(map[string]*ObjectSummary, len(b.Spec.Workload.ClusterScope)+len(b.Spec.Workload.NamespaceScope))}
	if p, ok, _ := c.policies.GetStore().GetByKey(policy); ok && name == policy { // said once, by part 0
		errs, _, _ := unstructured.NestedStringSlice(p.(*unstructured.Unstructured).Object, "status", "errors")
		sum.policy.Errors = append(sum.policy.Errors, errs...)
	}
	// The policy repeats its Binding's errors (as KubeStellar's does):
	// each said once.
	sum.policy.Errors = appendAll(sum.policy.Errors, b.Status.Errors)

	type boundObject struct {
		ref objectRef
		mod controlv1alpha1.DownsyncModulation
		rv  string
	}
	objects := make([]boundObject, 0, len(b.Spec.Workload.ClusterScope)+len(b.Spec.Workload.NamespaceScope))
	for _, o := range b.Spec.Workload.ClusterScope {
		objects = append(objects, boundObject{objectRef{GVR: schema.GroupVersionResource(o.GroupVersionResource), Name: o.Name}, o.DownsyncModulation, o.ResourceVersion})
	}
	for _, o := range b.Spec.Workload.NamespaceScope {
		objects = append(objects, boundObject{objectRef{GVR: schema.GroupVersionResource(o.GroupVersionResource), Namespace: o.Namespace, Name: o.Name}, o.DownsyncModulation, o.ResourceVersion})
	}
	policyUID := policyUIDOf(b)
	requests := map[string]*boundRequest{}
	keepCombined := map[string]bool{}
	var errs []error
	for _, o := range objects {
		key := entryKey(o.ref.GVR.Group, o.ref.Namespace, o.ref.Name)
		kind, version := "", o.ref.GVR.Version
		byWEC := make([]*wecEntry, len(wecs))
		for i, w := range wecs {
			byWEC[i] = entries.entry(w, key)
			if byWEC[i] != nil && kind == "" {
				kind, version = byWEC[i].kind, byWEC[i].version
			}
		}
		o.ref.Kind = kind
		objSum := &ObjectSummary{Group: o.ref.GVR.Group, Version: version, Kind: kind, Namespace: o.ref.Namespace, Name: o.ref.Name, Policies: []string{policy},
			WECs: make([]WECObjectStatus, 0, len(wecs))}
		if kind == "" {
			objSum.Kind = o.ref.GVR.Resource // not delivered anywhere yet: the resource names it
		}
		// Returned statuses by WEC, only for what reads them: the
		// reported state (StatusCollectors read reports).
		var returned map[string]map[string]any
		if o.mod.WantSingletonReportedState || o.mod.WantMultiWECReportedState {
			returned = make(map[string]map[string]any, len(wecs))
		}
		var reports []WECReport
		for i, w := range wecs {
			e := byWEC[i]
			ok := e != nil
			st := WECObjectStatus{WEC: w}
			switch {
			case !ok || e.status == nil:
				st.Message = "pending: not reported by the WEC's agent yet"
			case e.status.Result == gitstellarv1alpha1.DeliveryApplied:
				st.Synced = e.current
				st.Ready = e.status.Health == "Current"
				switch {
				case !e.current:
					st.Message = "pending: the WEC's agent has not applied the latest version yet"
				case !st.Ready && e.status.HealthMessage != "":
					st.Message = e.status.Health + ": " + e.status.HealthMessage
				case !st.Ready:
					st.Message = e.status.Health
				}
			default:
				st.Message = string(e.status.Result) + ": " + e.status.Message
			}
			var status map[string]any
			if ok {
				status = e.returned
				st.Status = status
			}
			if returned != nil {
				returned[w] = status
			}
			var last time.Time
			if ok && e.status != nil && e.status.LastUpdateTime != nil {
				last = e.status.LastUpdateTime.Time
			}
			// Every destination is a row, as in KubeStellar: one that
			// has returned nothing yet with a null status.
			reports = append(reports, WECReport{WEC: w, Status: status, LastReturnedUpdate: last})
			objSum.WECs = append(objSum.WECs, st)
		}
		var wdsObject *unstructured.Unstructured
		needObject := len(o.mod.StatusCollectors) > 0 || o.mod.WantSingletonReportedState || o.mod.WantMultiWECReportedState
		if needObject {
			wdsObject, err = c.object(ctx, o.ref, o.rv)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if wdsObject == nil {
				continue // gone; the next Binding drops it
			}
			if kind == "" {
				o.ref.Kind = wdsObject.GetKind()
				objSum.Kind = wdsObject.GetKind()
			}
			if r := wdsObject.GetAnnotations()[AnnotationRedact]; r != "" {
				for _, p := range strings.Split(r, ",") {
					if p = strings.TrimSpace(p); p != "" {
						objSum.Redact = append(objSum.Redact, p)
					}
				}
			}
		}
		// What it asks of the object's reported state, decided over
		// every Binding holding the object.
		if returned != nil && wdsObject != nil && !statusStaysInWDS(o.ref.GVR.Group, o.ref.GVR.Resource) {
			requests[o.ref.String()] = &boundRequest{reportedObject: reportedObject{ref: o.ref, uid: wdsObject.GetUID()}, stateRequest: stateRequest{
				singleton: o.mod.WantSingletonReportedState, multi: o.mod.WantMultiWECReportedState, wecs: wecs, returned: returned}}
		}
		// StatusCollectors → CombinedStatus.
		if len(o.mod.StatusCollectors) > 0 && wdsObject != nil {
			body := wdsObject.DeepCopy().Object
			delete(body, "status")
			var results []controlv1alpha1.NamedStatusCombination
			c.mu.Lock()
			for _, scName := range o.mod.StatusCollectors {
				if col := c.compiled[scName]; col != nil {
					results = append(results, col.Evaluate(body, reports))
				} else {
					sum.policy.Errors = appendOnce(sum.policy.Errors, fmt.Sprintf("StatusCollector %s is named but not defined", scName))
				}
			}
			c.mu.Unlock()
			cs := CombinedStatusFor(o.ref.GVR.Group, o.ref.GVR.Resource, o.ref.Namespace, o.ref.Name, wdsObject.GetUID(), policy, policyUID, results)
			keepCombined[cs.Namespace+"/"+cs.Name] = true
			objSum.Combined = []PolicyCombination{{Policy: policy, Results: cs.Results}}
			if err := c.writeCombined(ctx, cs); err != nil {
				errs = append(errs, err)
			}
		}
		sum.objects[objSum.Key()] = objSum
	}
	sum.policy.Objects = make([]string, 0, len(sum.objects))
	for key := range sum.objects {
		sum.policy.Objects = append(sum.policy.Objects, key)
	}
	slices.Sort(sum.policy.Objects)
	c.mu.Lock()
	c.summaries[name] = sum
	c.version++
	c.combinedKept[name] = keptCombined{policy: policy, names: keepCombined}
	c.mu.Unlock()
	c.setRequests(name, requests)
	if err := c.pruneCombined(ctx, policy); err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return fmt.Errorf("binding %s: %w", name, errs[0])
	}
	return nil
}

func appendOnce(list []string, s string) []string {
	if slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func policyUIDOf(b *controlv1alpha1.Binding) types.UID {
	for _, ref := range b.OwnerReferences {
		if ref.Kind == "BindingPolicy" {
			return ref.UID
		}
	}
	return ""
}

// entryKey names an object across Deliveries and Bindings: the Binding
// knows the resource, a Delivery entry the kind; both know the group,
// namespace and name, which is what the key is made of.
func entryKey(group, namespace, name string) string {
	return group + "/" + namespace + "/" + name
}

// bindingEntries is what a Binding's Deliveries say of its objects: per
// WEC, the entries of each of its Deliveries (parts) by entryKey.
type bindingEntries map[string][]map[string]*wecEntry

// entry is what a WEC's Deliveries say of an object, nil when none holds it.
func (b bindingEntries) entry(wec, key string) *wecEntry {
	for _, part := range b[wec] {
		if e := part[key]; e != nil {
			return e
		}
	}
	return nil
}

// entriesOf reads a Binding's Deliveries. Each Delivery is read once per
// resourceVersion: a Delivery status written by one WEC's agent reads
// only that Delivery again, not every entry of every WEC.
func (c *StatusController) entriesOf(binding string) bindingEntries {
	out := bindingEntries{}
	objs, _ := c.deliveries.GetIndexer().ByIndex(propagate.DeliveriesByBinding, propagate.DeliveryBindingKey(c.opts.WDS, binding))
	for _, o := range objs {
		d := o.(*unstructured.Unstructured)
		wec := d.GetLabels()[gitstellarv1alpha1.LabelCluster]
		out[wec] = append(out[wec], c.views.Get(memo.ObjectName(d), d.GetResourceVersion(), func() map[string]*wecEntry { return c.viewOf(d, wec) }))
	}
	return out
}

// viewOf is one Delivery's entries by entryKey.
func (c *StatusController) viewOf(d *unstructured.Unstructured, wec string) map[string]*wecEntry {
	headers := c.headers.Get(memo.ObjectName(d), memo.SpecVersion(d), func() []entryHeader {
		h := headersOf(d)
		c.history.record(memo.ObjectName(d), memo.SpecVersion(d), h)
		return h
	})
	var status gitstellarv1alpha1.DeliveryStatus
	if s, ok := d.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(s, &status)
	}
	current := status.ObservedGeneration == d.GetGeneration()
	var observed map[string][sha256.Size]byte // the entries as the agent last saw them
	if !current {
		observed = c.history.digests(memo.ObjectName(d), memo.SpecVersionAt(d, status.ObservedGeneration))
	}
	out := make(map[string]*wecEntry, len(headers))
	for i, h := range headers {
		key := entryKey(h.Group, h.Namespace, h.Name)
		was, kept := observed[key]
		e := &wecEntry{wec: wec, kind: h.Kind, version: h.Version, current: current || (kept && was == h.digest)}
		if i < len(status.Entries) {
			se := &status.Entries[i]
			if se.Kind == h.Kind && se.Name == h.Name && se.Namespace == h.Namespace {
				e.status = se
				if se.ReturnedStatus != nil {
					e.returned = decodeReturned(se.ReturnedStatus.Raw)
					se.ReturnedStatus = nil // kept decoded only
				}
			}
		}
		out[key] = e
	}
	return out
}

// decodeReturned decodes a returned status as the API machinery decodes
// objects: whole numbers as int64 (CEL int), others as float64, so that a
// StatusCollector's `returned.status.replicas + 1` works as in KubeStellar.
// nil when it is not a JSON object.
func decodeReturned(raw []byte) map[string]any {
	var out map[string]any
	if utiljson.Unmarshal(raw, &out) != nil {
		return nil
	}
	return out
}

// entryHeader names the object of a Delivery entry, with a digest of
// the entry (object and flags).
type entryHeader struct {
	Group, Version, Kind, Namespace, Name string
	digest                                [sha256.Size]byte
}

// headersOf names the objects a Delivery carries, in order.
func headersOf(d *unstructured.Unstructured) []entryHeader {
	entries, _ := propagate.DeliveryEntries(d)
	out := make([]entryHeader, 0, len(entries))
	for _, e := range entries {
		var u unstructured.Unstructured
		_ = u.UnmarshalJSON(e.Object.Raw)
		gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
		flags := fmt.Sprintf("\x00%t%t%t%t", e.CreateOnly, e.Adopt, e.Orphan, e.ReturnStatus)
		out = append(out, entryHeader{Group: gv.Group, Version: gv.Version, Kind: u.GetKind(), Namespace: u.GetNamespace(), Name: u.GetName(),
			digest: sha256.Sum256(append(slices.Clip(e.Object.Raw), flags...))})
	}
	return out
}

// specHistory keeps, per Delivery, the entry digests of its last few
// generations, so that an entry the agent applied at an older generation
// and that did not change since counts as current: a Delivery written
// again for one changed object does not make every other object of it
// pending until the agent reports.
type specHistory struct {
	mu sync.Mutex
	// by Delivery (namespace/name), then memo.SpecVersion
	versions map[string][]specDigests
}

type specDigests struct {
	version string
	digests map[string][sha256.Size]byte // entryKey → digest
}

// specHistoryLength is how many generations of a Delivery are kept.
const specHistoryLength = 4

func (h *specHistory) record(delivery, version string, headers []entryHeader) {
	digests := make(map[string][sha256.Size]byte, len(headers))
	for _, e := range headers {
		digests[entryKey(e.Group, e.Namespace, e.Name)] = e.digest
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.versions == nil {
		h.versions = map[string][]specDigests{}
	}
	list := h.versions[delivery]
	if len(list) >= specHistoryLength {
		list = slices.Delete(list, 0, len(list)-specHistoryLength+1)
	}
	h.versions[delivery] = append(list, specDigests{version: version, digests: digests})
}

// digests are the entry digests of a Delivery at a version, nil when
// not kept.
func (h *specHistory) digests(delivery, version string) map[string][sha256.Size]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, v := range h.versions[delivery] {
		if v.version == version {
			return v.digests
		}
	}
	return nil
}

func (h *specHistory) forget(delivery string) {
	h.mu.Lock()
	delete(h.versions, delivery)
	h.mu.Unlock()
}

// object reads a WDS object, once per resourceVersion; nil when gone.
func (c *StatusController) object(ctx context.Context, ref objectRef, rv string) (*unstructured.Unstructured, error) {
	u, err := c.objects.GetErr(ref.String(), rv, func() (*unstructured.Unstructured, error) {
		r := c.wds.Resource(ref.GVR)
		if ref.Namespace != "" {
			return r.Namespace(ref.Namespace).Get(ctx, ref.Name, metav1.GetOptions{}) // this version, or a newer one
		}
		return r.Get(ctx, ref.Name, metav1.GetOptions{})
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return u, err
}

// writeReportedState writes a reported state into a WDS object and labels
// it, when it changed: into its status subresource, or into the object
// itself for a kind without one. The object's uid is a precondition of
// every write: an object deleted meanwhile is never created again.
func (c *StatusController) writeReportedState(ctx context.Context, target reportedObject, state reportedState) error {
	ref := target.ref
	raw, _ := json.Marshal(state.status)
	h := sha256.Sum256(append(raw, "\x00"+state.label+"\x00"+string(target.uid)...))
	hash := hex.EncodeToString(h[:8])
	c.mu.Lock()
	same := c.statusMemo[ref.String()] == hash
	c.mu.Unlock()
	if same {
		return nil
	}
	r := c.resource(ref)
	labels := map[string]any{state.label: "true"}
	labelled := reportedStateObject(target, labels, nil)
	if _, err := r.Apply(ctx, ref.Name, labelled, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("label %s: %w", ref, err)
	}
	_, err := r.ApplyStatus(ctx, ref.Name, reportedStateObject(target, nil, state.status), metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true})
	if apierrors.IsNotFound(err) {
		// The object is there (labelled just now): its kind has no status
		// subresource, the status is a field of the object.
		_, err = r.Apply(ctx, ref.Name, reportedStateObject(target, labels, state.status), metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true})
	}
	if err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("reported state of %s: %w", ref, err)
	}
	c.mu.Lock()
	c.statusMemo[ref.String()] = hash
	c.mu.Unlock()
	return nil
}

// clearReportedState takes back the label and status fields written into
// an object that no longer has a reported state.
func (c *StatusController) clearReportedState(ctx context.Context, written reportedObject) error {
	ref := written.ref
	c.mu.Lock()
	delete(c.statusMemo, ref.String())
	c.mu.Unlock()
	r := c.resource(ref)
	bare := reportedStateObject(written, nil, nil)
	if _, err := r.Apply(ctx, ref.Name, bare, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil {
		if gone(err) {
			return nil
		}
		return fmt.Errorf("unlabel %s: %w", ref, err)
	}
	if _, err := r.ApplyStatus(ctx, ref.Name, bare, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil && !apierrors.IsNotFound(err) && !gone(err) {
		return fmt.Errorf("clear the reported state of %s: %w", ref, err)
	}
	return nil
}

// reportedStateObject is what the report field manager applies to a WDS
// object: its labels and status (nil: none), its uid as precondition.
func reportedStateObject(target reportedObject, labels, status map[string]any) *unstructured.Unstructured {
	meta := map[string]any{"name": target.ref.Name, "uid": string(target.uid)}
	if target.ref.Namespace != "" {
		meta["namespace"] = target.ref.Namespace
	}
	if labels != nil {
		meta["labels"] = labels
	}
	obj := map[string]any{
		"apiVersion": schema.GroupVersion{Group: target.ref.GVR.Group, Version: target.ref.GVR.Version}.String(),
		"kind":       target.ref.Kind, "metadata": meta,
	}
	if status != nil {
		obj["status"] = status
	}
	return &unstructured.Unstructured{Object: obj}
}

// gone tells whether a write failed because its object is gone: not
// found, or found with another uid (deleted and made again).
func gone(err error) bool {
	return apierrors.IsNotFound(err) || apierrors.IsConflict(err)
}

func (c *StatusController) resource(ref objectRef) dynamic.ResourceInterface {
	if ref.Namespace != "" {
		return c.wds.Resource(ref.GVR).Namespace(ref.Namespace)
	}
	return c.wds.Resource(ref.GVR)
}

// writeCombined applies a CombinedStatus when its results changed.
func (c *StatusController) writeCombined(ctx context.Context, cs *controlv1alpha1.CombinedStatus) error {
	if cs.Labels == nil {
		cs.Labels = map[string]string{}
	}
	cs.Labels[gitstellarv1alpha1.LabelManagedBy] = gitstellarv1alpha1.ManagedByValue
	if o, ok, _ := c.combined.GetStore().GetByKey(cs.Namespace + "/" + cs.Name); ok {
		var have controlv1alpha1.CombinedStatus
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.(*unstructured.Unstructured).Object, &have); err == nil &&
			equalJSON(have.Results, cs.Results) && maps.Equal(have.Labels, cs.Labels) {
			return nil
		}
	}
	if cs.Namespace == controlv1alpha1.CombinedStatusNamespaceForClusterScoped {
		ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
			"metadata": map[string]any{"name": cs.Namespace, "labels": map[string]any{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}}}}
		if _, err := c.wds.Resource(namespacesGVR).Apply(ctx, cs.Namespace, ns, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil {
			return fmt.Errorf("namespace %s: %w", cs.Namespace, err)
		}
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(cs)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: m}
	u.SetManagedFields(nil)
	u.SetCreationTimestamp(metav1.Time{})
	delete(u.Object["metadata"].(map[string]any), "creationTimestamp")
	if _, err := c.wds.Resource(combinedStatusesGVR).Namespace(cs.Namespace).Apply(ctx, cs.Name, u, metav1.ApplyOptions{FieldManager: ReportFieldManager, Force: true}); err != nil {
		return fmt.Errorf("CombinedStatus %s/%s: %w", cs.Namespace, cs.Name, err)
	}
	return nil
}

func equalJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(x) == string(y)
}

// keptCombined are the CombinedStatuses one Binding's sync wrote, and the
// policy it is a part of.
type keptCombined struct {
	policy string
	names  map[string]bool // namespace/name
}

// pruneCombined deletes a policy's CombinedStatuses that none of the
// parts of its Binding wrote at its last sync, once each part in the WDS
// has been synced.
func (c *StatusController) pruneCombined(ctx context.Context, policy string) error {
	keep := map[string]bool{}
	c.mu.Lock()
	for _, kept := range c.combinedKept {
		if kept.policy == policy {
			maps.Copy(keep, kept.names)
		}
	}
	for _, o := range c.bindings.GetStore().List() {
		u, ok := o.(*unstructured.Unstructured)
		if _, synced := c.combinedKept[u.GetName()]; ok && !synced && bind.PolicyOfBinding(u) == policy {
			c.mu.Unlock()
			return nil // that part prunes when it is synced
		}
	}
	c.mu.Unlock()
	objs, _ := c.combined.GetIndexer().ByIndex("policy", policy)
	for _, o := range objs {
		u := o.(*unstructured.Unstructured)
		if keep[u.GetNamespace()+"/"+u.GetName()] {
			continue
		}
		err := c.wds.Resource(combinedStatusesGVR).Namespace(u.GetNamespace()).Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete CombinedStatus %s/%s: %w", u.GetNamespace(), u.GetName(), err)
		}
	}
	return nil
}

// Version changes whenever Summary may: a Binding reported again or gone.
func (c *StatusController) Version() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Summary is the WDS's part of the status branch: every policy and every
// bound object in every WEC, as last seen.
func (c *StatusController) Summary() SpaceSummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := SpaceSummary{Name: c.opts.WDS}
	objects := map[string]*ObjectSummary{}
	policies := map[string]*PolicySummary{} // the parts of a policy's Binding make one
	for _, name := range slices.Sorted(maps.Keys(c.summaries)) {
		b := c.summaries[name]
		if p, ok := policies[b.policy.Name]; ok {
			p.Objects = append(p.Objects, b.policy.Objects...)
			p.Errors = appendAll(p.Errors, b.policy.Errors)
		} else {
			cp := b.policy
			cp.Objects = slices.Clone(b.policy.Objects)
			cp.Errors = slices.Clone(b.policy.Errors)
			policies[b.policy.Name] = &cp
		}
		for key, o := range b.objects {
			have, ok := objects[key]
			if !ok {
				cp := *o
				cp.Policies = slices.Clone(o.Policies)
				cp.WECs = slices.Clone(o.WECs)
				cp.Combined = slices.Clone(o.Combined)
				objects[key] = &cp
				continue
			}
			have.Policies = append(have.Policies, o.Policies...)
			have.Combined = append(have.Combined, o.Combined...)
			for _, w := range o.WECs {
				if !slices.ContainsFunc(have.WECs, func(x WECObjectStatus) bool { return x.WEC == w.WEC }) {
					have.WECs = append(have.WECs, w)
				}
			}
			have.Redact = appendAll(have.Redact, o.Redact)
			if have.Kind == "" || (have.Kind != o.Kind && o.Kind != "" && strings.ToLower(have.Kind) == have.Kind) {
				have.Kind = o.Kind
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(policies)) {
		p := policies[name]
		slices.Sort(p.Objects)
		p.Objects = slices.Compact(p.Objects)
		out.Policies = append(out.Policies, *p)
	}
	for _, key := range slices.Sorted(maps.Keys(objects)) {
		o := objects[key]
		slices.Sort(o.Policies)
		o.Policies = slices.Compact(o.Policies)
		slices.SortFunc(o.WECs, func(a, b WECObjectStatus) int { return strings.Compare(a.WEC, b.WEC) })
		out.Objects = append(out.Objects, *o)
	}
	return out
}

func appendAll(list, more []string) []string {
	for _, s := range more {
		list = appendOnce(list, s)
	}
	return list
}
