// Package keyqueue is the work queue of gitstellar's controllers: keys
// (policy or Binding names) wait in a de-duplicating, rate-limited queue
// (client-go's workqueue) and a few workers sync them, retrying failures
// with backoff. It also tells whether the controller is idle — nothing
// queued, nothing in flight — which `gitstellar run --once` waits for.
package keyqueue
