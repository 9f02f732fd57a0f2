package render

import (
	"cmp"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
)

// Location is where an object or an error comes from: a file relative to
// the repository root, and a line (0 when unknown, as for kustomize output).
type Location struct {
	File string `json:"file"`
	Line int    `json:"line,omitempty"`
}

func (l Location) String() string {
	if l.Line > 0 {
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	return l.File
}

// Error is one problem of the repository content, at a location.
type Error struct {
	Location
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Location.String() + ": " + e.Message }

// In returns the error with its file relative to dir instead of the
// repository root, for people working in another directory.
func (e *Error) In(dir string) string {
	loc := e.Location
	loc.File = filepath.Join(dir, loc.File)
	if strings.HasSuffix(e.File, "/") {
		loc.File += "/"
	}
	return loc.String() + ": " + e.Message
}

// Errors is every problem of a revision, sorted by location. It is the
// error Render returns when the revision cannot be applied.
type Errors []*Error

func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

func (es Errors) sorted() Errors {
	slices.SortStableFunc(es, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line), cmp.Compare(a.Message, b.Message))
	})
	return es
}

// errorf records an error at a location.
func (r *renderer) errorf(loc Location, format string, args ...any) {
	r.errs = append(r.errs, &Error{Location: loc, Message: fmt.Sprintf(format, args...)})
}
