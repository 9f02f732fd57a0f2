package bind

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/events"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
)

// The resources the controller reads and writes.
var (
	BindingPolicies  = controlv1alpha1.GroupVersion.WithResource("bindingpolicies")
	Bindings         = controlv1alpha1.GroupVersion.WithResource("bindings")
	WorkloadClusters = gitstellarv1alpha1.GroupVersion.WithResource("workloadclusters")
)

// Options configures a Controller.
type Options struct {
	// WDS is the name of the WDS (for logs).
	WDS string
	// WDSConfig and ITSConfig reach the WDS and its ITS.
	WDSConfig, ITSConfig *rest.Config
	// Groups, when set, limits the API groups whose objects are watched
	// ("" is the core group).
	Groups []string
	// DiscoveryInterval is how often new resources (from new CRDs) are
	// looked for; default 15s. A CRD event also triggers a look.
	DiscoveryInterval time.Duration
	// WDSCache and ITSCache share the spaces' informers with the other
	// components of the process; nil: the controller makes its own.
	WDSCache, ITSCache *spacecache.Cache
	Log                logr.Logger
}

// Controller keeps one Binding per BindingPolicy of a WDS, and each
// policy's status, from informers on the WDS and the WorkloadClusters of
// its ITS. An event recomputes only the policies it touches.
type Controller struct {
	opts     Options
	wds      dynamic.Interface
	meta     metadata.Interface
	disc     discovery.DiscoveryInterface
	its      dynamic.Interface
	queue    *keyqueue.Queue
	discover chan struct{}
	events   *events.Emitter

	mu        sync.Mutex
	informers map[schema.GroupVersionResource]*watchedResource
	objects   map[ObjectKey]*Object
	nsLabels  map[string]map[string]string
	policies  map[string]*policyState
	clusters  map[string]Cluster
	synced    []cache.InformerSynced
	bindings  cache.Store // the Bindings gitstellar wrote, as the WDS has them
	// kinds: every kind the WDS served at the last discovery, and the
	// resource the controller watches it by (none: never bound).
	kinds map[schema.GroupKind]*schema.GroupVersionResource
}

type watchedResource struct {
	stop     chan struct{}
	informer cache.SharedIndexInformer
}

type policyState struct {
	bp      *controlv1alpha1.BindingPolicy
	policy  *Policy
	members map[ObjectKey]Member
	// written: the parts of the Binding last written (nil: not written
	// by this process); writtenMarks: the annotations they carry from the
	// policy (orphan, adopt)
	// annotation; rewrite: a part was deleted by someone else, every part
	// is written again.
	written      []controlv1alpha1.BindingSpec
	writtenMarks bindingMarks
	rewrite      bool
	// resolved: whether the last sync could bind the policy, and its
	// errors; the policy's status repeats them with its Binding's.
	resolved *resolvedOutcome
	// singletonFootprint: what the policy last asked a singleton
	// reported state of (singletonFootprint).
	singletonFootprint string
}

type resolvedOutcome struct {
	valid bool
	errs  []string
}

// NewController prepares a controller; Run starts it.
func NewController(opts Options) (*Controller, error) {
	if opts.DiscoveryInterval <= 0 {
		opts.DiscoveryInterval = 15 * time.Second
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	wdsCfg := rest.CopyConfig(opts.WDSConfig)
	if wdsCfg.QPS == 0 {
		wdsCfg.QPS, wdsCfg.Burst = 200, 400
	}
	wds, err := dynamic.NewForConfig(wdsCfg)
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(wdsCfg)
	if err != nil {
		return nil, err
	}
	disc, err := discovery.NewDiscoveryClientForConfig(wdsCfg)
	if err != nil {
		return nil, err
	}
	its, err := dynamic.NewForConfig(opts.ITSConfig)
	if err != nil {
		return nil, err
	}
	emitter, err := events.NewEmitter(wdsCfg, "gitstellar.io/bind-controller")
	if err != nil {
		return nil, err
	}
	return &Controller{
		opts: opts, wds: wds, meta: meta, disc: disc, its: its, events: emitter,
		queue:     keyqueue.New(),
		discover:  make(chan struct{}, 1),
		informers: map[schema.GroupVersionResource]*watchedResource{},
		objects:   map[ObjectKey]*Object{},
		nsLabels:  map[string]map[string]string{},
		policies:  map[string]*policyState{},
		clusters:  map[string]Cluster{},
	}, nil
}

// Run watches and writes until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	stop := ctx.Done()

	var caches spacecache.Caches
	wdsCache, itsCache := caches.Use(c.opts.WDSCache, c.wds), caches.Use(c.opts.ITSCache, c.its)
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	rediscover := cache.ResourceEventHandlerFuncs{
		AddFunc:    func(any) { c.rediscover() },
		UpdateFunc: func(any, any) { c.rediscover() },
		DeleteFunc: func(any) { c.rediscover() },
	}
	var regs [4]cache.ResourceEventHandlerRegistration
	for i, w := range []struct {
		space   *spacecache.Cache
		gvr     schema.GroupVersionResource
		in      spacecache.Filter
		handler cache.ResourceEventHandler
	}{
		{wdsCache, BindingPolicies, spacecache.Filter{}, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { c.policyChanged(o) },
			UpdateFunc: func(_, o any) { c.policyChanged(o) },
			DeleteFunc: func(o any) { c.policyDeleted(ctx, o) },
		}},
		{itsCache, WorkloadClusters, spacecache.Filter{}, cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { c.clusterChanged(o, false) },
			UpdateFunc: func(_, o any) { c.clusterChanged(o, false) },
			DeleteFunc: func(o any) { c.clusterChanged(o, true) },
		}},
		{wdsCache, crds, spacecache.Filter{}, rediscover},
		// A Binding deleted by anyone but this controller is written again
		// (the transport keeps its Deliveries meanwhile).
		{wdsCache, Bindings, spacecache.Filter{Labels: gitstellarv1alpha1.LabelManagedBy + "=" + gitstellarv1alpha1.ManagedByValue},
			cache.ResourceEventHandlerFuncs{DeleteFunc: c.bindingDeleted, UpdateFunc: c.bindingUpdated}},
	} {
		inf, err := w.space.Informer(w.gvr, w.in, nil)
		if err == nil {
			regs[i], err = spacecache.Handle(ctx, inf, w.handler)
		}
		if err == nil && w.gvr == Bindings {
			c.mu.Lock()
			c.bindings = inf.GetStore()
			c.mu.Unlock()
		}
		if err != nil {
			return err
		}
	}
	policiesReg, wecsReg, crdsReg := regs[0], regs[1], regs[2]
	caches.Start(ctx)
	c.mu.Lock()
	c.synced = append(c.synced, policiesReg.HasSynced, wecsReg.HasSynced, crdsReg.HasSynced)
	c.mu.Unlock()

	if err := c.discoverResources(); err != nil {
		c.opts.Log.Error(err, "discovery", "wds", c.opts.WDS)
	}
	// Bindings whose policy went while no controller ran: delete them (the
	// garbage collector would too, where one runs, but not at once).
	if cache.WaitForCacheSync(stop, policiesReg.HasSynced) {
		list, err := c.wds.Resource(Bindings).List(ctx, metav1.ListOptions{LabelSelector: gitstellarv1alpha1.LabelManagedBy + "=" + gitstellarv1alpha1.ManagedByValue})
		if err == nil {
			c.mu.Lock()
			for _, b := range list.Items {
				if policy := PolicyOfBinding(&b); c.policies[policy] == nil {
					c.queue.Add(policy)
				}
			}
			c.mu.Unlock()
		}
	}
	// No Binding is written before everything it is computed from has been
	// read: a Binding computed from half the objects (or no WEC yet) would
	// take the other half out of the WECs until the next pass. A resource
	// that cannot be listed (RBAC) never syncs: after two minutes, bind
	// with what was read, and say so.
	c.mu.Lock()
	synced := slices.Clone(c.synced)
	c.mu.Unlock()
	waitCtx, cancelWait := context.WithTimeout(ctx, 2*time.Minute)
	complete := cache.WaitForCacheSync(waitCtx.Done(), synced...)
	cancelWait()
	if ctx.Err() != nil {
		return nil
	}
	if !complete {
		c.opts.Log.Error(errors.New("not every WDS resource could be listed within 2m"), "binding with the objects read so far", "wds", c.opts.WDS)
	}
	go c.discoveryLoop(ctx)
	c.queue.Run(ctx, 2, c.syncKey, func(key string, err error) {
		c.opts.Log.Error(err, "bind", "wds", c.opts.WDS, "policy", key)
	})
	<-stop
	c.queue.Wait()
	return nil
}

// Idle tells whether every informer has synced and no policy waits to be
// written: the Bindings reflect what the controller has seen.
func (c *Controller) Idle() bool {
	c.mu.Lock()
	synced := slices.Clone(c.synced)
	c.mu.Unlock()
	for _, s := range synced {
		if !s() {
			return false
		}
	}
	return len(synced) > 0 && c.queue.Idle()
}

func (c *Controller) rediscover() {
	select {
	case c.discover <- struct{}{}:
	default:
	}
}

func (c *Controller) discoveryLoop(ctx context.Context) {
	t := time.NewTicker(c.opts.DiscoveryInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.mu.Lock()
			for _, w := range c.informers {
				close(w.stop)
			}
			c.informers = map[schema.GroupVersionResource]*watchedResource{}
			c.mu.Unlock()
			return
		case <-t.C:
		case <-c.discover:
			time.Sleep(500 * time.Millisecond) // let a new CRD be established
		}
		if err := c.discoverResources(); err != nil {
			c.opts.Log.V(1).Info("discovery", "wds", c.opts.WDS, "error", err.Error())
		}
	}
}

// discoverResources watches every listable resource not watched yet and
// forgets the ones that went away.
func (c *Controller) discoverResources() error {
	lists, err := c.disc.ServerPreferredResources()
	if lists == nil && err != nil {
		return err
	}
	want := map[schema.GroupVersionResource]bool{}
	kinds := map[schema.GroupKind]*schema.GroupVersionResource{}
	for _, l := range lists {
		gv, perr := schema.ParseGroupVersion(l.GroupVersion)
		if perr != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				continue
			}
			gk := schema.GroupKind{Group: gv.Group, Kind: r.Kind}
			kinds[gk] = nil
			gvr := gv.WithResource(r.Name)
			if (len(c.opts.Groups) == 0 || slices.Contains(c.opts.Groups, gv.Group)) &&
				slices.Contains(r.Verbs, "list") && slices.Contains(r.Verbs, "watch") && !NeverPropagated(gvr.GroupResource()) {
				want[gvr] = true
				kinds[gk] = &gvr
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.kinds = kinds
	for gvr := range want {
		if _, ok := c.informers[gvr]; !ok {
			c.watch(gvr)
		}
	}
	for gvr, w := range c.informers {
		if !want[gvr] {
			close(w.stop)
			delete(c.informers, gvr)
			c.forgetResource(gvr)
		}
	}
	return err
}

// watch starts a metadata-only informer: labels, names and versions are
// all binding needs. Called with c.mu held.
func (c *Controller) watch(gvr schema.GroupVersionResource) {
	inf := metadatainformer.NewFilteredMetadataInformer(c.meta, gvr, "", 0, cache.Indexers{}, nil).Informer()
	reg, _ := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(o any) { c.objectChanged(gvr, o, false) },
		UpdateFunc: func(_, o any) { c.objectChanged(gvr, o, false) },
		DeleteFunc: func(o any) { c.objectChanged(gvr, o, true) },
	})
	w := &watchedResource{stop: make(chan struct{}), informer: inf}
	c.informers[gvr] = w
	c.synced = append(c.synced, reg.HasSynced)
	go inf.Run(w.stop)
}

// forgetResource drops the objects of a resource that is no longer served.
// Called with c.mu held.
func (c *Controller) forgetResource(gvr schema.GroupVersionResource) {
	for k, o := range c.objects {
		if o.GVR == gvr {
			delete(c.objects, k)
			c.reevaluate(o, true)
		}
	}
}

func metaOf(o any) (*metav1.PartialObjectMetadata, bool) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	m, ok := o.(*metav1.PartialObjectMetadata)
	return m, ok
}

func (c *Controller) objectChanged(gvr schema.GroupVersionResource, raw any, deleted bool) {
	m, ok := metaOf(raw)
	if !ok {
		return
	}
	o := &Object{GVR: gvr, Namespace: m.Namespace, Name: m.Name, Labels: m.Labels, ResourceVersion: m.ResourceVersion}
	c.mu.Lock()
	defer c.mu.Unlock()
	if deleted {
		delete(c.objects, o.Key())
	} else {
		c.objects[o.Key()] = o
	}
	c.reevaluate(o, deleted)
	if gvr.Group == "" && gvr.Resource == "namespaces" {
		if deleted {
			delete(c.nsLabels, o.Name)
		} else if !maps.Equal(c.nsLabels[o.Name], o.Labels) {
			c.nsLabels[o.Name] = o.Labels
			// The objects of the namespace may now pass other selectors.
			for _, other := range c.objects {
				if other.Namespace == o.Name {
					c.reevaluate(other, false)
				}
			}
		}
	}
}

// reevaluate updates every policy's view of one object and queues the
// policies whose Binding changes. Called with c.mu held.
func (c *Controller) reevaluate(o *Object, gone bool) {
	key := o.Key()
	for name, ps := range c.policies {
		mod, ok := ps.policy.Match(o, c.nsLabels[o.Namespace])
		old, had := ps.members[key]
		switch {
		case ok && !gone:
			m := Member{Object: o, Modulation: mod}
			if !had || old.Object.ResourceVersion != o.ResourceVersion || old.Object.GVR.Version != o.GVR.Version ||
				!apiequality.Semantic.DeepEqual(old.Modulation, mod) {
				ps.members[key] = m
				c.queue.Add(name)
			}
		case had:
			delete(ps.members, key)
			c.queue.Add(name)
		}
	}
}

func (c *Controller) policyChanged(raw any) {
	u, ok := raw.(*unstructured.Unstructured)
	if !ok {
		return
	}
	var bp controlv1alpha1.BindingPolicy
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &bp); err != nil {
		c.opts.Log.Error(err, "decode BindingPolicy", "name", u.GetName())
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if ps, ok := c.policies[bp.Name]; ok && ps.bp.Generation == bp.Generation && ps.bp.UID == bp.UID {
		statusChanged := !apiequality.Semantic.DeepEqual(ps.bp.Status, bp.Status)
		ps.bp = &bp // a status or metadata change only
		switch {
		case marksOf(&bp) != ps.writtenMarks:
			c.queue.Add(bp.Name)
		case statusChanged:
			// The status is written by comparing with this copy: a
			// Binding's status that changed while this copy was behind
			// our last write would otherwise never be repeated.
			c.queue.Add(statusKey + bp.Name)
		}
		return
	}
	ps := &policyState{bp: &bp, policy: Compile(&bp), members: map[ObjectKey]Member{}}
	if prev, ok := c.policies[bp.Name]; ok && prev.bp.UID == bp.UID {
		ps.written, ps.writtenMarks = prev.written, prev.writtenMarks
	}
	for k, o := range c.objects {
		if mod, ok := ps.policy.Match(o, c.nsLabels[o.Namespace]); ok {
			ps.members[k] = Member{Object: o, Modulation: mod}
		}
	}
	c.policies[bp.Name] = ps
	c.queue.Add(bp.Name)
}

func (c *Controller) policyDeleted(ctx context.Context, raw any) {
	u, ok := keyqueue.Unstructured(raw)
	if !ok {
		return
	}
	c.mu.Lock()
	ps, had := c.policies[u.GetName()]
	delete(c.policies, u.GetName())
	if had && ps.singletonFootprint != "" {
		c.askOthersForStatus(u.GetName()) // their singleton errors counted its objects
	}
	c.mu.Unlock()
	c.queue.Add(u.GetName()) // the worker deletes the Binding
}

// bindingDeleted writes a policy's Binding again when it (or one of its
// parts) was deleted while the policy stays.
func (c *Controller) bindingDeleted(raw any) {
	u, ok := keyqueue.Unstructured(raw)
	if !ok {
		return
	}
	policy := PolicyOfBinding(u)
	c.mu.Lock()
	ps, ok := c.policies[policy]
	if ok {
		ps.rewrite = true
	}
	c.mu.Unlock()
	if ok {
		c.opts.Log.Info("Binding deleted while its BindingPolicy stays: writing it again", "wds", c.opts.WDS, "binding", u.GetName())
		c.queue.Add(policy)
	}
}

// PolicyOfBinding is the policy a Binding gitstellar wrote belongs to: the
// one named like it, or, for a part after the first, the one its label
// names.
func PolicyOfBinding(u metav1.Object) string {
	if policy, ok := u.GetLabels()[gitstellarv1alpha1.LabelBindingPolicy]; ok {
		return policy
	}
	return u.GetName()
}

// partsInWDS reads, for a policy whose Binding this process has not
// written, the parts the WDS holds: where they place each object, and how
// many there are.
func (c *Controller) partsInWDS(policy string) (map[string]int, int) {
	c.mu.Lock()
	store := c.bindings
	c.mu.Unlock()
	out, parts := map[string]int{}, 0
	if store == nil {
		return out, 0
	}
	for _, o := range store.List() {
		u, ok := o.(*unstructured.Unstructured)
		if !ok || PolicyOfBinding(u) != policy {
			continue
		}
		n := 0
		if u.GetName() != policy {
			var ok bool
			if _, n, ok = gitstellarv1alpha1.BindingPartOf(u.GetName()); !ok {
				continue
			}
		}
		var spec controlv1alpha1.BindingSpec
		if raw, ok := u.Object["spec"].(map[string]any); !ok || runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &spec) != nil {
			continue
		}
		for key := range partKeys(spec) {
			out[key] = n
		}
		parts = max(parts, n+1)
	}
	return out, parts
}

func (c *Controller) clusterChanged(raw any, deleted bool) {
	u, ok := keyqueue.Unstructured(raw)
	if !ok {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old, had := c.clusters[u.GetName()]
	if deleted {
		delete(c.clusters, u.GetName())
	} else {
		if had && maps.Equal(old.Labels, u.GetLabels()) {
			return
		}
		c.clusters[u.GetName()] = Cluster{Name: u.GetName(), Labels: u.GetLabels()}
	}
	for name := range c.policies {
		c.queue.Add(name)
	}
}

// sync writes one policy's Binding and status.
// statusKey prefixes the queue keys that only write a policy's status
// from its Binding's (a policy's name cannot hold a colon).
const statusKey = "status:"

func (c *Controller) syncKey(ctx context.Context, key string) error {
	if name, ok := strings.CutPrefix(key, statusKey); ok {
		return c.syncStatus(ctx, name)
	}
	return c.sync(ctx, key)
}

// syncStatus writes a policy's status again, from its last resolution
// and its Binding's status as the WDS has it now.
func (c *Controller) syncStatus(ctx context.Context, name string) error {
	c.mu.Lock()
	ps, ok := c.policies[name]
	if !ok || ps.resolved == nil {
		c.mu.Unlock()
		return nil // not synced yet: its sync writes the status
	}
	bp, outcome := ps.bp.DeepCopy(), *ps.resolved
	c.mu.Unlock()
	return c.writeStatus(ctx, bp, outcome.valid, outcome.errs, nil)
}

// bindingUpdated asks for the policy's status when the status of its
// Binding changed: the policy repeats its conditions and errors.
func (c *Controller) bindingUpdated(old, cur any) {
	a, ok1 := old.(*unstructured.Unstructured)
	b, ok2 := cur.(*unstructured.Unstructured)
	if ok1 && ok2 && !apiequality.Semantic.DeepEqual(a.Object["status"], b.Object["status"]) {
		c.queue.Add(statusKey + PolicyOfBinding(b))
	}
}

func (c *Controller) sync(ctx context.Context, name string) error {
	c.mu.Lock()
	ps, ok := c.policies[name]
	if !ok {
		c.mu.Unlock()
		c.events.Forget(policyRef(name, ""))
		metrics.BindingObjects.DeleteLabelValues(c.opts.WDS, name)
		metrics.BindingDestinations.DeleteLabelValues(c.opts.WDS, name)
		return c.deleteBindings(ctx, name)
	}
	bp := ps.bp.DeepCopy()
	valid := ps.policy.Valid()
	errs := slices.Clone(ps.policy.Errors)
	var spec controlv1alpha1.BindingSpec
	if valid {
		members := slices.Collect(maps.Values(ps.members))
		var clusters []string
		for _, cl := range c.clusters {
			if ps.policy.SelectsCluster(cl) {
				clusters = append(clusters, cl.Name)
			}
		}
		spec = BindingSpec(members, clusters)
		if fp := c.singletonFootprint(ps, clusters); fp != ps.singletonFootprint {
			ps.singletonFootprint = fp
			c.askOthersForStatus(name)
		}
	}
	written, writtenMarks, rewrite := ps.written, ps.writtenMarks, ps.rewrite
	c.mu.Unlock()

	var parts []controlv1alpha1.BindingSpec
	if valid {
		previous, existed := assignmentOf(written), len(written)
		if written == nil {
			previous, existed = c.partsInWDS(name)
		}
		parts = splitParts(spec, previous, existed, partBytes)
		if collision := c.partCollision(name, len(parts)); collision != "" {
			msg := fmt.Sprintf("the policy binds more objects than one Binding can list: its Binding's part %s would have the name of another policy's Binding", collision)
			return c.writeStatus(ctx, bp, false, append(errs, msg), errors.New(msg))
		}
	}
	marks := marksOf(bp)
	if valid && (written == nil || rewrite || marks != writtenMarks || !apiequality.Semantic.DeepEqual(written, parts)) {
		for _, n := range writeOrder(written, parts) {
			unchanged := !rewrite && marks == writtenMarks && n < len(written) && apiequality.Semantic.DeepEqual(written[n], parts[n]) &&
				(n > 0 || len(written) == len(parts)) // part 0 counts the parts
			if unchanged {
				continue
			}
			if err := c.writeBinding(ctx, bp, n, len(parts), parts[n]); err != nil {
				return c.writeStatus(ctx, bp, false, []string{fmt.Sprintf("write Binding %s: %v", gitstellarv1alpha1.BindingPartName(name, n), err)}, err)
			}
		}
		c.mu.Lock()
		if cur, ok := c.policies[name]; ok && cur.bp.UID == bp.UID {
			cur.written, cur.writtenMarks, cur.rewrite = parts, marks, false
		}
		c.mu.Unlock()
		objects := objectCount(parts)
		c.opts.Log.Info("binding written", "wds", c.opts.WDS, "policy", name, "objects", objects, "destinations", len(spec.Destinations), "parts", len(parts))
		metrics.BindingObjects.WithLabelValues(c.opts.WDS, name).Set(float64(objects))
		metrics.BindingDestinations.WithLabelValues(c.opts.WDS, name).Set(float64(len(spec.Destinations)))
		c.events.Emit(ctx, policyRef(bp.Name, bp.UID), events.Normal, "Bound", boundMessage(objects, spec))
	}
	return c.writeStatus(ctx, bp, valid, errs, nil)
}

// partCollision names the first part of a policy's Binding (of parts)
// whose name is another policy's, "" when none is.
func (c *Controller) partCollision(policy string, parts int) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	for n := 1; n < parts; n++ {
		if _, taken := c.policies[gitstellarv1alpha1.BindingPartName(policy, n)]; taken {
			return gitstellarv1alpha1.BindingPartName(policy, n)
		}
	}
	return ""
}

// wantsSingleton tells whether any clause of a policy asks for a singleton
// reported state.
func wantsSingleton(bp *controlv1alpha1.BindingPolicy) bool {
	for _, c := range bp.Spec.Downsync {
		if c.WantSingletonReportedState {
			return true
		}
	}
	return false
}

// PolicySummary is what a policy binds, as last written.
type PolicySummary struct {
	Policy       string
	Objects      int
	Destinations []string
	Errors       []string
}

// Summaries lists the policies, sorted by name.
func (c *Controller) Summaries() []PolicySummary {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []PolicySummary
	for name, ps := range c.policies {
		s := PolicySummary{Policy: name, Errors: slices.Clone(ps.policy.Errors)}
		if len(ps.written) > 0 {
			s.Objects = objectCount(ps.written)
			for _, d := range ps.written[0].Destinations {
				s.Destinations = append(s.Destinations, d.ClusterId)
			}
		}
		out = append(out, s)
	}
	slices.SortFunc(out, func(a, b PolicySummary) int { return strings.Compare(a.Policy, b.Policy) })
	return out
}
