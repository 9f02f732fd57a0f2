package keyqueue

import (
	"context"
	"maps"
	"slices"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue is a queue of keys and the workers that sync them.
type Queue struct {
	q workqueue.TypedRateLimitingInterface[string]

	mu sync.Mutex
	// pending: per key added and not synced since, how many times it was
	// added; failing: the pending keys whose last sync failed and that
	// nothing added since (they wait for their retry).
	pending map[string]int
	failing map[string]bool

	workers sync.WaitGroup
}

// New returns an empty queue.
func New() *Queue {
	return &Queue{q: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]()),
		pending: map[string]int{}, failing: map[string]bool{}}
}

// Add queues a key; a key already waiting is not queued twice.
func (q *Queue) Add(key string) {
	q.mu.Lock()
	q.pending[key]++
	delete(q.failing, key)
	q.mu.Unlock()
	q.q.Add(key)
}

// Idle tells whether every key added has been synced since, but for keys
// whose last sync failed (they wait for a retry, and are Failing): no key
// waits or is being synced because something asked for it.
func (q *Queue) Idle() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.pending) == len(q.failing)
}

// Failing lists the keys whose last sync failed, sorted.
func (q *Queue) Failing() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Sorted(maps.Keys(q.failing))
}

// Run starts workers that sync keys until ctx ends, then shuts the queue
// down. A sync that fails is retried with backoff, after onError is told.
// Run returns at once; Wait waits for the workers.
func (q *Queue) Run(ctx context.Context, workers int, sync func(context.Context, string) error, onError func(key string, err error)) {
	for range workers {
		q.workers.Go(func() { q.work(ctx, sync, onError) })
	}
	go func() {
		<-ctx.Done()
		q.q.ShutDown()
	}()
}

// Wait returns once the workers that Run started have returned, after
// its ctx ended: no sync is running any more.
func (q *Queue) Wait() {
	q.workers.Wait()
}

func (q *Queue) work(ctx context.Context, sync func(context.Context, string) error, onError func(string, error)) {
	for {
		key, shutdown := q.q.Get()
		if shutdown {
			return
		}
		q.mu.Lock()
		adds := q.pending[key]
		q.mu.Unlock()
		err := sync(ctx, key)
		q.mu.Lock()
		switch {
		case err == nil && q.pending[key] == adds: // not added again meanwhile
			delete(q.pending, key)
			delete(q.failing, key)
		case err != nil && q.pending[key] == adds:
			q.failing[key] = true
		}
		q.mu.Unlock()
		if err != nil && ctx.Err() == nil {
			onError(key, err)
			q.q.AddRateLimited(key)
		} else {
			q.q.Forget(key)
		}
		q.q.Done(key)
	}
}

// Unstructured is the object an informer's event handler got, the last
// known state of a deleted one included (cache.DeletedFinalStateUnknown).
func Unstructured(o any) (*unstructured.Unstructured, bool) {
	if d, ok := o.(cache.DeletedFinalStateUnknown); ok {
		o = d.Obj
	}
	u, ok := o.(*unstructured.Unstructured)
	return u, ok
}

// ByLabel indexes the objects of an informer by the value of one label.
func ByLabel(label string) cache.IndexFunc {
	return func(o any) ([]string, error) {
		if m, ok := o.(interface{ GetLabels() map[string]string }); ok {
			return []string{m.GetLabels()[label]}, nil
		}
		return nil, nil
	}
}
