package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/gitstellar/gitstellar/pkg/metrics"
)

// reachability probes one space's apiserver (/readyz) every probeInterval
// and says whether it answered: a space that cannot be reached does not
// stop the others, and the status branch, the log and the metrics say
// which one it is.
type reachability struct {
	space string
	mu    sync.Mutex
	err   string    // "" while it answers
	since time.Time // when err started
	// changes counts the changes of err, for the status branch's version.
	changes atomic.Uint64
}

// probeInterval is how often a space is probed; probeTimeout bounds one
// probe.
const (
	probeInterval = 5 * time.Second
	probeTimeout  = 5 * time.Second
)

// newReachability probes the space cfg reaches until ctx ends; onChange
// is called (from the probing goroutine) when it stops or starts
// answering, with the error ("" when it answers again) and, when it
// answers again, how long it did not.
func newReachability(ctx context.Context, space string, cfg *rest.Config, log logr.Logger, onChange func(err string, down time.Duration)) (*reachability, error) {
	return newReachabilityEvery(ctx, space, cfg, log, probeInterval, onChange)
}

func newReachabilityEvery(ctx context.Context, space string, cfg *rest.Config, log logr.Logger, every time.Duration, onChange func(err string, down time.Duration)) (*reachability, error) {
	probeCfg := rest.CopyConfig(cfg)
	probeCfg.Timeout = probeTimeout
	client, err := kubernetes.NewForConfig(probeCfg)
	if err != nil {
		return nil, err
	}
	r := &reachability{space: space}
	go func() {
		defer metrics.SpaceReachable.DeleteLabelValues(space)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			// The first probe at once: the gauge says nothing before.
			_, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
			if ctx.Err() != nil {
				return
			}
			msg := ""
			if err != nil {
				msg = fmt.Sprintf("the space cannot be reached: %v", err)
			}
			answers := 0.0
			if msg == "" {
				answers = 1
			}
			metrics.SpaceReachable.WithLabelValues(space).Set(answers)
			if down, changed := r.set(msg); changed {
				if msg != "" {
					log.Error(err, "space unreachable", "space", space)
				} else {
					log.Info("space reachable again", "space", space, "after", down.Round(time.Second))
				}
				onChange(msg, down)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return r, nil
}

// set records a probe's outcome; changed when it flips between answering
// and not (a different error while unreachable is not a change), with how
// long it did not answer when it answers again.
func (r *reachability) set(msg string) (down time.Duration, changed bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if (msg == "") == (r.err == "") {
		return 0, false
	}
	if msg == "" {
		down = time.Since(r.since)
	} else {
		r.since = time.Now()
	}
	r.err = msg
	r.changes.Add(1)
	return down, true
}

// Err is why the space cannot be reached, "" while it answers (or when r
// is nil: not connected yet).
func (r *reachability) Err() string {
	if r == nil {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
