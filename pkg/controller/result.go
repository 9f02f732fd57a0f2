package controller

import (
	"fmt"
	"strings"
	"time"

	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source"
)

// SpaceResult is what one sync did in one space.
type SpaceResult struct {
	Name  string
	Type  string
	Apply *apply.Result
	// Err is what kept the space from being synced (unreachable, CRDs
	// incompatible, inventory unreadable).
	Err error
}

// SyncResult is the outcome of one sync.
type SyncResult struct {
	Started  time.Time
	Duration time.Duration
	// Revision is the fetched revision (nil when the fetch failed).
	Revision *source.Revision
	// Changed: the revision differs from the last one synced.
	Changed bool
	// Skipped: the revision was already synced successfully; nothing ran.
	Skipped bool
	// FetchErr: the repository could not be fetched.
	FetchErr error
	// RenderErrors: the revision does not render; nothing was applied.
	RenderErrors render.Errors
	Spaces       []SpaceResult
}

// OK tells whether everything was fetched, rendered and applied without a
// conflict or failure.
func (r *SyncResult) OK() bool {
	if r.FetchErr != nil || len(r.RenderErrors) > 0 {
		return false
	}
	for _, s := range r.Spaces {
		if s.Err != nil || (s.Apply != nil && len(s.Apply.Problems()) > 0) {
			return false
		}
	}
	return true
}

// Err summarises what went wrong, or nil.
func (r *SyncResult) Err() error {
	switch {
	case r.FetchErr != nil:
		return r.FetchErr
	case len(r.RenderErrors) > 0:
		return fmt.Errorf("revision %s does not render; nothing applied:\n%w", r.Revision.Short(), r.RenderErrors)
	}
	problems := r.spaceProblems()
	if len(problems) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(problems, "\n"))
}

// spaceProblems lists, one line each, what kept spaces from being synced
// and the objects that did not apply (with their file:line).
func (r *SyncResult) spaceProblems() []string {
	var problems []string
	for _, s := range r.Spaces {
		if s.Err != nil {
			problems = append(problems, fmt.Sprintf("%s: %v", s.Name, s.Err))
		}
		if s.Apply != nil {
			for _, p := range s.Apply.Problems() {
				loc := ""
				if p.Source.File != "" {
					loc = p.Source.String() + ": "
				}
				problems = append(problems, fmt.Sprintf("%s: %s%s", s.Name, loc, p))
			}
		}
	}
	return problems
}
