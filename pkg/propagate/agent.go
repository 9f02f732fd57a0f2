package propagate

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	kstatus "github.com/fluxcd/cli-utils/pkg/kstatus/status"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/events"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/memo"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// AgentOptions configures an Agent.
type AgentOptions struct {
	// Cluster is the WEC's name: the agent reads mailbox-<Cluster>.
	Cluster              string
	ITSConfig, WECConfig *rest.Config
	// Resync is how often the entries not applied yet (conflicts, errors)
	// are tried again, and the applied objects of kinds the agent cannot
	// watch are read again and, if they changed in the WEC since they were
	// last seen, applied again (drift); default 30s. Watched objects are
	// corrected as soon as they change.
	Resync time.Duration
	// InventoryNamespace is the WEC namespace of the agent's inventory
	// ConfigMap; default gitstellar-system, which the agent creates. Any
	// other namespace must exist (an agent limited to some namespaces keeps
	// its inventory in one of them).
	InventoryNamespace string
	// Heartbeat is how often the agent beats; default 10s.
	Heartbeat time.Duration
	// LocalHeartbeats, when set (an agent run by the controller), carries
	// the beats to the ClusterMonitor of this process instead of a Lease in
	// the mailbox.
	LocalHeartbeats *LocalHeartbeats
	// ITSCache shares the ITS's informers with the other components of the
	// process (an agent run by the controller); nil: the agent watches its
	// mailbox alone.
	ITSCache *spacecache.Cache
	Log      logr.Logger
}

// Agent applies the Deliveries of one WEC's mailbox into the WEC, keeps an
// inventory of what it created there, deletes what leaves the mailbox, and
// reports each object's result back into the Deliveries' status.
type Agent struct {
	opts       AgentOptions
	its        dynamic.Interface
	wec        client.Client
	discovery  discovery.CachedDiscoveryInterface // the WEC's, for bystanders
	deliveries cache.SharedIndexInformer          // the mailbox's, or the ITS's (ITSCache)
	caches     spacecache.Caches
	trigger    chan struct{}
	target     *apply.Target                                     // the WEC, applied to through the one apply engine
	events     *events.Emitter                                   // about its Deliveries, in its mailbox
	specs      memo.ByVersion[*parsedSpec]                       // per Delivery, its spec decoded
	statuses   memo.ByVersion[gitstellarv1alpha1.DeliveryStatus] // per Delivery, its status decoded

	mu        sync.Mutex
	results   entryResults
	kept      map[string]bool // objects in no Delivery, not removed: said once
	unhealthy bool            // some applied object of a kind not watched is not healthy (kstatus Current) yet
	// statusWritten: Delivery (namespace/name) → the status last written.
	statusWritten map[string]writtenStatus
	// restatus: watched objects of which only the status changed since
	// the last reconcile (a controller in the WEC); each is read again.
	// (Other changes by someone else make the target apply the object
	// again: it is no longer as verified.)
	restatus map[string]bool
	wecError string // why the WEC could not be read at the last reconcile
}

// healthRecheck is how often the health of applied objects that are not
// healthy yet is read again (the others: at every resync).
const healthRecheck = 2 * time.Second

// InventoryName is the agent's inventory ConfigMap in the WEC, by default
// in namespace DefaultInventoryNamespace.
const (
	InventoryName             = "agent-inventory"
	DefaultInventoryNamespace = "gitstellar-system"
)

// NewAgent prepares an agent; Run starts it.
func NewAgent(opts AgentOptions) (*Agent, error) {
	if opts.Resync <= 0 {
		opts.Resync = 30 * time.Second
	}
	if opts.InventoryNamespace == "" {
		opts.InventoryNamespace = DefaultInventoryNamespace
	}
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = 10 * time.Second
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	itsCfg, wecCfg := spaces.Rated(opts.ITSConfig), spaces.Rated(opts.WECConfig)
	its, err := dynamic.NewForConfig(itsCfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(wecCfg)
	if err != nil {
		return nil, fmt.Errorf("WEC %s: %w", opts.Cluster, err)
	}
	a := &Agent{opts: opts, its: its, discovery: memory.NewMemCacheClient(disc), trigger: make(chan struct{}, 1),
		results: entryResults{}, restatus: map[string]bool{}, statusWritten: map[string]writtenStatus{}}
	a.target, err = apply.NewTarget(wecCfg, apply.TargetOptions{Name: "WEC " + opts.Cluster, Applier: "the agent",
		FieldManager: gitstellarv1alpha1.AgentFieldManager, LabelKey: gitstellarv1alpha1.LabelAgent, LabelValue: opts.Cluster,
		Exclusive: true, Annotations: apply.OwnerAnnotations, Changed: a.changedInWEC, WithStatus: carriesStatus, Log: opts.Log})
	if err != nil {
		return nil, err
	}
	a.wec = a.target.Client()
	a.events, err = events.NewEmitter(itsCfg, "gitstellar.io/agent")
	if err != nil {
		return nil, err
	}
	if opts.ITSCache != nil {
		a.deliveries, err = DeliveriesInformer(opts.ITSCache)
	} else { // its mailbox only: an agent in a WEC may read no other namespace
		a.deliveries, err = a.caches.Use(nil, its).Informer(Deliveries, spacecache.Filter{Namespace: gitstellarv1alpha1.MailboxNamespace(opts.Cluster)}, nil)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

func (a *Agent) kick() {
	select {
	case a.trigger <- struct{}{}:
	default:
	}
}

// Run applies until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	_, err := spacecache.Handle(ctx, a.deliveries, InNamespace(gitstellarv1alpha1.MailboxNamespace(a.opts.Cluster), cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { a.kick() },
		UpdateFunc: func(old, o any) { a.kickOnSpec(old, o) },
		DeleteFunc: func(o any) {
			if u, ok := keyqueue.Unstructured(o); ok {
				a.specs.Forget(memo.ObjectName(u))
				a.statuses.Forget(memo.ObjectName(u))
				a.mu.Lock()
				delete(a.statusWritten, memo.ObjectName(u))
				a.mu.Unlock()
			}
			a.kick()
		},
	}))
	if err != nil {
		return err
	}
	a.target.Watch(ctx)
	a.caches.Start(ctx)
	if a.opts.LocalHeartbeats != nil {
		a.opts.LocalHeartbeats.register(a.opts.Cluster, a.beatDuration())
	}
	go a.heartbeat(ctx)
	tick := time.NewTicker(a.opts.Resync)
	defer tick.Stop()
	full := true
	for {
		if !a.deliveries.HasSynced() { // the mailbox not read yet: touch nothing
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(100 * time.Millisecond):
			}
			continue
		}
		if err := a.reconcile(ctx, full); err != nil && ctx.Err() == nil {
			a.opts.Log.Error(err, "agent", "cluster", a.opts.Cluster)
			time.AfterFunc(2*time.Second, a.kick)
		}
		full = false
		var recheck <-chan time.Time // objects not healthy yet: look again soon
		a.mu.Lock()
		if a.unhealthy {
			recheck = time.After(healthRecheck)
		}
		a.mu.Unlock()
		select {
		case <-ctx.Done():
			return nil
		case <-a.trigger:
		case <-recheck:
		case <-tick.C:
			full = true
		}
	}
}

// changedInWEC is told of a change to a watched WEC object: unless it is
// the agent's own write, the object is applied again. The agent watches
// the objects it applied (labelwatch, by its LabelAgent) instead of
// reading them again on a timer: another resourceVersion than the one its
// apply returned marks the object for the next reconcile, which applies it
// again, so that drift is corrected, a deleted object is recreated, and
// the apply's response carries the object's new health and status. A kind
// the agent may not watch across the WEC (an agent limited to some
// namespaces) is read again at every resync instead.
func (a *Agent) changedInWEC(gvk schema.GroupVersionKind, namespace, name, resourceVersion string, statusOnly bool) {
	if a.target.Applied(gvk, namespace, name, resourceVersion) {
		return // its own apply
	}
	if statusOnly {
		a.mu.Lock()
		a.restatus[keyOf(gvk, namespace, name)] = true // its health or returned status: read, not applied again
		a.mu.Unlock()
	}
	a.kick()
}

// kickOnSpec ignores the agent's own status writes.
func (a *Agent) kickOnSpec(old, o any) {
	x, ok1 := old.(*unstructured.Unstructured)
	y, ok2 := o.(*unstructured.Unstructured)
	if ok1 && ok2 && x.GetGeneration() == y.GetGeneration() {
		return
	}
	a.kick()
}

// mailbox lists the Deliveries of the agent's mailbox.
func (a *Agent) mailbox() []any {
	list, _ := a.deliveries.GetIndexer().ByIndex(cache.NamespaceIndex, gitstellarv1alpha1.MailboxNamespace(a.opts.Cluster))
	return list
}

// wanted is one entry to hold in the WEC.
type wanted struct {
	delivery *unstructured.Unstructured
	index    int
	entry    gitstellarv1alpha1.DeliveryEntry // its flags; its object is in source
	source   *entrySource
	object   *objectID
	hash     [32]byte
}

// decode reads the entry's object from its Delivery.
func (w wanted) decode() (*unstructured.Unstructured, error) {
	raw, err := w.source.object(w.index)
	if err != nil { // read once by parseSpec: not expected
		return nil, fmt.Errorf("the Delivery's entries cannot be read: %w", err)
	}
	obj := &unstructured.Unstructured{}
	if err := obj.UnmarshalJSON(raw); err != nil { // decoded once by parseSpec: not expected
		return nil, fmt.Errorf("the entry's object does not decode: %w", err)
	}
	return obj, nil
}

func objectKey(u *unstructured.Unstructured) string {
	return keyOf(u.GroupVersionKind(), u.GetNamespace(), u.GetName())
}

// keyOf is the agent's key of an object: group/kind/namespace/name.
func keyOf(gvk schema.GroupVersionKind, namespace, name string) string {
	return apply.ObjectID{GVK: gvk, Namespace: namespace, Name: name}.String()
}

// reconcile makes the WEC hold the mailbox's entries. full re-applies
// entries applied before, correcting drift.
func (a *Agent) reconcile(ctx context.Context, full bool) error {
	var (
		desired   []wanted
		dup       = map[int]map[int]string{} // delivery index → entry → the other source
		contested = map[string][]string{}    // object key → other WDSes' sources it was refused to
	)
	list := a.mailbox()
	slices.SortFunc(list, func(x, y any) int {
		ux, uy := x.(*unstructured.Unstructured), y.(*unstructured.Unstructured)
		if c := ux.GetCreationTimestamp().Compare(uy.GetCreationTimestamp().Time); c != 0 {
			return c
		}
		return strings.Compare(ux.GetName(), uy.GetName())
	})
	seen := map[string]string{}                          // object key → first Delivery's source
	removed := map[string]bool{}                         // object keys the hub removed (DeliverySpec.Removed)
	removedBy := map[string]*unstructured.Unstructured{} // object key → the part 0 listing its removal
	parsed := make([]parsedDelivery, 0, len(list))
	for di, o := range list {
		d := o.(*unstructured.Unstructured)
		ps := a.specs.Get(memo.ObjectName(d), memo.SpecVersion(d), func() *parsedSpec {
			ps := parseSpec(d)
			if ps.err != nil {
				a.opts.Log.Error(ps.err, "Delivery not readable: nothing of it is applied", "cluster", a.opts.Cluster, "delivery", d.GetName())
			}
			return ps
		})
		pd := parsedDelivery{delivery: d, objects: ps.objects, err: ps.err}
		acknowledged, _, _ := unstructured.NestedInt64(d.Object, "status", "observedGeneration")
		for _, r := range ps.spec.Removed {
			if ps.spec.Part == 0 && r.Generation > acknowledged { // not acted on yet
				removed[r.Key()] = true
				removedBy[r.Key()] = d
				pd.removals = true
			}
		}
		parsed = append(parsed, pd)
		source := ps.spec.Source.WDS + "/" + ps.spec.Source.Binding
		objects := &entrySource{delivery: d}
		for ei, e := range ps.spec.Entries {
			obj := ps.objects[ei]
			if obj == nil {
				continue
			}
			key := obj.key
			if first, ok := seen[key]; ok && !strings.HasPrefix(first, ps.spec.Source.WDS+"/") {
				if dup[di] == nil {
					dup[di] = map[int]string{}
				}
				dup[di][ei] = first
				if !slices.Contains(contested[key], source) {
					contested[key] = append(contested[key], source)
				}
				continue
			}
			if _, ok := seen[key]; ok {
				continue // the same WDS delivers it twice (two policies): one apply
			}
			seen[key] = source
			desired = append(desired, wanted{delivery: d, index: ei, entry: e, source: objects, object: obj, hash: ps.hashes[ei]})
		}
	}
	// Reading the inventory also tells whether the WEC can be reached.
	inv, err := a.loadInventory(ctx)
	a.mu.Lock()
	a.wecError = ""
	if err != nil {
		a.wecError = err.Error()
	}
	a.mu.Unlock()
	reachable := 1.0
	if err != nil {
		reachable = 0
	}
	metrics.AgentWECReachable.WithLabelValues(a.opts.Cluster).Set(reachable)
	if err != nil {
		// The WEC cannot be read: change nothing, say so in every entry.
		unreachable := entryResults{}
		for _, w := range desired {
			gvk := w.object.GroupVersionKind()
			unreachable[w.object.key] = &gitstellarv1alpha1.DeliveryEntryStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind,
				Namespace: w.object.GetNamespace(), Name: w.object.GetName(), Result: gitstellarv1alpha1.DeliveryError,
				Message: "the WEC cannot be reached: " + err.Error()}
		}
		a.target.Forget(nil, "", "") // apply everything again once it is back
		rep := report{results: unreachable, dup: dup, contested: contested, unreachable: "the WEC cannot be reached: " + err.Error()}
		if serr := a.writeStatuses(ctx, parsed, rep, nil); serr != nil {
			a.opts.Log.Error(serr, "agent status", "cluster", a.opts.Cluster)
		}
		return err
	}
	results := entryResults{}
	var resultsMu sync.Mutex
	watchedKeys := map[string]bool{} // entries whose kind is watched
	a.mu.Lock()
	restatus := a.restatus
	a.restatus = map[string]bool{}
	a.mu.Unlock()
	set := make([]apply.Desired, len(desired))
	for i, w := range desired {
		_, ours := inv.has(w.object.key)
		set[i] = apply.Desired{ID: apply.ObjectID{GVK: w.object.gvk, Namespace: w.object.namespace, Name: w.object.name},
			Decode: w.decode, Sum: w.hash, CreateOnly: w.entry.CreateOnly, Adopt: w.entry.Adopt, AdoptUnmanaged: w.entry.AdoptUnmanaged, Ours: ours, Live: true}
	}
	// done turns the outcome of applying an entry into its status.
	done := func(i int, e apply.Entry) {
		w := desired[i]
		_, watched := a.target.Watched(w.object.gvk, w.object.namespace, w.object.name)
		res := a.entryStatus(ctx, w, e, restatus[w.object.key], watched)
		switch e.Action {
		case apply.Created, apply.Configured:
			metrics.AgentApplies.WithLabelValues(a.opts.Cluster).Inc()
		case apply.Conflict, apply.Failed:
			metrics.AgentApplyErrors.WithLabelValues(a.opts.Cluster).Inc()
		}
		if res.Result == gitstellarv1alpha1.DeliveryApplied {
			item := apply.EntryFor(w.object.gvk, w.object.namespace, w.object.name)
			item.Orphan = w.entry.Orphan
			inv.put(w.object.key, item)
		}
		resultsMu.Lock()
		results[w.object.key] = &res
		if watched {
			watchedKeys[w.object.key] = true
		}
		resultsMu.Unlock()
	}
	// Each Delivery's status is written as soon as all its entries are
	// applied (in batches, every statusBatch), not at the end of the pass.
	written := make([]bool, len(parsed))
	flushCtx, stopFlush := context.WithCancel(ctx)
	flushed := make(chan struct{})
	go func() {
		defer close(flushed)
		tick := time.NewTicker(statusBatch)
		defer tick.Stop()
		for {
			select {
			case <-flushCtx.Done():
				return
			case <-tick.C:
			}
			resultsMu.Lock()
			snapshot := maps.Clone(results)
			resultsMu.Unlock()
			now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
			for di, pd := range parsed {
				if written[di] || pd.removals || !complete(pd, snapshot, dup[di]) {
					continue
				}
				if err := a.writeStatus(ctx, di, pd, report{results: snapshot, dup: dup, contested: contested}, now); err == nil {
					written[di] = true
				}
			}
		}
	}()
	a.target.ApplySet(ctx, set, apply.SetOptions{Recheck: full}, done)
	stopFlush()
	<-flushed
	// What the hub removed: delete what this agent created. An object that
	// is only missing from the mailbox stays (DeliverySpec.Removed).
	want := map[string]bool{}
	for _, w := range desired {
		want[w.object.key] = true
	}
	for key, item := range inv.objects {
		if want[key] {
			continue
		}
		if !removed[key] {
			a.keep(key, "in no Delivery, but not removed by the hub")
			continue
		}
		k, _ := item.Key()
		if item.Orphan {
			gvk := item.GVK()
			a.target.Forget(&gvk, k.Namespace, k.Name) // left in the WEC, no longer the agent's
		} else {
			if others := a.bystanders(ctx, item, inv, func(other string) bool { return removed[other] && !want[other] }); len(others) > 0 {
				why := "the hub removed this Namespace, but it holds objects the agent did not deliver (annotate it gitstellar.io/deletion: with-contents to delete it anyway)"
				a.keep(key, why, "bystanders", strings.Join(others, ", "))
				a.events.Emit(ctx, deliveryRef(removedBy[key]), events.Warning, "Kept", fmt.Sprintf("Namespace %s kept in WEC %s: %s; it holds %s", k.Name, a.opts.Cluster, why, strings.Join(others, ", ")))
				continue
			}
			if err := a.deleteObject(ctx, item); err != nil {
				return err
			}
			a.opts.Log.Info("deleted: the hub removed it", "cluster", a.opts.Cluster, "object", key)
			metrics.AgentDeletions.WithLabelValues(a.opts.Cluster).Inc()
			a.events.Emit(ctx, deliveryRef(removedBy[key]), events.Normal, "Deleted",
				fmt.Sprintf("%s %s deleted from WEC %s: the hub removed it", k.Kind, path.Join(k.Namespace, k.Name), a.opts.Cluster))
		}
		inv.remove(key)
	}
	if err := a.saveInventory(ctx, inv); err != nil {
		return err
	}
	unhealthy, conflicts := false, 0
	for _, r := range results {
		if r.Result == gitstellarv1alpha1.DeliveryConflict {
			conflicts++
		}
	}
	for _, byDelivery := range dup {
		conflicts += len(byDelivery)
	}
	metrics.AgentConflicts.WithLabelValues(a.opts.Cluster).Set(float64(conflicts))
	for key, r := range results {
		unhealthy = unhealthy || (!watchedKeys[key] && r.Result == gitstellarv1alpha1.DeliveryApplied && r.Health != kstatus.CurrentStatus.String())
	}
	a.mu.Lock()
	a.results, a.unhealthy = results, unhealthy
	a.mu.Unlock()
	return a.writeStatuses(ctx, parsed, report{results: results, dup: dup, contested: contested}, written)
}

// entryStatus is an entry's status from the outcome of applying it: the
// object's health and returned status come with the object written or
// read; an object found as verified, with nothing read, keeps what was
// known of it, read again when its status can have changed (its watch saw
// a status write, or its kind is not watched and it is not healthy or its
// status is returned).
func (a *Agent) entryStatus(ctx context.Context, w wanted, e apply.Entry, restatus, watched bool) gitstellarv1alpha1.DeliveryEntryStatus {
	st := gitstellarv1alpha1.DeliveryEntryStatus{Group: w.object.gvk.Group, Version: w.object.gvk.Version, Kind: w.object.gvk.Kind,
		Namespace: w.object.namespace, Name: w.object.name, Result: gitstellarv1alpha1.DeliveryApplied, ResourceVersion: e.ResourceVersion}
	switch e.Action {
	case apply.Conflict:
		st.Result, st.ConflictManager, st.Message = gitstellarv1alpha1.DeliveryConflict, strings.Join(e.Managers, ", "), e.Message
		return st
	case apply.Failed:
		st.Result, st.Message = gitstellarv1alpha1.DeliveryError, e.Message
		return st
	}
	if e.Live != nil {
		return a.withStatus(w, st, e.Live)
	}
	a.mu.Lock()
	prev := a.results[w.object.key]
	a.mu.Unlock()
	switch {
	case prev == nil || prev.Result != gitstellarv1alpha1.DeliveryApplied:
		return a.readStatus(ctx, w, st)
	case restatus || !watched && (w.entry.ReturnStatus || prev.Health != kstatus.CurrentStatus.String()):
		return a.readStatus(ctx, w, *prev)
	}
	return *prev
}

// withStatus completes an entry's status from the live WEC object: its
// health, and its .status when the entry asks for it.
func (a *Agent) withStatus(w wanted, st gitstellarv1alpha1.DeliveryEntryStatus, live *unstructured.Unstructured) gitstellarv1alpha1.DeliveryEntryStatus {
	st.Health, st.HealthMessage = health(live)
	st.ReturnedStatus = nil
	if w.entry.ReturnStatus {
		if s, ok := live.Object["status"]; ok {
			if raw, err := json.Marshal(s); err == nil {
				st.ReturnedStatus = &runtime.RawExtension{Raw: raw}
			}
		}
	}
	return st
}

// health is the kstatus of a WEC object.
func health(live *unstructured.Unstructured) (string, string) {
	res, err := kstatus.Compute(live)
	if err != nil {
		return kstatus.UnknownStatus.String(), err.Error()
	}
	if res.Status == kstatus.CurrentStatus {
		return res.Status.String(), ""
	}
	return res.Status.String(), res.Message
}

// readStatus tells an entry's health and returned status from its object
// as the watch holds it, or, when its kind is not watched or the watch
// does not show it, as read from the WEC (the previous ones when it
// cannot be read).
func (a *Agent) readStatus(ctx context.Context, w wanted, prev gitstellarv1alpha1.DeliveryEntryStatus) gitstellarv1alpha1.DeliveryEntryStatus {
	live, _ := a.target.Observed(w.object.gvk, w.object.namespace, w.object.name)
	if live == nil {
		live = &unstructured.Unstructured{}
		live.SetGroupVersionKind(w.object.GroupVersionKind())
		if err := a.wec.Get(ctx, w.object.clientKey(), live); err != nil {
			return prev
		}
	}
	prev.ResourceVersion = live.GetResourceVersion()
	return a.withStatus(w, prev, live)
}

// statusless are the kinds that carry no status: the agent watches them
// by metadata alone, which is all their health (always Current) is
// computed from. It watches every other kind with its status.
var statusless = map[schema.GroupKind]bool{
	{Kind: "ConfigMap"}: true, {Kind: "Secret"}: true, {Kind: "ServiceAccount"}: true, {Kind: "Endpoints"}: true, {Kind: "LimitRange"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "Role"}: true, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRole"}: true,
	{Group: "rbac.authorization.k8s.io", Kind: "RoleBinding"}: true, {Group: "rbac.authorization.k8s.io", Kind: "ClusterRoleBinding"}: true,
	{Group: "discovery.k8s.io", Kind: "EndpointSlice"}: true, {Group: "scheduling.k8s.io", Kind: "PriorityClass"}: true,
	{Group: "storage.k8s.io", Kind: "StorageClass"}:                                 true,
	{Group: "admissionregistration.k8s.io", Kind: "ValidatingWebhookConfiguration"}: true,
	{Group: "admissionregistration.k8s.io", Kind: "MutatingWebhookConfiguration"}:   true,
}

// carriesStatus tells whether the agent watches a kind with its status.
func carriesStatus(gvk schema.GroupVersionKind) bool { return !statusless[gvk.GroupKind()] }

// keep logs, once per object, why an object this agent created stays in
// the WEC although no Delivery holds it.
func (a *Agent) keep(key, why string, keysAndValues ...any) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.kept == nil {
		a.kept = map[string]bool{}
	}
	if !a.kept[key] {
		a.kept[key] = true
		a.opts.Log.Info("kept: "+why, append([]any{"cluster", a.opts.Cluster, "object", key}, keysAndValues...)...)
	}
}

func (a *Agent) deleteObject(ctx context.Context, item apply.InventoryEntry) error {
	k, _ := item.Key()
	return a.target.Delete(ctx, item.GVK(), k.Namespace, k.Name)
}

// parsedSpec is a Delivery's spec with its entries' objects decoded (nil
// where an entry does not decode), their keys and the hashes of the
// entries.
type parsedSpec struct {
	err  error // the entries could not be read
	spec gitstellarv1alpha1.DeliverySpec
	// objects are the identities of the entries' objects (nil where one
	// does not decode). The entries keep their flags, not their objects:
	// an apply reads the object from the Delivery's payload again
	// (entrySource), which takes far less memory than keeping every
	// entry's JSON, let alone the decoded objects.
	objects []*objectID
	hashes  [][32]byte
}

// objectID is what the agent keeps of a delivered object between passes:
// its group, version, kind, namespace and name, and their key (objectKey).
type objectID struct {
	gvk             schema.GroupVersionKind
	namespace, name string
	key             string
}

// decodeObjectID reads an object's identity from its JSON; nil when the
// JSON is not an object of a kind.
func decodeObjectID(raw []byte) *objectID {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Namespace string `json:"namespace"`
			Name      string `json:"name"`
		} `json:"metadata"`
	}
	if err := json.Unmarshal(raw, &head); err != nil || head.Kind == "" {
		return nil
	}
	id := &objectID{gvk: schema.FromAPIVersionAndKind(head.APIVersion, head.Kind), namespace: head.Metadata.Namespace, name: head.Metadata.Name}
	id.key = keyOf(id.gvk, id.namespace, id.name)
	return id
}

func (o *objectID) GroupVersionKind() schema.GroupVersionKind { return o.gvk }
func (o *objectID) GetKind() string                           { return o.gvk.Kind }
func (o *objectID) GetNamespace() string                      { return o.namespace }
func (o *objectID) GetName() string                           { return o.name }

// clientKey is the object's key for a controller-runtime client.
func (o *objectID) clientKey() client.ObjectKey {
	return client.ObjectKey{Namespace: o.namespace, Name: o.name}
}

func parseSpec(d *unstructured.Unstructured) *parsedSpec {
	ps := &parsedSpec{}
	if spec, ok := d.Object["spec"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(spec, &ps.spec)
	}
	entries, err := SpecEntries(&ps.spec)
	if err != nil {
		ps.err = err // applies nothing of it, deletes nothing
	}
	ps.spec.Entries, ps.spec.Payload = entries, nil
	n := len(ps.spec.Entries)
	ps.objects, ps.hashes = make([]*objectID, n), make([][32]byte, n)
	for i, e := range ps.spec.Entries {
		ps.spec.Entries[i].Object.Raw = nil // read again from the payload to apply (entrySource)
		if ps.objects[i] = decodeObjectID(e.Object.Raw); ps.objects[i] == nil {
			continue
		}
		ps.hashes[i] = sha256.Sum256(append(e.Object.Raw, fmt.Sprintf("%t%t%t%t%t", e.CreateOnly, e.Adopt, e.AdoptUnmanaged, e.ReturnStatus, e.Orphan)...))
	}
	return ps
}

// entrySource reads the objects of one Delivery's entries for the applies
// of one pass: its payload is decoded at the first apply that needs it,
// and dropped with the pass.
type entrySource struct {
	delivery *unstructured.Unstructured
	once     sync.Once
	entries  []gitstellarv1alpha1.DeliveryEntry
	err      error
}

// object is the JSON of entry i's object.
func (s *entrySource) object(i int) ([]byte, error) {
	s.once.Do(func() { s.entries, s.err = DeliveryEntries(s.delivery) })
	switch {
	case s.err != nil:
		return nil, s.err
	case i >= len(s.entries):
		return nil, fmt.Errorf("entry %d of %d", i, len(s.entries))
	}
	return s.entries[i].Object.Raw, nil
}

// objectIdentity is an object reduced to its apiVersion, kind, namespace and
// name.
func objectIdentity(obj *unstructured.Unstructured) *unstructured.Unstructured {
	id := &unstructured.Unstructured{Object: map[string]any{}}
	id.SetAPIVersion(obj.GetAPIVersion())
	id.SetKind(obj.GetKind())
	id.SetNamespace(obj.GetNamespace())
	id.SetName(obj.GetName())
	return id
}

// parsedDelivery is a Delivery of the mailbox with its entries' objects
// decoded once (nil where an entry does not decode).
type parsedDelivery struct {
	delivery *unstructured.Unstructured
	objects  []*objectID
	// removals: it lists removals not acknowledged yet, which its status
	// acknowledges only once they are done.
	removals bool
	err      error // its entries could not be read
}

// entryResults are the outcomes of a pass, by object key. The statuses
// are not changed once in the map: the status flush of a running pass
// copies the map many times a second, and copies only pointers.
type entryResults map[string]*gitstellarv1alpha1.DeliveryEntryStatus

// report is what one reconcile found, for the Deliveries' status.
type report struct {
	results entryResults
	// dup: delivery index → entry index → the source that keeps the object
	// (another WDS delivered it first).
	dup map[int]map[int]string
	// contested: object key → the sources of other WDSes refused the object.
	contested map[string][]string
	// unreachable, when set, says why the WEC could not be reached.
	unreachable string
}

// statusBatch is how often, during a pass, the agent writes the status of
// the Deliveries whose entries have all been applied.
const statusBatch = 250 * time.Millisecond

// complete tells whether every entry of a Delivery has a result.
func complete(pd parsedDelivery, results entryResults, dup map[int]string) bool {
	for ei, obj := range pd.objects {
		if obj == nil {
			continue
		}
		if _, isDup := dup[ei]; isDup {
			continue
		}
		if _, ok := results[obj.key]; !ok {
			return false
		}
	}
	return true
}

// writeStatuses reports each Delivery's results, when they changed.
// Deliveries written already in this pass (written) are not written again.
func (a *Agent) writeStatuses(ctx context.Context, parsed []parsedDelivery, rep report, written []bool) error {
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for di, pd := range parsed {
		if written != nil && written[di] {
			continue
		}
		if err := a.writeStatus(ctx, di, pd, rep, now); err != nil {
			return err
		}
	}
	return nil
}

// writeStatus reports one Delivery's results, when they changed.
func (a *Agent) writeStatus(ctx context.Context, di int, pd parsedDelivery, rep report, now metav1.Time) error {
	d := pd.delivery
	current := a.statuses.Get(memo.ObjectName(d), d.GetResourceVersion(), func() gitstellarv1alpha1.DeliveryStatus {
		var current gitstellarv1alpha1.DeliveryStatus
		if s, ok := d.Object["status"].(map[string]any); ok {
			_ = runtime.DefaultUnstructuredConverter.FromUnstructured(s, &current)
		}
		return current
	})
	status := gitstellarv1alpha1.DeliveryStatus{ObservedGeneration: d.GetGeneration()}
	if rep.unreachable != "" {
		// Nothing was applied or deleted: acknowledge nothing new.
		status.ObservedGeneration = current.ObservedGeneration
	}
	applied := true
	for ei, obj := range pd.objects {
		if obj == nil {
			obj = &objectID{}
		}
		key := obj.key
		var st gitstellarv1alpha1.DeliveryEntryStatus
		r, ok := rep.results[key]
		if ok {
			st = *r
		}
		if ok && len(rep.contested[key]) > 0 {
			st.ContestedBy = slices.Sorted(slices.Values(rep.contested[key]))
		}
		if other, isDup := rep.dup[di][ei]; isDup {
			gvk := obj.GroupVersionKind()
			st = gitstellarv1alpha1.DeliveryEntryStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName(),
				Result: gitstellarv1alpha1.DeliveryConflict, ConflictManager: other,
				Message: "another WDS (" + other + ") delivers this object to the WEC; the first writer keeps it"}
			ok = true
		}
		if !ok {
			gvk := obj.GroupVersionKind()
			st = gitstellarv1alpha1.DeliveryEntryStatus{Group: gvk.Group, Version: gvk.Version, Kind: gvk.Kind, Namespace: obj.GetNamespace(), Name: obj.GetName(), Result: gitstellarv1alpha1.DeliveryPending}
		}
		if ei < len(current.Entries) && sameEntryStatus(current.Entries[ei], st) {
			st.LastUpdateTime = current.Entries[ei].LastUpdateTime
		} else {
			st.LastUpdateTime = &now
		}
		applied = applied && st.Result == gitstellarv1alpha1.DeliveryApplied
		status.Entries = append(status.Entries, st)
	}
	condStatus, reason, message := metav1.ConditionTrue, gitstellarv1alpha1.ReasonApplied, ""
	if pd.err != nil {
		applied, message = false, "the Delivery cannot be read: "+pd.err.Error()
	}
	if !applied {
		condStatus, reason = metav1.ConditionFalse, gitstellarv1alpha1.ReasonNotApplied
	}
	if rep.unreachable != "" {
		condStatus, reason, message = metav1.ConditionFalse, gitstellarv1alpha1.ReasonUnreachable, rep.unreachable
	}
	cond := metav1.Condition{Type: "Applied", Status: condStatus, Reason: reason, Message: message, ObservedGeneration: d.GetGeneration(), LastTransitionTime: now}
	old := meta.FindStatusCondition(current.Conditions, "Applied")
	if old != nil && old.Status == condStatus {
		cond.LastTransitionTime = old.LastTransitionTime
	}
	if condStatus == metav1.ConditionTrue && (old == nil || old.Status != metav1.ConditionTrue || old.ObservedGeneration != d.GetGeneration()) {
		a.observeLatency(d)
	}
	status.Conditions = []metav1.Condition{cond}
	a.reportProblems(ctx, d, status, rep.unreachable)
	if apiequality.Semantic.DeepEqual(current, status) {
		return nil
	}
	// The informer may not show the agent's last write yet: the same
	// status, timestamps aside, for the same generation is not written
	// again.
	sum := statusSum(status)
	a.mu.Lock()
	last, ok := a.statusWritten[memo.ObjectName(d)]
	a.mu.Unlock()
	if ok && last.generation == d.GetGeneration() && last.uid == string(d.GetUID()) && last.sum == sum {
		return nil
	}
	statusMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&status)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gitstellarv1alpha1.GroupVersion.String(), "kind": "Delivery",
		"metadata": map[string]any{"name": d.GetName(), "namespace": d.GetNamespace()}, "status": statusMap,
	}}
	_, err = a.its.Resource(Deliveries).Namespace(d.GetNamespace()).ApplyStatus(ctx, d.GetName(), u,
		metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.AgentFieldManager, Force: true})
	if err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	if err == nil {
		a.mu.Lock()
		a.statusWritten[memo.ObjectName(d)] = writtenStatus{uid: string(d.GetUID()), generation: d.GetGeneration(), sum: sum}
		a.mu.Unlock()
	}
	return nil
}

// deliveryRef refers to a Delivery, for Events.
func deliveryRef(d *unstructured.Unstructured) corev1.ObjectReference {
	if d == nil {
		return corev1.ObjectReference{}
	}
	return corev1.ObjectReference{APIVersion: gitstellarv1alpha1.GroupVersion.String(), Kind: "Delivery",
		Namespace: d.GetNamespace(), Name: d.GetName(), UID: d.GetUID()}
}

// reportProblems emits a Warning Event on a Delivery whose entries are in
// conflict or in error (once per set of problems), and lets the next one
// be emitted again once they are all applied. An unreachable WEC is the
// cluster monitor's Event, on the WorkloadCluster.
func (a *Agent) reportProblems(ctx context.Context, d *unstructured.Unstructured, status gitstellarv1alpha1.DeliveryStatus, unreachable string) {
	if unreachable != "" {
		return
	}
	var problems []string
	reason := "Conflict"
	for _, e := range status.Entries {
		switch e.Result {
		case gitstellarv1alpha1.DeliveryConflict, gitstellarv1alpha1.DeliveryError:
			if e.Result == gitstellarv1alpha1.DeliveryError {
				reason = "ApplyFailed"
			}
			problems = append(problems, fmt.Sprintf("%s %s: %s: %s", e.Kind, path.Join(e.Namespace, e.Name), e.Result, e.Message))
		}
	}
	if len(problems) == 0 {
		a.events.Forget(deliveryRef(d))
		return
	}
	const shown = 5
	msg := strings.Join(problems[:min(shown, len(problems))], "; ")
	if len(problems) > shown {
		msg += fmt.Sprintf("; and %d more", len(problems)-shown)
	}
	a.events.Emit(ctx, deliveryRef(d), events.Warning, reason, fmt.Sprintf("WEC %s: %d of %d entries not applied: %s", a.opts.Cluster, len(problems), len(status.Entries), msg))
}

// writtenStatus is a status the agent wrote into a Delivery, by hash.
type writtenStatus struct {
	uid        string
	generation int64
	sum        [32]byte
}

// statusSum hashes a Delivery status, its timestamps left out.
func statusSum(status gitstellarv1alpha1.DeliveryStatus) [32]byte {
	status.Entries = slices.Clone(status.Entries)
	for i := range status.Entries {
		status.Entries[i].LastUpdateTime = nil
	}
	status.Conditions = slices.Clone(status.Conditions)
	for i := range status.Conditions {
		status.Conditions[i].LastTransitionTime = metav1.Time{}
	}
	b, _ := json.Marshal(status)
	return sha256.Sum256(b)
}

// observeLatency records how long a Delivery took from the transport
// seeing its change to every entry applied in the WEC.
func (a *Agent) observeLatency(d *unstructured.Unstructured) {
	sent, err := time.Parse(time.RFC3339Nano, d.GetAnnotations()[gitstellarv1alpha1.AnnotationSentAt])
	if err != nil {
		return
	}
	metrics.PropagationLatency.WithLabelValues(a.opts.Cluster).Observe(max(0, time.Since(sent).Seconds()))
}

func sameEntryStatus(a, b gitstellarv1alpha1.DeliveryEntryStatus) bool {
	a.LastUpdateTime, b.LastUpdateTime = nil, nil
	return apiequality.Semantic.DeepEqual(a, b)
}

// The agent's inventory: the objects it created (or adopted) in the WEC,
// by the agent's key, kept in the WEC as every applier keeps its
// inventory (apply.InventoryStore).
type agentInventory struct {
	mu      sync.Mutex
	objects map[string]apply.InventoryEntry
	dirty   bool
}

func (inv *agentInventory) has(key string) (apply.InventoryEntry, bool) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	item, ok := inv.objects[key]
	return item, ok
}

func (inv *agentInventory) put(key string, item apply.InventoryEntry) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	if old, ok := inv.objects[key]; !ok || old != item {
		inv.objects[key] = item
		inv.dirty = true
	}
}

func (inv *agentInventory) remove(key string) {
	inv.mu.Lock()
	defer inv.mu.Unlock()
	delete(inv.objects, key)
	inv.dirty = true
}

// inventoryStore is the agent's inventory ConfigMap in its WEC.
func (a *Agent) inventoryStore() apply.InventoryStore {
	return apply.InventoryStore{Client: a.wec, Namespace: a.opts.InventoryNamespace, Name: InventoryName,
		FieldManager: gitstellarv1alpha1.AgentFieldManager, CreateNamespace: a.opts.InventoryNamespace == DefaultInventoryNamespace}
}

func (a *Agent) loadInventory(ctx context.Context) (*agentInventory, error) {
	stored, err := a.inventoryStore().Load(ctx, a.opts.Cluster)
	if err != nil {
		return nil, fmt.Errorf("the agent's %w", err)
	}
	inv := &agentInventory{objects: make(map[string]apply.InventoryEntry, len(stored.Entries))}
	for _, e := range stored.Entries {
		k, err := e.Key()
		if err != nil {
			return nil, fmt.Errorf("the agent's inventory: %w", err)
		}
		inv.objects[keyOf(e.GVK(), k.Namespace, k.Name)] = e
	}
	return inv, nil
}

func (a *Agent) saveInventory(ctx context.Context, inv *agentInventory) error {
	if !inv.dirty {
		return nil
	}
	stored := &apply.Inventory{Source: a.opts.Cluster, Entries: slices.Collect(maps.Values(inv.objects))}
	if err := a.inventoryStore().Save(ctx, stored); err != nil {
		return fmt.Errorf("the agent's %w", err)
	}
	inv.dirty = false
	return nil
}
