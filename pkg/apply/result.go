package apply

import (
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitstellar/gitstellar/pkg/render"
)

// Action is what happened to one object.
type Action string

// The actions.
const (
	Created    Action = "created"
	Configured Action = "configured"
	Unchanged  Action = "unchanged"
	Deleted    Action = "deleted"
	// Skipped: left alone on purpose (pruning disabled, or not ours to prune).
	Skipped Action = "skipped"
	// Conflict: another field manager owns fields of the object.
	Conflict Action = "conflict"
	// Failed: the space refused the object.
	Failed Action = "failed"
)

// Entry is the outcome for one object.
type Entry struct {
	Key     render.Key
	Version string
	// Source is where the object was read (empty for a pruned object).
	Source render.Location
	Action Action
	// ResourceVersion is the object's as applied, or as found unchanged
	// (empty when not known: deleted, skipped, refused).
	ResourceVersion string
	// Message explains a conflict, a failure or a skip.
	Message string
	// Managers are the field managers an object conflicts with.
	Managers []string
	// Live is the object as written or read, when asked for
	// (Desired.Live) and read.
	Live *unstructured.Unstructured
}

func (e Entry) String() string {
	s := fmt.Sprintf("%s %s", e.Key, e.Action)
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// Result is the outcome of applying an object set to one space.
type Result struct {
	Space   string
	Entries []Entry
}

// Count returns how many entries had the action.
func (r *Result) Count(a Action) int {
	n := 0
	for _, e := range r.Entries {
		if e.Action == a {
			n++
		}
	}
	return n
}

// Problems are the entries that conflicted or failed.
func (r *Result) Problems() []Entry {
	var out []Entry
	for _, e := range r.Entries {
		if e.Action == Conflict || e.Action == Failed {
			out = append(out, e)
		}
	}
	return out
}

// Changed tells whether anything was written or deleted.
func (r *Result) Changed() bool {
	return r.Count(Created)+r.Count(Configured)+r.Count(Deleted) > 0
}

// Summary is one line of counts, such as "3 created, 9 unchanged".
func (r *Result) Summary() string {
	var parts []string
	for _, a := range []Action{Created, Configured, Unchanged, Deleted, Skipped, Conflict, Failed} {
		if n := r.Count(a); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, a))
		}
	}
	if len(parts) == 0 {
		return "nothing to apply"
	}
	return strings.Join(parts, ", ")
}

func (r *Result) sort() {
	slices.SortFunc(r.Entries, func(a, b Entry) int { return a.Key.Compare(b.Key) })
}
