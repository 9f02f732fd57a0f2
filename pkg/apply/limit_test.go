package apply

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// serve runs requests against a simulated apiserver that serves capacity
// requests at once in base time each, queueing the rest (latency grows
// with what is in flight beyond its capacity), the limiter keeping its
// limit of them in flight; it returns the limit after n requests.
func serve(l *concurrencyLimit, capacity int, base time.Duration, n int) int {
	for range n {
		inflight := l.current()
		latency := base
		if inflight > capacity {
			latency = base * time.Duration(inflight) / time.Duration(capacity)
		}
		l.mu.Lock()
		l.observe(latency, false)
		l.mu.Unlock()
	}
	return l.current()
}

func TestConcurrencyLimitFollowsTheAPIServer(t *testing.T) {
	// An apiserver with room: the limit grows to the maximum.
	assert.Equal(t, 64, serve(newConcurrencyLimit(64), 1000, 5*time.Millisecond, 5000))

	// One that serves 12 at once: the limit settles where latency stays
	// within the tolerance (twice the lowest), far below the maximum.
	settled := serve(newConcurrencyLimit(64), 12, 5*time.Millisecond, 20000)
	assert.GreaterOrEqual(t, settled, 12)
	assert.LessOrEqual(t, settled, int(12*limitTolerance)+8)

	// Throttled (429): halved at the end of the window, not below the minimum.
	l := newConcurrencyLimit(64)
	serve(l, 1000, time.Millisecond, 5000)
	for range 64 {
		l.mu.Lock()
		l.observe(time.Millisecond, true)
		l.mu.Unlock()
	}
	assert.Equal(t, 32, l.current())
	for range 2000 {
		l.mu.Lock()
		l.observe(time.Millisecond, true)
		l.mu.Unlock()
	}
	assert.Equal(t, limitMin, l.current())

	// One response far faster than the others (an error, say) does not
	// hold the limit down: at the minimum, the baseline is measured again.
	l = newConcurrencyLimit(64)
	l.mu.Lock()
	l.observe(time.Microsecond, false)
	l.mu.Unlock()
	assert.GreaterOrEqual(t, serve(l, 1000, 5*time.Millisecond, 20000), 60)

	// A maximum below the start is the limit.
	assert.Equal(t, 4, newConcurrencyLimit(4).current())
}
