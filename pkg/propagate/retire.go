package propagate

import (
	"context"
	"maps"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
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
		parts := byWEC[wec]
		r.mu.Lock()
		back := r.keep[wds]
		r.mu.Unlock()
		if back { // since this sync started: its transport has them now
			return nil
		}
		if _, declared, _ := r.wecs.GetStore().GetByKey(wec); !declared {
			r.opts.Log.Info("Deliveries of a WDS that left the ITS deleted: their WEC is not in the ITS any more, its objects stay", "its", r.opts.ITS, "wds", wds, "binding", binding, "cluster", wec)
			if err := t.deleteParts(ctx, parts, 0); err != nil {
				return err
			}
			continue
		}
		if err := t.retire(ctx, binding, wec, parts, time.Now()); err != nil {
			return err
		}
	}
	return nil
}

// retiringTransport is a transport of a WDS that left the ITS: it writes
// tombstones and deletes Deliveries, and reads nothing of the WDS.
func (r *Retirer) retiringTransport(wds string) *Transport {
	t := newTransport(TransportOptions{WDS: wds, Source: r.opts.Source, Log: r.opts.Log}, nil, r.its)
	t.deliveries = r.deliveries
	return t
}
