package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// Summary is what the status branch reports: the source commit the spaces
// were last synced from, the errors of the latest revision, and every
// WDS's bound objects in every WEC.
func (c *Controller) Summary() report.Summary {
	c.reported.Lock()
	out := report.Summary{SourceCommit: c.reported.commit, Charts: c.reported.charts, Errors: c.errorLines(c.reported.last)}
	binders, wdses, reach := c.reported.binders, c.reported.wdses, c.reported.reach
	c.reported.Unlock()
	names := slices.Collect(maps.Keys(binders))
	for wds := range wdses {
		if _, ok := binders[wds]; !ok {
			names = append(names, wds) // declared, never reached
		}
	}
	slices.Sort(names)
	for _, name := range names {
		space := report.SpaceSummary{Name: name}
		if b, ok := binders[name]; ok {
			space = b.status.Summary()
		}
		its := wdses[name]
		switch {
		case reach[name] == nil:
			space.Unreachable = "not connected yet"
		case reach[name].Err() != "":
			space.Unreachable = reach[name].Err()
		case its != "" && reach[its] == nil:
			space.Unreachable = "its ITS " + its + ": not connected yet"
		case its != "" && reach[its].Err() != "":
			space.Unreachable = "its ITS " + its + ": " + reach[its].Err()
		}
		out.Spaces = append(out.Spaces, space)
	}
	return out
}

// summaryVersion changes whenever Summary may: at every sync recorded,
// and whenever a status controller reports a Binding again. Two equal
// versions, read one after the other, have the same Summary.
func (c *Controller) summaryVersion() string {
	c.reported.Lock()
	version := strconv.FormatUint(c.reported.syncs, 10)
	binders, reach := c.reported.binders, c.reported.reach
	c.reported.Unlock()
	for _, name := range slices.Sorted(maps.Keys(binders)) {
		version += "/" + name + "@" + strconv.FormatUint(binders[name].status.Version(), 10)
	}
	for _, name := range slices.Sorted(maps.Keys(reach)) {
		version += "/" + name + "~" + strconv.FormatUint(reach[name].changes.Load(), 10)
	}
	return version
}

// errorLines lists a sync's errors, one line each, render errors as
// file:line (from the repository's root).
func (c *Controller) errorLines(res *SyncResult) []string {
	if res == nil {
		return nil
	}
	switch {
	case res.FetchErr != nil:
		return []string{"fetch: " + res.FetchErr.Error()}
	case len(res.RenderErrors) > 0:
		lines := make([]string, len(res.RenderErrors))
		for i, e := range res.RenderErrors {
			where := e.Error()
			if c.cfg.Path != "" {
				where = e.In(c.cfg.Path)
			}
			lines[i] = fmt.Sprintf("%s (revision %s does not render; nothing applied)", where, res.Revision.Short())
		}
		return lines
	}
	return res.spaceProblems()
}

// WaitReported waits until the status controllers have caught up, every
// bound object is synced and ready in every WEC whose agent this
// controller runs (others may have no agent running yet), and what a WDS
// that left an ITS delivered to those WECs is gone, and returns the
// summary. When ctx ends first, it returns the summary as it is and the
// reason.
func (c *Controller) WaitReported(ctx context.Context) (report.Summary, error) {
	stable := 0
	for {
		c.mu.Lock()
		idle := true
		for _, b := range c.binders {
			idle = idle && b.ctl.Idle() && b.transport.Idle() && b.status.Idle()
		}
		served := map[string]bool{}
		for name := range c.agents {
			served[name] = true
		}
		// What a WDS that left an ITS delivered has left the WECs whose
		// agent this process runs (others acknowledge when they can).
		for _, r := range c.retirers {
			idle = idle && r.retirer.Idle()
			for _, wec := range r.retirer.Retiring() {
				idle = idle && !served[wec]
			}
		}
		c.mu.Unlock()
		s := c.Summary()
		if idle && readyIn(s, served) {
			stable++
		} else {
			stable = 0
		}
		if stable >= 2 {
			return s, nil
		}
		select {
		case <-ctx.Done():
			return s, fmt.Errorf("waiting for the WECs to report ready: %w", ctx.Err())
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// readyIn tells whether every object of a summary is synced and ready in
// the given WECs.
func readyIn(s report.Summary, wecs map[string]bool) bool {
	for _, sp := range s.Spaces {
		for _, o := range sp.Objects {
			for _, w := range o.WECs {
				if wecs[w.WEC] && (!w.Synced || !w.Ready) {
					return false
				}
			}
		}
	}
	return true
}

// RunStatusBranch writes the summary to the status branch whenever it
// changed, at most once per interval, until ctx ends (statusSchedule says
// when). A writer that fails (the remote unreachable, another writer
// holding the branch) is tried again an interval later; nothing is lost,
// as each write carries the whole summary.
func (c *Controller) RunStatusBranch(ctx context.Context, w *report.StatusBranchWriter, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	schedule := statusSchedule{interval: interval, quiet: min(statusQuiet, interval)}
	var written []byte
	lastErr := ""
	tick := time.NewTicker(min(statusCheck, interval))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Nothing changed since the last write: not even a summary to
		// make (at 10,000 placements, making and comparing one costs
		// tens of milliseconds).
		version := c.summaryVersion()
		now := time.Now()
		if !schedule.due(now, version) {
			continue
		}
		s := c.Summary()
		if s.SourceCommit == "" && len(s.Errors) == 0 {
			continue // nothing synced yet
		}
		content, err := json.Marshal(s)
		if err != nil {
			continue
		}
		if string(content) == string(written) {
			schedule.wrote(time.Time{}, version) // the same content: nothing to write
			continue
		}
		if _, err := WriteStatus(ctx, w, s); err != nil {
			if err.Error() != lastErr {
				c.cfg.Log.Error(err, "status branch", "otherWriter", errors.Is(err, report.ErrOtherWriter))
			}
			lastErr = err.Error()
			schedule.failed(now)
			continue
		}
		if lastErr != "" {
			c.cfg.Log.Info("status branch written again")
		}
		written, lastErr = content, ""
		schedule.wrote(now, version)
	}
}

// How often the summary's version is looked at, and how long it must stay
// the same before a write that is due anyway is made.
const (
	statusCheck = 100 * time.Millisecond
	statusQuiet = 250 * time.Millisecond
)

// statusSchedule decides when the status branch is written: when the
// summary changed since the last write, no earlier than an interval after
// the last write began, and once the summary has stayed the same for a
// moment (quiet) — the reports of several WECs often come within a second —
// or has been changing for an interval. A change after a quiet time is
// written within moments, not at the next tick of a clock; a stream of
// changes is written once per interval.
type statusSchedule struct {
	interval, quiet time.Duration
	written         string    // the version last written
	began           time.Time // when the last write began
	pending         string    // the version seen last, when not written
	since, last     time.Time // when the summary first changed since the write, and last
}

// due tells whether to write the summary at version now.
func (s *statusSchedule) due(now time.Time, version string) bool {
	if version == s.written {
		s.pending = ""
		return false
	}
	if s.pending == "" {
		s.since = now
	}
	if version != s.pending {
		s.pending, s.last = version, now
	}
	return now.Sub(s.began) >= s.interval && (now.Sub(s.last) >= s.quiet || now.Sub(s.since) >= s.interval)
}

// wrote records that the summary at version was written (or found as
// written), the write beginning at began (zero: nothing was written).
func (s *statusSchedule) wrote(began time.Time, version string) {
	s.written, s.pending = version, ""
	if !began.IsZero() {
		s.began = began
	}
}

// failed records a write that began at began and failed: it is tried
// again an interval later.
func (s *statusSchedule) failed(began time.Time) { s.began = began }

// WriteStatus commits a summary to the status branch. A summary of a
// process that has applied nothing yet (its first revision did not render)
// only records its errors, keeping what the branch says of the objects.
func WriteStatus(ctx context.Context, w *report.StatusBranchWriter, s report.Summary) (bool, error) {
	write := w.Write
	if s.SourceCommit == "" {
		write = func(ctx context.Context, s report.Summary) (bool, error) { return w.WriteErrors(ctx, s.Errors) }
	}
	committed, err := write(ctx, s)
	switch {
	case err != nil:
		metrics.StatusBranchFailures.Inc()
	case committed:
		metrics.StatusBranchCommits.Inc()
	}
	return committed, err
}
