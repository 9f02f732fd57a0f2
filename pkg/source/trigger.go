package source

import (
	"context"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
)

// Signal asks for a fetch. Signals fired while one is pending merge into
// it, so that a burst of pushes causes one fetch.
type Signal struct {
	ch chan string
}

// NewSignal returns a signal with nothing pending.
func NewSignal() *Signal { return &Signal{ch: make(chan string, 1)} }

// Fire asks for a fetch, giving the reason; it never blocks.
func (s *Signal) Fire(reason string) {
	select {
	case s.ch <- reason:
	default: // one is already pending
	}
}

// C delivers the reason of each requested fetch.
func (s *Signal) C() <-chan string { return s.ch }

// RunInterval fires the signal every d until ctx ends.
func RunInterval(ctx context.Context, d time.Duration, s *Signal) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.Fire("interval")
		}
	}
}

// ParseSchedule reads a cron schedule: five fields (minute hour day month
// weekday) or a descriptor such as @hourly or @every 10m.
func ParseSchedule(spec string) (cron.Schedule, error) {
	sched, err := cron.ParseStandard(spec)
	if err != nil {
		return nil, fmt.Errorf("schedule %q: %w", spec, err)
	}
	return sched, nil
}

// RunSchedule fires the signal at each time of the schedule until ctx ends.
func RunSchedule(ctx context.Context, sched cron.Schedule, s *Signal, now func() time.Time) {
	if now == nil {
		now = time.Now
	}
	for {
		next := sched.Next(now())
		t := time.NewTimer(time.Until(next))
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
			s.Fire("schedule")
		}
	}
}
