package keyqueue

import (
	"context"
	"errors"
	"sync"
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
