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
}

// Run syncs at once, then whenever a trigger fires, until ctx ends. A sync
// that did not succeed is retried at the next trigger even if the ref has
// not moved.
func (c *Controller) Run(ctx context.Context, opts RunOptions) error {
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
	sync := func() {
		res := c.Sync(ctx, false)
		if opts.OnSync != nil && !res.Skipped {
			opts.OnSync(res)
		}
	}
	sync()
	for {
		select {
		case <-ctx.Done():
			return nil
		case reason := <-sig.C():
			c.cfg.Log.V(1).Info("fetch", "reason", reason)
			sync()
		}
	}
}
