package spacecache

import (
	"context"
	"fmt"
	"sync"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Cache hands out the shared informers of one space.
type Cache struct {
	client dynamic.Interface

	mu        sync.Mutex
	ctx       context.Context // set by Start
	informers map[key]cache.SharedIndexInformer
}

// key names an informer: what it lists and watches.
type key struct {
	gvr schema.GroupVersionResource
	Filter
}

// Filter says which objects of a resource an informer holds.
type Filter struct {
	Namespace string // "" for every namespace
	Labels    string // a label selector, "" for any labels
	Fields    string // a field selector, "" for any fields
}

// New prepares a Cache of the space that cfg reaches; nothing is read
// until an informer is asked for and the Cache started.
func New(cfg *rest.Config) (*Cache, error) {
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return NewForClient(client), nil
}

// NewForClient is New with a client of the space.
func NewForClient(client dynamic.Interface) *Cache {
	return &Cache{client: client, informers: map[key]cache.SharedIndexInformer{}}
}

// Start runs the informers handed out so far, and those handed out later,
// until ctx ends. Only the first call counts: a component that made its
// own Cache starts it with its own context, one given a shared Cache
// starts nothing.
func (c *Cache) Start(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil {
		return
	}
	c.ctx = ctx
	for _, inf := range c.informers {
		go inf.Run(ctx.Done())
	}
}

// Informer is the informer of a resource's objects that the filter
// selects, with the given indexers added (an index of the same name
// already there is kept: the same name must mean the same index) and the
// namespace index (cache.NamespaceIndex) always present.
func (c *Cache) Informer(gvr schema.GroupVersionResource, filter Filter, indexers cache.Indexers) (cache.SharedIndexInformer, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	k := key{gvr: gvr, Filter: filter}
	inf, ok := c.informers[k]
	if !ok {
		inf = dynamicinformer.NewFilteredDynamicInformer(c.client, gvr, filter.Namespace, 0,
			cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc}, func(o *metav1.ListOptions) {
				o.LabelSelector, o.FieldSelector = filter.Labels, filter.Fields
			}).Informer()
		_ = inf.SetTransform(stripManagedFields)
		c.informers[k] = inf
		if c.ctx != nil {
			go inf.Run(c.ctx.Done())
		}
	}
	present := inf.GetIndexer().GetIndexers()
	add := cache.Indexers{}
	for name, f := range indexers {
		if _, ok := present[name]; !ok {
			add[name] = f
		}
	}
	if len(add) > 0 {
		if err := inf.AddIndexers(add); err != nil {
			return nil, fmt.Errorf("%s: %w", gvr.Resource, err)
		}
	}
	return inf, nil
}

// Informers is the number of informers handed out (tests, metrics).
func (c *Cache) Informers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.informers)
}

// Handle adds a handler to an informer until ctx ends, and then removes
// it: a shared informer outlives the components that listen to it.
func Handle(ctx context.Context, inf cache.SharedIndexInformer, h cache.ResourceEventHandler) (cache.ResourceEventHandlerRegistration, error) {
	reg, err := inf.AddEventHandler(h)
	if err != nil {
		return nil, err
	}
	context.AfterFunc(ctx, func() { _ = inf.RemoveEventHandler(reg) })
	return reg, nil
}

// WaitForSync waits until every informer has listed its objects; false
// when ctx ended first.
func WaitForSync(ctx context.Context, informers ...cache.SharedIndexInformer) bool {
	synced := make([]cache.InformerSynced, len(informers))
	for i, inf := range informers {
		synced[i] = inf.HasSynced
	}
	return cache.WaitForCacheSync(ctx.Done(), synced...)
}

// Caches gives a component the caches of the spaces it reads: the shared
// ones it was given, or caches of its own, which Start runs with the
// component's context.
type Caches struct{ own []*Cache }

// Use is shared when set, else a new Cache of client that Start runs.
func (cs *Caches) Use(shared *Cache, client dynamic.Interface) *Cache {
	if shared != nil {
		return shared
	}
	c := NewForClient(client)
	cs.own = append(cs.own, c)
	return c
}

// Start runs the component's own caches until ctx ends.
func (cs *Caches) Start(ctx context.Context) {
	for _, c := range cs.own {
		c.Start(ctx)
	}
}

// stripManagedFields drops an object's field ownership before the informer
// keeps it: no reader of a space's cache needs it (an applier reads it
// from its own writes' responses), and for objects with map lists, such as
// Bindings, it is about as large as the lists.
func stripManagedFields(o any) (any, error) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		u.SetManagedFields(nil)
	}
	return o, nil
}
