package propagate

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// RetirerOptions configures a Retirer.
type RetirerOptions struct {
	// ITS is the name of the ITS; Source the gitstellar source whose
	// Deliveries (LabelSource) the Retirer looks after.
	ITS, Source string
	ITSConfig   *rest.Config
	// ITSCache shares the ITS's informers; nil: the Retirer makes its own.
	ITSCache *spacecache.Cache
	Log      logr.Logger
}

// Retirer takes out of an ITS the Deliveries of the WDSes that left it: a
// WDS removed from the repository, or moved to another ITS. It retires
// them as the transport retires a Binding whose policy went: part 0
// becomes a tombstone listing every object they carried, and the agent of
// the WEC deletes what it created (not what is marked orphan, not what
// another Delivery still carries) and acknowledges it; then the tombstone
// goes. A WEC whose WorkloadCluster is no longer in this ITS has no agent
// reading its mailbox here: its Deliveries are deleted, and its objects
// stay in the WEC (never deleted on a guess).
//
// Only the Deliveries of its source are looked at, and nothing is retired
// before Keep has said which WDSes stay.
type Retirer struct {
	opts  RetirerOptions
	its   dynamic.Interface
	queue *keyqueue.Queue

	deliveries, wecs cache.SharedIndexInformer
	caches           spacecache.Caches

	// writing is held by sync from its last look at keep to the end of
	// its writes for one WEC, and by Keep when a WDS comes back: once Keep
	// returns, no write of the Retirer is under way for a WDS it keeps.
	writing sync.Mutex

	mu sync.Mutex
	// keep is the WDSes of the source that name this ITS; nil until Keep.
	keep map[string]bool
	// retiring: per WDS, a transport that only retires (no WDS behind it).
	retiring map[string]*Transport
}

// NewRetirer prepares a Retirer; Run starts it.
func NewRetirer(opts RetirerOptions) (*Retirer, error) {
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	its, err := dynamic.NewForConfig(spaces.Rated(opts.ITSConfig))
	if err != nil {
		return nil, err
	}
	r := &Retirer{opts: opts, its: its, queue: keyqueue.New(), retiring: map[string]*Transport{}}
	itsCache := r.caches.Use(opts.ITSCache, its)
	if r.deliveries, err = DeliveriesInformer(itsCache); err != nil {
		return nil, err
	}
	if r.wecs, err = itsCache.Informer(WorkloadClusters, spacecache.Filter{}, nil); err != nil {
		return nil, err
	}
	return r, nil
}

// Keep says which WDSes of the source name this ITS now: the Deliveries
// of any other WDS of the source are retired.
func (r *Retirer) Keep(wdses []string) {
	if r.comingBack(wdses) {
		// Its transport starts when Keep returns: no tombstone of ours
		// may land after its first write.
		r.writing.Lock()
		defer r.writing.Unlock()
	}
	r.mu.Lock()
	changed := r.keep == nil || !maps.Equal(r.keep, setOf(wdses))
	r.keep = setOf(wdses)
	for _, wds := range wdses {
		delete(r.retiring, wds) // back: its own transport has its Deliveries
	}
	r.mu.Unlock()
	if changed {
		r.enqueueAll()
	}
}

// comingBack tells whether one of wdses was not kept until now.
func (r *Retirer) comingBack(wdses []string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.keep == nil {
		return false // nothing was retired yet
	}
	for _, wds := range wdses {
		if !r.keep[wds] {
			return true
		}
	}
	return false
}

func setOf(names []string) map[string]bool {
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// Run retires until ctx ends.
func (r *Retirer) Run(ctx context.Context) error {
	if _, err := spacecache.Handle(ctx, r.deliveries, cache.ResourceEventHandlerFuncs{
		AddFunc: r.enqueue, UpdateFunc: func(_, o any) { r.enqueue(o) }, DeleteFunc: r.enqueue,
	}); err != nil {
		return err
	}
	// A WorkloadCluster that left: its Deliveries have no agent here now.
	if _, err := spacecache.Handle(ctx, r.wecs, cache.ResourceEventHandlerFuncs{DeleteFunc: func(any) { r.enqueueAll() }}); err != nil {
		return err
	}
	r.caches.Start(ctx)
	if !spacecache.WaitForSync(ctx, r.deliveries, r.wecs) {
		return ctx.Err()
	}
	r.enqueueAll()
	r.queue.Run(ctx, 1, r.sync, func(key string, err error) {
		r.opts.Log.Error(err, "retire Deliveries", "its", r.opts.ITS, "binding", key)
	})
	<-ctx.Done()
	r.queue.Wait()
	return nil
}

// Idle tells whether the Retirer has caught up.
func (r *Retirer) Idle() bool {
	return r.deliveries.HasSynced() && r.queue.Idle()
}

// Retiring lists the WECs whose mailboxes in this ITS still hold
// Deliveries to retire, sorted.
func (r *Retirer) Retiring() []string {
	wecs := map[string]bool{}
	for _, o := range r.deliveries.GetStore().List() {
		if u, ok := o.(*unstructured.Unstructured); ok && r.ours(u) {
			wecs[u.GetLabels()[gitstellarv1alpha1.LabelCluster]] = true
		}
	}
	return slices.Sorted(maps.Keys(wecs))
}

// ours tells whether a Delivery is of the source and of a WDS that no
// longer names this ITS.
func (r *Retirer) ours(u *unstructured.Unstructured) bool {
	l := u.GetLabels()
	if r.opts.Source == "" || l[apply.LabelSource] != r.opts.Source {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keep != nil && !r.keep[l[gitstellarv1alpha1.LabelWDS]]
}

// enqueue asks for the Binding of a Delivery to retire.
func (r *Retirer) enqueue(o any) {
	if u, ok := keyqueue.Unstructured(o); ok && r.ours(u) {
		r.queue.Add(DeliveryBindingKey(u.GetLabels()[gitstellarv1alpha1.LabelWDS], u.GetLabels()[gitstellarv1alpha1.LabelBinding]))
	}
}

func (r *Retirer) enqueueAll() {
	for _, o := range r.deliveries.GetStore().List() {
		r.enqueue(o)
	}
}

// sync retires one Binding's Deliveries (key: DeliveryBindingKey).
func (r *Retirer) sync(ctx context.Context, key string) error {
	wds, binding, _ := strings.Cut(key, "/")
	r.mu.Lock()
	if r.keep == nil || r.keep[wds] {
		r.mu.Unlock()
		return nil // it came back: its transport has it
	}
	t, ok := r.retiring[wds]
	if !ok {
		t = r.retiringTransport(wds)
		r.retiring[wds] = t
	}
	r.mu.Unlock()
	objs, _ := r.deliveries.GetIndexer().ByIndex(DeliveriesByBinding, key)
	var ours []any
	for _, o := range objs {
		if u, ok := o.(*unstructured.Unstructured); ok && u.GetLabels()[apply.LabelSource] == r.opts.Source {
			ours = append(ours, o)
		}
	}
	byWEC := PartsByWEC(ours)
	for _, wec := range slices.Sorted(maps.Keys(byWEC)) {
		if err := r.retireFrom(ctx, t, wds, binding, wec, byWEC[wec]); err != nil {
			return err
		}
	}
	return nil
}

// retireFrom retires one Binding's Deliveries to one WEC, unless their WDS
// came back since sync started (its transport has them now).
func (r *Retirer) retireFrom(ctx context.Context, t *Transport, wds, binding, wec string, parts map[int]*unstructured.Unstructured) error {
	r.writing.Lock()
	defer r.writing.Unlock()
	r.mu.Lock()
	back := r.keep[wds]
	r.mu.Unlock()
	if back {
		return nil
	}
	// Asked of the ITS, not of the cache: a WorkloadCluster that moved
	// to another ITS with this WDS was pruned here in this very sync, and
	// a tombstone would have the agent still reading this mailbox delete
	// what the WEC keeps under its new ITS.
	_, err := r.its.Resource(WorkloadClusters).Get(ctx, wec, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		r.opts.Log.Info("Deliveries of a WDS that left the ITS deleted: their WEC is not in the ITS any more, its objects stay", "its", r.opts.ITS, "wds", wds, "binding", binding, "cluster", wec)
		return t.deleteParts(ctx, parts, 0)
	case err != nil:
		return err
	}
	return t.retire(ctx, binding, wec, parts, time.Now())
}

// retiringTransport is a transport of a WDS that left the ITS: it writes
// tombstones and deletes Deliveries, and reads nothing of the WDS.
func (r *Retirer) retiringTransport(wds string) *Transport {
	t := newTransport(TransportOptions{WDS: wds, Source: r.opts.Source, Log: r.opts.Log}, nil, r.its)
	t.deliveries = r.deliveries
	return t
}
