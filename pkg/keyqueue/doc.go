// Package keyqueue is the work queue of gitstellar's controllers: keys
// (policy or Binding names) wait in a de-duplicating, rate-limited queue
// (client-go's workqueue) and a few workers sync them, retrying failures
// with backoff. It also tells, exactly, whether every key added has been
// synced since (Idle), and which keys wait for a retry (Failing): the bind
// controller's part of what `gitstellar run --once` waits for.
package keyqueue
