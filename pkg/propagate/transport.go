package propagate

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/memo"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// The resources the transport reads and writes.
var (
	Bindings         = controlv1alpha1.GroupVersion.WithResource("bindings")
	CustomTransforms = controlv1alpha1.GroupVersion.WithResource("customtransforms")
	StatusCollectors = controlv1alpha1.GroupVersion.WithResource("statuscollectors")
	WorkloadClusters = gitstellarv1alpha1.GroupVersion.WithResource("workloadclusters")
	Deliveries       = gitstellarv1alpha1.GroupVersion.WithResource("deliveries")
	configMaps       = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespacesGVR    = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	bindingPolicies  = controlv1alpha1.GroupVersion.WithResource("bindingpolicies")
)

// PropertiesNamespace holds, in an ITS, one ConfigMap of template
// properties per WEC, named like the WEC.
const PropertiesNamespace = controlv1alpha1.PropertiesNamespace

// TransportOptions configures a Transport.
type TransportOptions struct {
	WDS string
	// Source names the gitstellar source the WDS is declared by: its
	// Deliveries carry it (LabelSource), so that the ITS's Retirer of that
	// source takes them out when the WDS leaves the ITS. Empty: none.
	Source               string
	WDSConfig, ITSConfig *rest.Config
	// WDSCache and ITSCache share the spaces' informers with the other
	// components of the process; nil: the transport makes its own.
	WDSCache, ITSCache *spacecache.Cache
	Log                logr.Logger
}

// Transport writes, for every Binding of a WDS and every WEC it names, the
// transformed objects as Deliveries into that WEC's mailbox namespace in the
// ITS, and removes the Deliveries nothing asks for any more.
type Transport struct {
	opts  TransportOptions
	wds   dynamic.Interface
	its   dynamic.Interface
	queue *keyqueue.Queue

	bindings, transforms, wecs, props, deliveries cache.SharedIndexInformer
	collectors                                    cache.SharedIndexInformer // the WDS's StatusCollectors
	caches                                        spacecache.Caches

	mu       sync.Mutex
	problems map[string][]string // Binding → transform problems of its last sync
	synced   map[string]int64    // Binding → the generation whose Deliveries the last sync wrote
	// collectorsOf: Binding → the StatusCollectors its objects name, sorted.
	collectorsOf map[string][]string
	compiled     *Transforms
	mailboxes    mailboxSet
	// transformsVersion counts the CustomTransform changes: a transformed
	// object of another count is transformed again.
	transformsVersion int
	seen              map[string]time.Time // Binding → when a change to it was first seen, not synced yet
	// generations: Delivery (namespace/name) → its generation after the
	// transport's last write, which its informer may not show yet.
	generations map[string]int64
	// delivered and problems: per Delivery, the objects its spec carries
	// and the problems its status reports, decoded once per version.
	delivered memo.ByVersion[map[string]gitstellarv1alpha1.DeliveryRemoval]
	// objects: bound WDS objects read and transformed, per object, at
	// their last resourceVersion. transformed: per object and WEC, objects
	// whose templates are expanded with the WEC's properties.
	objects     memo.ByVersion[*boundObject]
	transformed memo.ByVersion[transformedObject]
	// refs: which Bindings list each object of objects and transformed.
	refs objectRefs
	// kinds: the kind of each resource whose objects were bound.
	kinds resourceKinds
	// payloads: per Delivery, the payload of the entries last encoded, by
	// their hash, so that a part whose entries did not change is not
	// compressed again.
	payloads memo.ByVersion[[]byte]
	// written: Delivery (namespace/name) → the spec the transport last
	// wrote there, by hash, and the object it wrote it to.
	written          map[string]writtenSpec
	deliveryProblems memo.ByVersion[[]string]
	// statusWritten: Binding → the status the transport last wrote there
	// and the resourceVersion it got, which its informer may not show yet.
	statusWritten map[string]bindingStatusWritten
}

// NewTransport prepares a transport; Run starts it.
func NewTransport(opts TransportOptions) (*Transport, error) {
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
	t := newTransport(opts, wds, its)
	wdsCache, itsCache := t.caches.Use(opts.WDSCache, wds), t.caches.Use(opts.ITSCache, its)
	for _, i := range []struct {
		into  *cache.SharedIndexInformer
		space *spacecache.Cache
		gvr   schema.GroupVersionResource
		in    spacecache.Filter
	}{
		{&t.bindings, wdsCache, Bindings, spacecache.Filter{}},
		{&t.transforms, wdsCache, CustomTransforms, spacecache.Filter{}},
		{&t.collectors, wdsCache, StatusCollectors, spacecache.Filter{}},
		{&t.wecs, itsCache, WorkloadClusters, spacecache.Filter{}},
		{&t.props, itsCache, configMaps, spacecache.Filter{Namespace: PropertiesNamespace}},
	} {
		if *i.into, err = i.space.Informer(i.gvr, i.in, nil); err != nil {
			return nil, err
		}
	}
	if t.deliveries, err = DeliveriesInformer(itsCache); err != nil {
		return nil, err
	}
	return t, nil
}

func newTransport(opts TransportOptions, wds, its dynamic.Interface) *Transport {
	return &Transport{opts: opts, wds: wds, its: its,
		queue:    keyqueue.New(),
		problems: map[string][]string{}, synced: map[string]int64{}, collectorsOf: map[string][]string{}, seen: map[string]time.Time{},
		generations: map[string]int64{}, written: map[string]writtenSpec{}, statusWritten: map[string]bindingStatusWritten{}}
}

// Run transports until ctx ends.
func (t *Transport) Run(ctx context.Context) error {
	enqueueBinding := cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { t.enqueue(o) },
		UpdateFunc: func(old, o any) {
			a, ok1 := old.(*unstructured.Unstructured)
			b, ok2 := o.(*unstructured.Unstructured)
			if ok1 && ok2 && a.GetGeneration() == b.GetGeneration() && maps.Equal(a.GetAnnotations(), b.GetAnnotations()) {
				return // its status, written here
			}
			t.enqueue(o)
		},
		DeleteFunc: func(o any) { t.enqueue(o) },
	}
	all := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { t.enqueueBindings() },
		UpdateFunc: func(old, o any) { t.enqueueAllIfChanged(old, o) },
		DeleteFunc: func(any) { t.enqueueBindings() },
	}
	for _, h := range []struct {
		inf     cache.SharedIndexInformer
		handler cache.ResourceEventHandler
	}{
		{t.bindings, enqueueBinding}, {t.transforms, t.transformHandler()}, {t.wecs, all}, {t.props, all},
		{t.deliveries, OfWDS(t.opts.WDS, t.deliveryHandler())},
		{t.collectors, cache.ResourceEventHandlerFuncs{AddFunc: t.collectorChanged, DeleteFunc: t.collectorChanged}},
	} {
		if _, err := spacecache.Handle(ctx, h.inf, h.handler); err != nil {
			return err
		}
	}
	t.caches.Start(ctx)
	if !spacecache.WaitForSync(ctx, t.bindings, t.transforms, t.wecs, t.props, t.deliveries, t.collectors) {
		return ctx.Err()
	}
	// Deliveries whose Binding is gone.
	for _, key := range t.deliveries.GetIndexer().ListIndexFuncValues(DeliveriesByBinding) {
		if b, ok := strings.CutPrefix(key, DeliveryBindingKey(t.opts.WDS, "")); ok {
			t.queue.Add(b)
		}
	}
	t.queue.Run(ctx, 2, t.syncKey, func(key string, err error) {
		t.opts.Log.Error(err, "transport", "wds", t.opts.WDS, "binding", key)
	})
	<-ctx.Done()
	t.queue.Wait()
	return nil
}

// deliveryHandler follows the WDS's Deliveries.
func (t *Transport) deliveryHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) { t.enqueueStatus(o) },
		UpdateFunc: func(_, o any) {
			t.enqueueStatus(o)
			if u, ok := o.(*unstructured.Unstructured); ok && acknowledgedTombstone(u) {
				t.queue.Add(u.GetLabels()[gitstellarv1alpha1.LabelBinding]) // it can go now
			}
		},
		DeleteFunc: func(o any) { // by anyone: write again what should be there
			t.enqueueStatus(o)
			if u, ok := keyqueue.Unstructured(o); ok {
				t.mu.Lock()
				delete(t.generations, u.GetNamespace()+"/"+u.GetName()) // a new one starts at 1
				delete(t.written, u.GetNamespace()+"/"+u.GetName())
				t.payloads.Forget(u.GetNamespace() + "/" + u.GetName())
				t.mu.Unlock()
				t.delivered.Forget(memo.ObjectName(u))
				t.deliveryProblems.Forget(memo.ObjectName(u))
				t.queue.Add(u.GetLabels()[gitstellarv1alpha1.LabelBinding])
			}
		},
	}
}

// Idle tells whether the transport has caught up.
func (t *Transport) Idle() bool {
	return t.bindings.HasSynced() && t.deliveries.HasSynced() && t.queue.Idle()
}

func (t *Transport) enqueue(o any) {
	if u, ok := keyqueue.Unstructured(o); ok {
		t.mu.Lock()
		if _, ok := t.seen[u.GetName()]; !ok {
			t.seen[u.GetName()] = time.Now()
		}
		t.mu.Unlock()
		t.queue.Add(u.GetName())
	}
}

// statusKey prefixes the queue keys that only summarise a Binding's
// Deliveries into its status (Binding names cannot hold a colon).
const statusKey = "status:"

// enqueueStatus asks for the status summary of a Delivery's Binding.
func (t *Transport) enqueueStatus(o any) {
	if u, ok := keyqueue.Unstructured(o); ok {
		t.queue.Add(statusKey + u.GetLabels()[gitstellarv1alpha1.LabelBinding])
	}
}

func (t *Transport) syncKey(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, statusKey); ok {
		return t.writeBindingStatus(ctx, name)
	}
	if name, ok := strings.CutPrefix(key, transformStatusKey); ok {
		return t.writeTransformStatus(ctx, name)
	}
	return t.sync(ctx, key)
}

// collectorChanged asks for the status of the Bindings whose objects name
// a StatusCollector that came or went.
func (t *Transport) collectorChanged(o any) {
	u, ok := keyqueue.Unstructured(o)
	if !ok {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for binding, names := range t.collectorsOf {
		if _, found := slices.BinarySearch(names, u.GetName()); found {
			t.queue.Add(statusKey + binding)
		}
	}
}

// collectorsNamed are the StatusCollectors a Binding's objects name, sorted.
func collectorsNamed(b *controlv1alpha1.Binding) []string {
	var names []string
	for _, o := range b.Spec.Workload.ClusterScope {
		names = append(names, o.StatusCollectors...)
	}
	for _, o := range b.Spec.Workload.NamespaceScope {
		names = append(names, o.StatusCollectors...)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// enqueueAll compiles the CustomTransforms again and syncs every Binding.
func (t *Transport) enqueueAll() {
	t.mu.Lock()
	t.compiled = nil
	t.mu.Unlock()
	t.enqueueBindings()
}

func (t *Transport) enqueueBindings() {
	for _, o := range t.bindings.GetStore().List() {
		t.enqueue(o)
	}
}

// enqueueAllIfChanged syncs every Binding when what a transform reads of
// a WorkloadCluster or a properties ConfigMap changed: its labels,
// annotations, spec or data, not its status (a WorkloadCluster's status
// changes at every agent heartbeat).
func (t *Transport) enqueueAllIfChanged(old, o any) {
	a, ok1 := old.(*unstructured.Unstructured)
	b, ok2 := o.(*unstructured.Unstructured)
	if ok1 && ok2 && (a.GetResourceVersion() == b.GetResourceVersion() ||
		maps.Equal(a.GetLabels(), b.GetLabels()) && maps.Equal(a.GetAnnotations(), b.GetAnnotations()) &&
			apiequality.Semantic.DeepEqual(a.Object["spec"], b.Object["spec"]) && apiequality.Semantic.DeepEqual(a.Object["data"], b.Object["data"])) {
		return
	}
	t.enqueueBindings()
}

func (t *Transport) transformsNow() (*Transforms, string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.compiled == nil {
		var cts []controlv1alpha1.CustomTransform
		for _, o := range t.transforms.GetStore().List() {
			var ct controlv1alpha1.CustomTransform
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.(*unstructured.Unstructured).Object, &ct); err == nil {
				cts = append(cts, ct)
			}
		}
		t.compiled = CompileTransforms(cts)
		t.transformsVersion++
	}
	return t.compiled, strconv.Itoa(t.transformsVersion)
}

// sync makes the Deliveries of one Binding what it asks for.
func (t *Transport) sync(ctx context.Context, name string) error {
	t.mu.Lock()
	seen, ok := t.seen[name]
	delete(t.seen, name)
	t.mu.Unlock()
	if !ok {
		seen = time.Now()
	}
	existing := t.existingParts(name)
	raw, found, err := t.bindings.GetStore().GetByKey(name)
	if err != nil {
		return err
	}
	if !found {
		t.mu.Lock()
		delete(t.problems, name)
		delete(t.synced, name)
		delete(t.collectorsOf, name)
		delete(t.statusWritten, name)
		t.mu.Unlock()
		t.release(t.refs.set(name, nil))
		return t.bindingGone(ctx, name, existing)
	}
	var b controlv1alpha1.Binding
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.(*unstructured.Unstructured).Object, &b); err != nil {
		return err
	}
	transforms, version := t.transformsNow()
	objects, err := t.boundObjects(ctx, &b, transforms, version)
	if err != nil {
		return err
	}
	t.release(t.refs.set(name, boundKeys(&b)))
	// The policy's marks, carried by its Binding: keep the WEC copies on
	// removal; take over objects no other tool manages.
	orphans := b.Annotations[gitstellarv1alpha1.AnnotationDeletion] == gitstellarv1alpha1.DeletionOrphan
	adopts := b.Annotations[gitstellarv1alpha1.AnnotationAdopt] == gitstellarv1alpha1.AdoptUnmanaged
	for i := range objects {
		objects[i].policyOrphans, objects[i].policyAdopts = orphans, adopts
	}
	var (
		problems []string
		handled  = map[string]bool{} // WECs whose Deliveries were written or kept as they are
		mu       sync.Mutex
		g        errgroup.Group
	)
	g.SetLimit(8) // WECs at a time: the ITS works on several Deliveries at once
	for _, d := range b.Spec.Destinations {
		wec := d.ClusterId
		mu.Lock()
		handled[wec] = true
		mu.Unlock()
		g.Go(func() error {
			specs, err := t.deliveriesFor(&b, wec, objects, transforms, t.assignment(existing[wec]))
			if err != nil { // leave that WEC's state as it is
				mu.Lock()
				problems = append(problems, fmt.Sprintf("%s: %v", wec, err))
				mu.Unlock()
				return nil
			}
			return t.writeParts(ctx, b.Name, wec, specs, existing[wec], seen)
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	for wec, parts := range existing { // WECs that left the Binding
		if !handled[wec] {
			if err := t.retire(ctx, b.Name, wec, parts, seen); err != nil {
				return err
			}
		}
	}
	t.mu.Lock()
	t.problems[name] = problems
	t.synced[name] = b.Generation
	t.collectorsOf[name] = collectorsNamed(&b)
	t.mu.Unlock()
	// Written under the status key: the queue never works on one key
	// twice at once, so a status computed before this sync cannot land
	// after the one computed from it.
	t.queue.Add(statusKey + name)
	return nil
}

// existingParts are a Binding's Deliveries in the ITS, by WEC and part.
func (t *Transport) existingParts(binding string) map[string]map[int]*unstructured.Unstructured {
	objs, _ := t.deliveries.GetIndexer().ByIndex(DeliveriesByBinding, DeliveryBindingKey(t.opts.WDS, binding))
	return PartsByWEC(objs)
}

// PartsByWEC sorts one Binding's Deliveries (as an informer's index lists
// them) by WEC and part.
func PartsByWEC(deliveries []any) map[string]map[int]*unstructured.Unstructured {
	out := map[string]map[int]*unstructured.Unstructured{}
	for _, o := range deliveries {
		u := o.(*unstructured.Unstructured)
		wec := u.GetLabels()[gitstellarv1alpha1.LabelCluster]
		part, _, _ := unstructured.NestedInt64(u.Object, "spec", "part")
		if out[wec] == nil {
			out[wec] = map[int]*unstructured.Unstructured{}
		}
		out[wec][int(part)] = u
	}
	return out
}

// writeParts writes a Binding's Deliveries to one WEC, part 0 listing what
// left them, and deletes the parts beyond the new count (what they held is
// in part 0's removals, or in another part).
func (t *Transport) writeParts(ctx context.Context, binding, wec string, specs []gitstellarv1alpha1.DeliverySpec, existing map[int]*unstructured.Unstructured, seen time.Time) error {
	if len(specs) == 0 {
		return t.retire(ctx, binding, wec, existing, seen)
	}
	mailbox := gitstellarv1alpha1.MailboxNamespace(wec)
	if err := t.mailboxes.ensure(ctx, mailbox, func(ctx context.Context, ns string) error { return applyMailbox(ctx, t.its, ns) }); err != nil {
		return err
	}
	part0 := mailbox + "/" + DeliveryName(t.opts.WDS, binding, 0)
	old, now := t.deliveredObjects(existing), specObjects(specs)
	t.keepMoved(binding, wec, existing[0], old, now)
	specs[0].Removed = removals(existing[0], t.writtenGeneration(part0), old, now)
	for _, spec := range specs {
		if err := t.writeDelivery(ctx, mailbox, DeliveryName(t.opts.WDS, binding, int(spec.Part)), wec, binding, spec, existing[int(spec.Part)], seen); err != nil {
			return err
		}
	}
	return t.deleteParts(ctx, existing, len(specs))
}

// retire empties a Binding's Deliveries to a WEC that no longer gets any:
// part 0 becomes a tombstone listing every object they held, the other
// parts go, and the tombstone goes once the agent has acknowledged it.
func (t *Transport) retire(ctx context.Context, binding, wec string, existing map[int]*unstructured.Unstructured, seen time.Time) error {
	if len(existing) == 0 {
		return nil
	}
	mailbox := gitstellarv1alpha1.MailboxNamespace(wec)
	old, now := t.deliveredObjects(existing), map[string]bool{}
	t.keepMoved(binding, wec, existing[0], old, now)
	removed := removals(existing[0], t.writtenGeneration(mailbox+"/"+DeliveryName(t.opts.WDS, binding, 0)), old, now)
	if len(removed) == 0 || acknowledgedTombstone(existing[0]) && len(existing) == 1 {
		return t.deleteParts(ctx, existing, 0)
	}
	spec := gitstellarv1alpha1.DeliverySpec{Source: gitstellarv1alpha1.DeliverySource{WDS: t.opts.WDS, Binding: binding}, Part: 0, Parts: 1, Removed: removed}
	if err := t.writeDelivery(ctx, mailbox, DeliveryName(t.opts.WDS, binding, 0), wec, binding, spec, existing[0], seen); err != nil {
		return err
	}
	return t.deleteParts(ctx, existing, 1)
}

// bindingGone handles a Binding that is not in the WDS. When its
// BindingPolicy is still there (the policy named like it, or the one it is
// a part of), someone else deleted the Binding: the bind controller writes
// it again, and its Deliveries stay as they are. When the policy is gone
// too, every WEC's Deliveries are retired.
func (t *Transport) bindingGone(ctx context.Context, name string, existing map[string]map[int]*unstructured.Unstructured) error {
	if len(existing) == 0 {
		return nil
	}
	policies := []string{name} // a policy's Binding, or a part of another's
	if policy, _, ok := gitstellarv1alpha1.BindingPartOf(name); ok {
		policies = append(policies, policy)
	}
	for _, p := range policies {
		policy, err := t.wds.Resource(bindingPolicies).Get(ctx, p, metav1.GetOptions{})
		switch {
		case err == nil && policy.GetDeletionTimestamp() == nil:
			t.opts.Log.Info("Binding missing while its BindingPolicy exists: its Deliveries stay until the bind controller writes it again", "wds", t.opts.WDS, "binding", name, "policy", p)
			return nil
		case err != nil && !apierrors.IsNotFound(err):
			return err
		}
	}
	for wec, parts := range existing {
		if err := t.retire(ctx, name, wec, parts, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// deleteParts deletes the parts numbered from on.
func (t *Transport) deleteParts(ctx context.Context, parts map[int]*unstructured.Unstructured, from int) error {
	stale := map[string]*unstructured.Unstructured{}
	for n, u := range parts {
		if n >= from {
			stale[u.GetNamespace()+"/"+u.GetName()] = u
		}
	}
	return t.deleteAll(ctx, stale)
}

// bound is a bound WDS object and its modulation.
type bound struct {
	*boundObject
	gr            schema.GroupResource
	mod           controlv1alpha1.DownsyncModulation
	policyOrphans bool // the policy keeps the WEC copies on removal
	// policyAdopts: the policy takes over objects no other tool manages.
	policyAdopts bool
}

// boundObject is what the transport keeps of a bound WDS object at one
// resourceVersion: not the object, but its identity, the annotations that
// modulate its delivery and its transformed JSON, the same for every WEC.
// Only an object whose templates are expanded for each WEC is kept whole.
type boundObject struct {
	identity *unstructured.Unstructured // shared by every WEC's entries (read only)
	// version: the resourceVersion read (the Binding's, or a newer one)
	// and the CustomTransforms' count it was transformed with.
	version       string
	adopt, orphan bool
	transformed   transformedObject
	expand        *unstructured.Unstructured // the object, when its templates are expanded per WEC
}

// boundObjects reads the Binding's objects from the WDS and transforms
// them, once per resourceVersion and CustomTransform change.
func (t *Transport) boundObjects(ctx context.Context, b *controlv1alpha1.Binding, transforms *Transforms, version string) ([]bound, error) {
	out := make([]bound, 0, len(b.Spec.Workload.ClusterScope)+len(b.Spec.Workload.NamespaceScope))
	get := func(gvr metav1.GroupVersionResource, ns, name, rv string, mod controlv1alpha1.DownsyncModulation) error {
		gr := groupResource(gvr)
		o, err := t.objects.GetErr(boundKey(gr, ns, name), rv+"/"+version, func() (*boundObject, error) {
			r := t.wds.Resource(schema.GroupVersionResource(gvr))
			var u *unstructured.Unstructured
			var err error
			if ns != "" {
				u, err = r.Namespace(ns).Get(ctx, name, metav1.GetOptions{}) // this version, or a newer one
			} else {
				u, err = r.Get(ctx, name, metav1.GetOptions{})
			}
			if err != nil {
				return nil, err
			}
			t.kinds.learn(gr, u.GetKind())
			return newBoundObject(u, gr, transforms, version), nil
		})
		if apierrors.IsNotFound(err) {
			return nil // gone since; the next Binding will not list it
		}
		if err != nil {
			return err
		}
		out = append(out, bound{boundObject: o, gr: gr, mod: mod})
		return nil
	}
	for _, o := range b.Spec.Workload.ClusterScope {
		if err := get(o.GroupVersionResource, "", o.Name, o.ResourceVersion, o.DownsyncModulation); err != nil {
			return nil, err
		}
	}
	for _, o := range b.Spec.Workload.NamespaceScope {
		if err := get(o.GroupVersionResource, o.Namespace, o.Name, o.ResourceVersion, o.DownsyncModulation); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// boundKeys are the keys, in the objects memo, of a Binding's objects.
func boundKeys(b *controlv1alpha1.Binding) []string {
	keys := make([]string, 0, len(b.Spec.Workload.ClusterScope)+len(b.Spec.Workload.NamespaceScope))
	for _, o := range b.Spec.Workload.ClusterScope {
		keys = append(keys, boundKey(groupResource(o.GroupVersionResource), "", o.Name))
	}
	for _, o := range b.Spec.Workload.NamespaceScope {
		keys = append(keys, boundKey(groupResource(o.GroupVersionResource), o.Namespace, o.Name))
	}
	return keys
}

// boundKey is a bound object's key in the objects memo; its expansion for
// a WEC is keyed boundKey@wec in the transformed memo.
func boundKey(gr schema.GroupResource, namespace, name string) string {
	return gr.String() + "/" + namespace + "/" + name
}

func groupResource(gvr metav1.GroupVersionResource) schema.GroupResource {
	return schema.GroupResource{Group: gvr.Group, Resource: gvr.Resource}
}

// release forgets the objects no Binding lists any more, and their
// per-WEC expansions.
func (t *Transport) release(keys []string) {
	if len(keys) == 0 {
		return
	}
	gone := make(map[string]bool, len(keys))
	for _, k := range keys {
		t.objects.Forget(k)
		gone[k] = true
	}
	if t.transformed.Len() > 0 {
		t.transformed.ForgetIf(func(key string) bool {
			object, _, _ := strings.Cut(key, "@")
			return gone[object]
		})
	}
}

// newBoundObject keeps what delivering u takes.
func newBoundObject(u *unstructured.Unstructured, gr schema.GroupResource, transforms *Transforms, transformsVersion string) *boundObject {
	ann := u.GetAnnotations()
	o := &boundObject{identity: objectIdentity(u), version: u.GetResourceVersion() + "/" + transformsVersion,
		adopt:  ann[gitstellarv1alpha1.AnnotationAdopt] == "true",
		orphan: ann[gitstellarv1alpha1.AnnotationDeletion] == gitstellarv1alpha1.DeletionOrphan}
	if ann[controlv1alpha1.AnnotationExpandTemplates] == "true" {
		o.expand = u
	} else {
		o.transformed = transformObject(u, gr, transforms, Properties{})
	}
	return o
}

// transformObject transforms u for a WEC of the given properties.
func transformObject(u *unstructured.Unstructured, gr schema.GroupResource, transforms *Transforms, props Properties) transformedObject {
	out, err := transforms.Transform(u, gr, props)
	if err != nil {
		return transformedObject{err: err}
	}
	raw, err := json.Marshal(out.Object)
	return transformedObject{raw: raw, err: err}
}

// transformedObject is a bound object transformed for a WEC, as JSON.
type transformedObject struct {
	raw []byte
	err error
}

// deliveriesFor packs the transformed objects for one WEC, expanding the
// templates of those that ask for it with the WEC's properties.
func (t *Transport) deliveriesFor(b *controlv1alpha1.Binding, wec string, objects []bound, transforms *Transforms, previous map[string]int) ([]gitstellarv1alpha1.DeliverySpec, error) {
	var props *Properties
	entries := make([]Entry, 0, len(objects))
	for _, o := range objects {
		tr := o.transformed
		if o.expand != nil { // its templates read the WEC's properties
			if props == nil {
				p := t.properties(wec)
				props = &p
			}
			key := boundKey(o.gr, o.identity.GetNamespace(), o.identity.GetName()) + "@" + wec
			tr = t.transformed.Get(key, o.version+"/"+props.fingerprint(), func() transformedObject {
				return transformObject(o.expand, o.gr, transforms, *props)
			})
		}
		if tr.err != nil {
			return nil, fmt.Errorf("%s %s/%s: %w", o.identity.GetKind(), o.identity.GetNamespace(), o.identity.GetName(), tr.err)
		}
		entries = append(entries, Entry{
			Object:         o.identity,
			Raw:            tr.raw,
			CreateOnly:     o.mod.CreateOnly,
			Adopt:          o.adopt,
			AdoptUnmanaged: o.policyAdopts,
			Orphan:         o.policyOrphans || o.orphan,
			ReturnStatus:   o.mod.WantSingletonReportedState || o.mod.WantMultiWECReportedState || len(o.mod.StatusCollectors) > 0,
		})
	}
	return Pack(gitstellarv1alpha1.DeliverySource{WDS: t.opts.WDS, Binding: b.Name}, entries, PartBytes, MaxObjectBytes, previous)
}

func (t *Transport) properties(wec string) Properties {
	var lbls, ann map[string]string
	if o, ok, _ := t.wecs.GetStore().GetByKey(wec); ok {
		u := o.(*unstructured.Unstructured)
		lbls, ann = u.GetLabels(), u.GetAnnotations()
	}
	var cm *unstructured.Unstructured
	if o, ok, _ := t.props.GetStore().GetByKey(PropertiesNamespace + "/" + wec); ok {
		cm = o.(*unstructured.Unstructured)
	}
	data, binaryData := ConfigMapProperties(cm)
	return PropertiesOf(wec, lbls, ann, data, binaryData)
}

// mailboxSet remembers the mailboxes this process made, so that each is
// applied once.
type mailboxSet struct {
	mu   sync.Mutex
	made map[string]bool
}

// ensure makes a mailbox that was not made yet.
func (s *mailboxSet) ensure(ctx context.Context, ns string, create func(context.Context, string) error) error {
	s.mu.Lock()
	done := s.made[ns]
	s.mu.Unlock()
	if done {
		return nil
	}
	if err := create(ctx, ns); err != nil {
		return err
	}
	s.mu.Lock()
	if s.made == nil {
		s.made = map[string]bool{}
	}
	s.made[ns] = true
	s.mu.Unlock()
	return nil
}

// applyMailbox creates (or keeps) a WEC's mailbox namespace in the ITS.
// EnsurePropertiesNamespace makes, in an ITS, the namespace of the WECs'
// property ConfigMaps (customization-properties), as KubeStellar does for
// every ITS, so that they can be written there from the repository or by
// hand. It is never deleted: it may hold ConfigMaps from elsewhere.
func EnsurePropertiesNamespace(ctx context.Context, its dynamic.Interface) error {
	return applyNamespace(ctx, its, PropertiesNamespace)
}

func applyMailbox(ctx context.Context, its dynamic.Interface, ns string) error {
	return applyNamespace(ctx, its, ns)
}

func applyNamespace(ctx context.Context, its dynamic.Interface, ns string) error {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace",
		"metadata": map[string]any{"name": ns, "labels": map[string]any{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}}}}
	if _, err := its.Resource(namespacesGVR).Apply(ctx, ns, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true}); err != nil {
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}

// writtenSpec is a spec the transport wrote into a Delivery.
type writtenSpec struct {
	hash       [32]byte
	uid        string
	generation int64
}

// writeDelivery applies a Delivery when its spec differs from the one there.
// A spec the transport wrote itself into the same Delivery, with nobody
// writing it since (the generation not above the one written), is known by
// its hash and not compared field by field.
func (t *Transport) writeDelivery(ctx context.Context, ns, name, wec, binding string, spec gitstellarv1alpha1.DeliverySpec, current *unstructured.Unstructured, seen time.Time) error {
	key := ns + "/" + name
	if len(spec.Entries) > 0 { // carried as one opaque payload
		payload, err := t.payloads.GetErr(key, entriesSum(spec.Entries), func() ([]byte, error) { return EncodeEntries(spec.Entries) })
		if err != nil {
			return err
		}
		spec.Payload, spec.Entries = payload, nil
	}
	encoded, err := json.Marshal(spec)
	if err != nil {
		return err
	}
	hash := sha256.Sum256(encoded)
	if current != nil {
		t.mu.Lock()
		w, ok := t.written[key]
		t.mu.Unlock()
		if ok && w.hash == hash && w.uid == string(current.GetUID()) && current.GetGeneration() <= w.generation {
			return nil
		}
		if sameSpec(current, encoded) && current.GetLabels()[apply.LabelSource] == t.opts.Source {
			return nil
		}
	}
	specMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		return err
	}
	labels := map[string]any{
		gitstellarv1alpha1.LabelWDS: t.opts.WDS, gitstellarv1alpha1.LabelBinding: binding, gitstellarv1alpha1.LabelCluster: wec,
		gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue,
	}
	if t.opts.Source != "" {
		labels[apply.LabelSource] = t.opts.Source
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gitstellarv1alpha1.GroupVersion.String(), "kind": "Delivery",
		"metadata": map[string]any{"name": name, "namespace": ns, "labels": labels,
			"annotations": map[string]any{gitstellarv1alpha1.AnnotationSentAt: seen.UTC().Format(time.RFC3339Nano)}},
		"spec": specMap,
	}}
	written, err := t.its.Resource(Deliveries).Namespace(ns).Apply(ctx, name, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true})
	if err == nil {
		t.mu.Lock()
		t.generations[key] = written.GetGeneration()
		t.written[key] = writtenSpec{hash: hash, uid: string(written.GetUID()), generation: written.GetGeneration()}
		t.mu.Unlock()
	}
	return err
}

// writtenGeneration is the generation of a Delivery (namespace/name) as
// of the transport's last write of it, 0 when not written.
func (t *Transport) writtenGeneration(key string) int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.generations[key]
}

// sameSpec compares a Delivery's spec with a desired one (JSON), as JSON
// values.
func sameSpec(current *unstructured.Unstructured, encoded []byte) bool {
	have, _, _ := unstructured.NestedFieldNoCopy(current.Object, "spec")
	var want any
	if err := json.Unmarshal(encoded, &want); err != nil {
		return false
	}
	hb, _ := json.Marshal(have)
	var haveNorm any
	_ = json.Unmarshal(hb, &haveNorm)
	return apiequality.Semantic.DeepEqual(haveNorm, want)
}

func (t *Transport) deleteAll(ctx context.Context, deliveries map[string]*unstructured.Unstructured) error {
	keys := slices.Sorted(maps.Keys(deliveries))
	for _, k := range keys {
		u := deliveries[k]
		err := t.its.Resource(Deliveries).Namespace(u.GetNamespace()).Delete(ctx, u.GetName(), metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		t.mu.Lock()
		delete(t.generations, k)
		delete(t.written, k)
		t.mu.Unlock()
	}
	return nil
}
