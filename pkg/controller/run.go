package controller

import (
	"context"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// RunOptions says when to sync.
type RunOptions struct {
	// Interval between fetches; 0 disables the interval.
	Interval time.Duration
	// Schedule, when set, fetches at the times of a cron schedule.
	Schedule cron.Schedule
	// Signal, when set, is fired by other triggers (the push webhook).
	Signal *source.Signal
	// OnSync, when set, is told of every sync that ran.
	OnSync func(*SyncResult)
	// ShutdownTimeout is how long a sync that is running when ctx ends may
	// go on before it is abandoned; default 30s.
	ShutdownTimeout time.Duration
}

// Run syncs at once, then whenever a trigger fires, until ctx ends. A sync
// that did not succeed is retried at the next trigger even if the ref has
// not moved.
//
// When ctx ends no new sync starts; a sync that is running finishes, or is
// abandoned after opts.ShutdownTimeout (its remaining requests fail; the
// next sync, by this process or another, applies the revision again).
// Run then stops the bind controllers, transports and agents and returns.
func (c *Controller) Run(ctx context.Context, opts RunOptions) error {
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	sig := opts.Signal
	if sig == nil {
		sig = source.NewSignal()
	}
	if opts.Interval > 0 {
		go source.RunInterval(ctx, opts.Interval, sig)
	}
	if opts.Schedule != nil {
		go source.RunSchedule(ctx, opts.Schedule, sig, nil)
	}
	// Syncs, and the controllers they start, run in a context that ends
	// only when the sync is abandoned or Run returns.
	work, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	defer c.Stop()
	sync := func() {
		res := c.Sync(work, false)
		if opts.OnSync != nil && !res.Skipped {
			opts.OnSync(res)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		sync()
		for {
			select {
			case <-ctx.Done():
				return
			case reason := <-sig.C():
				if ctx.Err() != nil {
					return
				}
				c.cfg.Log.V(1).Info("fetch", "reason", reason)
				sync()
			}
		}
	}()
	<-ctx.Done()
	select {
	case <-done:
		c.cfg.Log.Info("stopped: no sync is running")
	case <-time.After(opts.ShutdownTimeout):
		c.cfg.Log.Info("stopping: abandoning the running sync", "after", opts.ShutdownTimeout)
		abandon()
		<-done
	}
	return nil
}
