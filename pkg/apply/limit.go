package apply

import (
	"context"
	"math"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// concurrencyLimit sizes how many requests a Target has in flight to what
// its apiserver serves, instead of a constant: it grows while the
// requests' latency stays near the lowest seen, and shrinks when latency
// climbs (the apiserver, or the machine it runs on, is saturated) or the
// apiserver throttles (429). It follows the gradient algorithm of
// adaptive concurrency limiters: every window of requests the limit is
// multiplied by tolerance × the lowest latency / the window's mean
// latency (at most 1), plus a queue allowance of √limit, and smoothed.
type concurrencyLimit struct {
	min, max float64

	mu       sync.Mutex
	changed  chan struct{} // closed when a slot frees or the limit changes
	limit    float64
	inflight int

	lowest    time.Duration // the lowest latency seen
	sum       time.Duration // latencies of the current window
	samples   int
	throttled bool // the current window had a 429
}

// Tuning of concurrencyLimit.
const (
	limitStart = 8
	limitMin   = 2
	// limitTolerance is how much latency may grow over the lowest seen
	// before the limit shrinks.
	limitTolerance = 2.0
	// limitSmoothing is the weight of a window's new limit.
	limitSmoothing = 0.2
)

func newConcurrencyLimit(max int) *concurrencyLimit {
	l := &concurrencyLimit{min: limitMin, max: float64(max), limit: math.Min(limitStart, float64(max)), changed: make(chan struct{})}
	if l.max < l.min {
		l.min = l.max
	}
	return l
}

// current is the limit, in requests.
func (l *concurrencyLimit) current() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return int(l.limit)
}

// acquire waits for a slot.
func (l *concurrencyLimit) acquire(ctx context.Context) error {
	for {
		l.mu.Lock()
		if l.inflight < int(l.limit) {
			l.inflight++
			l.mu.Unlock()
			return nil
		}
		changed := l.changed
		l.mu.Unlock()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-changed:
		}
	}
}

// release frees a slot and learns from the request's latency and error.
func (l *concurrencyLimit) release(latency time.Duration, err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	l.observe(latency, apierrors.IsTooManyRequests(err))
	close(l.changed)
	l.changed = make(chan struct{})
}

// observe adds one request to the window; called with l.mu held.
func (l *concurrencyLimit) observe(latency time.Duration, throttled bool) {
	if latency <= 0 {
		latency = time.Microsecond
	}
	if l.lowest == 0 || latency < l.lowest {
		l.lowest = latency
	}
	l.sum += latency
	l.samples++
	l.throttled = l.throttled || throttled
	if l.samples < int(math.Max(l.limit, limitStart)) {
		return
	}
	next := l.limit / 2
	if !l.throttled {
		mean := float64(l.sum) / float64(l.samples)
		gradient := math.Max(0.5, math.Min(1, limitTolerance*float64(l.lowest)/mean))
		next = l.limit*gradient + math.Sqrt(l.limit)
		next = (1-limitSmoothing)*l.limit + limitSmoothing*next
		if gradient <= 0.5 && l.limit <= limitStart {
			// Slow even at little concurrency: the lowest latency was an
			// outlier, or the apiserver's baseline moved.
			l.lowest = time.Duration(mean / limitTolerance)
		}
	}
	l.limit = math.Max(l.min, math.Min(l.max, next))
	l.sum, l.samples, l.throttled = 0, 0, false
}
