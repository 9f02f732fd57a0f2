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
	out := report.Summary{SourceCommit: c.reported.commit, Errors: c.errorLines(c.reported.last)}
	binders := c.reported.binders
	c.reported.Unlock()
	for _, name := range slices.Sorted(maps.Keys(binders)) {
		out.Spaces = append(out.Spaces, binders[name].status.Summary())
	}
	return out
}

// summaryVersion changes whenever Summary may: at every sync recorded,
// and whenever a status controller reports a Binding again. Two equal
// versions, read one after the other, have the same Summary.
func (c *Controller) summaryVersion() string {
	c.reported.Lock()
	version := strconv.FormatUint(c.reported.syncs, 10)
	binders := c.reported.binders
	c.reported.Unlock()
	for _, name := range slices.Sorted(maps.Keys(binders)) {
		version += "/" + name + "@" + strconv.FormatUint(binders[name].status.Version(), 10)
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

// WaitReported waits until the status controllers have caught up and
// every bound object is synced and ready in every WEC whose agent this
// controller runs (others may have no agent running yet), and returns the
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
// changed, at most once per interval, until ctx ends. A writer that fails
// (the remote unreachable, another writer holding the branch) is tried
// again at the next interval; nothing is lost, as each write carries the
// whole summary.
func (c *Controller) RunStatusBranch(ctx context.Context, w *report.StatusBranchWriter, interval time.Duration) {
	if interval <= 0 {
		interval = 10 * time.Second
	}
	var written []byte
	writtenVersion := ""
	lastErr := ""
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		// Nothing changed since the last write: not even a summary to
		// make (at 10,000 placements, making and comparing one costs
		// tens of milliseconds every interval).
		version := c.summaryVersion()
		if version == writtenVersion {
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
			writtenVersion = version
			continue
		}
		if _, err := WriteStatus(ctx, w, s); err != nil {
			if err.Error() != lastErr {
				c.cfg.Log.Error(err, "status branch", "otherWriter", errors.Is(err, report.ErrOtherWriter))
			}
			lastErr = err.Error()
			continue
		}
		if lastErr != "" {
			c.cfg.Log.Info("status branch written again")
		}
		written, writtenVersion, lastErr = content, version, ""
	}
}

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
