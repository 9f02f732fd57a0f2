package keyqueue

import (
	"context"
	"sync/atomic"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// Queue is a queue of keys and the workers that sync them.
type Queue struct {
	q    workqueue.TypedRateLimitingInterface[string]
	busy atomic.Int32
}

// New returns an empty queue.
func New() *Queue {
	return &Queue{q: workqueue.NewTypedRateLimitingQueue(workqueue.DefaultTypedControllerRateLimiter[string]())}
}

// Add queues a key; a key already waiting is not queued twice.
func (q *Queue) Add(key string) { q.q.Add(key) }

// Idle tells whether no key waits and none is being synced.
func (q *Queue) Idle() bool { return q.q.Len() == 0 && q.busy.Load() == 0 }

// Run starts workers that sync keys until ctx ends, then shuts the queue
// down. A sync that fails is retried with backoff, after onError is told.
func (q *Queue) Run(ctx context.Context, workers int, sync func(context.Context, string) error, onError func(key string, err error)) {
	for range workers {
		go q.work(ctx, sync, onError)
	}
	go func() {
		<-ctx.Done()
		q.q.ShutDown()
	}()
}

func (q *Queue) work(ctx context.Context, sync func(context.Context, string) error, onError func(string, error)) {
	for {
		key, shutdown := q.q.Get()
		if shutdown {
			return
		}
		q.busy.Add(1)
		err := sync(ctx, key)
		q.busy.Add(-1)
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
