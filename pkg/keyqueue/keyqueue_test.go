package keyqueue

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQueue(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := New()
	var (
		mu     sync.Mutex
		synced = map[string]int{}
		failed []string
	)
	release := make(chan struct{})
	q.Add("a")
	q.Add("a") // merged with the waiting one
	q.Add("flaky")
	assert.False(t, q.Idle())
	q.Run(ctx, 2, func(_ context.Context, key string) error {
		<-release
		mu.Lock()
		defer mu.Unlock()
		synced[key]++
		if key == "flaky" && synced[key] == 1 {
			return errors.New("once")
		}
		return nil
	}, func(key string, err error) {
		mu.Lock()
		failed = append(failed, key)
		mu.Unlock()
	})
	close(release)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return synced["flaky"] == 2 && q.Idle()
	}, 5*time.Second, 5*time.Millisecond, "a failed key is retried")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]int{"a": 1, "flaky": 2}, synced)
	assert.Equal(t, []string{"flaky"}, failed)
}

// Idle is exact: a key being synced, or added again while it was, keeps
// the queue busy; a key whose sync fails leaves it idle (and Failing) until
// something adds it again.
func TestQueueIdleIsExact(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	q := New()
	entered, release := make(chan string), make(chan error)
	q.Run(ctx, 1, func(_ context.Context, key string) error {
		entered <- key
		return <-release
	}, func(string, error) {})
	assert.True(t, q.Idle(), "nothing added")

	q.Add("a")
	assert.Equal(t, "a", <-entered)
	assert.False(t, q.Idle(), "a is being synced (taken off the queue)")
	q.Add("a") // added again during its sync
	release <- nil
	assert.Equal(t, "a", <-entered, "synced again")
	assert.False(t, q.Idle())
	release <- nil
	require.Eventually(t, q.Idle, time.Second, time.Millisecond)

	// A key that keeps failing: idle between retries, and listed.
	q2 := New()
	var fixed atomic.Bool
	q2.Run(ctx, 1, func(context.Context, string) error {
		if fixed.Load() {
			return nil
		}
		return errors.New("refused")
	}, func(string, error) {})
	q2.Add("b")
	require.Eventually(t, func() bool { return q2.Idle() && len(q2.Failing()) == 1 }, time.Second, time.Millisecond,
		"a failed key waits for its retry: idle")
	assert.Equal(t, []string{"b"}, q2.Failing())
	fixed.Store(true)
	q2.Add("b")
	require.Eventually(t, func() bool { return q2.Idle() && len(q2.Failing()) == 0 }, time.Second, time.Millisecond)
}

func TestWaitOutlastsTheSyncs(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	q := New()
	started := make(chan struct{})
	var finished atomic.Bool
	q.Add("slow")
	q.Run(ctx, 1, func(context.Context, string) error {
		close(started)
		time.Sleep(200 * time.Millisecond) // a write that does not watch ctx
		finished.Store(true)
		return nil
	}, func(string, error) {})
	<-started
	cancel()
	q.Wait()
	assert.True(t, finished.Load(), "Wait returned while a sync was still running")
}
