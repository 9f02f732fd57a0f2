package propagate

import (
	"context"

	"k8s.io/client-go/tools/cache"
)

// WriteBindingStatusAfterSync writes a Binding's status as the transport
// does after a sync that wrote the Deliveries of generation with the given
// transform problems.
func (t *Transport) WriteBindingStatusAfterSync(ctx context.Context, name string, generation int64, problems []string) error {
	t.mu.Lock()
	t.synced[name], t.problems[name] = generation, problems
	t.mu.Unlock()
	return t.writeBindingStatus(ctx, name)
}

// BindingStore is the store of the transport's Binding informer, for a
// test to hold as stale as it wants when the transport does not run.
func (t *Transport) BindingStore() cache.Store { return t.bindings.GetStore() }
