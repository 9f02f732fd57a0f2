package controller

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/gitstellar/gitstellar/pkg/metrics"
)

// TestReachability: a space that stops answering its readiness probe is
// reported once, with the error, and once again when it answers.
func TestReachability(t *testing.T) {
	var healthy atomic.Bool
	healthy.Store(true)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/readyz" || !healthy.Load() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok"))
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan string, 10)
	r, err := newReachabilityEvery(ctx, "wds9", &rest.Config{Host: srv.URL}, logr.Discard(), 20*time.Millisecond, func(msg string, down time.Duration) {
		changes <- msg
	})
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, r.Err(), "it answers")
	assert.Empty(t, changes, "no change while it answers")

	healthy.Store(false)
	msg := <-changes
	assert.True(t, strings.HasPrefix(msg, "the space cannot be reached: "), msg)
	assert.Equal(t, msg, r.Err())
	time.Sleep(100 * time.Millisecond)
	assert.Empty(t, changes, "reported once while it does not answer")

	healthy.Store(true)
	assert.Empty(t, <-changes, "answers again")
	assert.Empty(t, r.Err())
	assert.Equal(t, uint64(2), r.changes.Load())
	var none *reachability
	assert.Empty(t, none.Err(), "not connected yet: no error of its own")
}

// TestReachabilityFirstProbe: a space that does not answer from the start
// is known at once, not one interval later, and the gauge never said it
// answered.
func TestReachabilityFirstProbe(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not ready", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	changes := make(chan string, 10)
	r, err := newReachabilityEvery(ctx, "wds8", &rest.Config{Host: srv.URL}, logr.Discard(), time.Hour, func(msg string, _ time.Duration) {
		changes <- msg
	})
	require.NoError(t, err)
	select {
	case msg := <-changes:
		assert.True(t, strings.HasPrefix(msg, "the space cannot be reached: "), msg)
	case <-time.After(10 * time.Second):
		t.Fatal("not probed before the first interval")
	}
	assert.NotEmpty(t, r.Err())
	assert.Equal(t, 0.0, testutil.ToFloat64(metrics.SpaceReachable.WithLabelValues("wds8")))
}
