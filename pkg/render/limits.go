package render

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
)

// Limits bound what one revision may make gitstellar read and hold.
// Repository content is untrusted: whoever can push a branch controls it,
// so every bound is enforced before the work it bounds, and hitting one
// is an error naming the input and the limit, never a silent cut. A zero
// field takes its default (DefaultLimits). Limits are set by the operator
// (--limit NAME=VALUE), never by the repository.
type Limits struct {
	// FileSize is the largest file read, in bytes.
	FileSize int64
	// ObjectSize is the largest object, in bytes of JSON: what etcd
	// refuses (1.5 MiB) is refused here, before it reaches a space.
	ObjectSize int64
	// Objects is the most objects one revision renders, all spaces
	// together.
	Objects int
	// Depth is the deepest nesting of maps and lists in one object.
	Depth int
	// Files is the most files and directories read in one revision.
	Files int
	// TotalSize is the most bytes read in one revision, all files
	// together (a file read by two kustomizations counts twice).
	TotalSize int64
	// DirDepth is the deepest directory read, in path elements.
	DirDepth int
}

// DefaultLimits are the limits of a Limits left zero.
func DefaultLimits() Limits {
	return Limits{
		FileSize:   8 << 20,
		ObjectSize: 3 << 19, // 1.5 MiB, etcd's request limit
		Objects:    50000,
		Depth:      100,
		Files:      100000,
		TotalSize:  512 << 20,
		DirDepth:   64,
	}
}

// limit is one named field of Limits.
type limit struct {
	name, help string
	size       bool
	field      func(*Limits) *int64
	intField   func(*Limits) *int
}

var limits = []limit{
	{name: "file-size", help: "largest file read", size: true, field: func(l *Limits) *int64 { return &l.FileSize }},
	{name: "object-size", help: "largest object, as JSON", size: true, field: func(l *Limits) *int64 { return &l.ObjectSize }},
	{name: "objects", help: "most objects in one revision", intField: func(l *Limits) *int { return &l.Objects }},
	{name: "depth", help: "deepest nesting in one object", intField: func(l *Limits) *int { return &l.Depth }},
	{name: "files", help: "most files and directories read in one revision", intField: func(l *Limits) *int { return &l.Files }},
	{name: "total-size", help: "most bytes read in one revision", size: true, field: func(l *Limits) *int64 { return &l.TotalSize }},
	{name: "dir-depth", help: "deepest directory read", intField: func(l *Limits) *int { return &l.DirDepth }},
}

// withDefaults fills the zero fields with their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	for _, lim := range limits {
		if lim.size && *lim.field(&l) == 0 {
			*lim.field(&l) = *lim.field(&d)
		}
		if !lim.size && *lim.intField(&l) == 0 {
			*lim.intField(&l) = *lim.intField(&d)
		}
	}
	return l
}

// Set sets one limit from NAME=VALUE; sizes take Kubernetes quantities
// (8Mi, 1500Ki, 2G).
func (l *Limits) Set(assignment string) error {
	name, value, ok := strings.Cut(assignment, "=")
	i := slices.IndexFunc(limits, func(lim limit) bool { return lim.name == name })
	if !ok || i < 0 {
		return fmt.Errorf("%q: want NAME=VALUE with NAME one of %s", assignment, strings.Join(LimitNames(), ", "))
	}
	lim := limits[i]
	if lim.size {
		q, err := resource.ParseQuantity(value)
		if err != nil || q.Sign() <= 0 {
			return fmt.Errorf("%s=%q: want a positive size such as 8Mi", name, value)
		}
		*lim.field(l) = q.Value()
		return nil
	}
	n, err := strconv.Atoi(value)
	if err != nil || n <= 0 {
		return fmt.Errorf("%s=%q: want a positive number", name, value)
	}
	*lim.intField(l) = n
	return nil
}

// String lists the limits as NAME=VALUE, defaults filled in.
func (l Limits) String() string {
	l = l.withDefaults()
	var parts []string
	for _, lim := range limits {
		if lim.size {
			parts = append(parts, lim.name+"="+resource.NewQuantity(*lim.field(&l), resource.BinarySI).String())
		} else {
			parts = append(parts, fmt.Sprintf("%s=%d", lim.name, *lim.intField(&l)))
		}
	}
	return strings.Join(parts, ",")
}

// LimitNames are the names Set takes.
func LimitNames() []string {
	names := make([]string, len(limits))
	for i, lim := range limits {
		names[i] = lim.name
	}
	return names
}

// LimitHelp describes every limit and its default, one per line.
func LimitHelp() string {
	d := DefaultLimits()
	var b strings.Builder
	for _, lim := range limits {
		v := ""
		if lim.size {
			v = resource.NewQuantity(*lim.field(&d), resource.BinarySI).String()
		} else {
			v = strconv.Itoa(*lim.intField(&d))
		}
		fmt.Fprintf(&b, "%s=%s (%s)\n", lim.name, v, lim.help)
	}
	return b.String()
}

// overLimit words a limit that was hit.
func overLimit(name, what string, max any) string {
	return fmt.Sprintf("%s is over the %s limit of %v (--limit %s=...)", what, name, max, name)
}

// byteCount words a size for messages.
func byteCount(n int64) string {
	return resource.NewQuantity(n, resource.BinarySI).String() + "B"
}
