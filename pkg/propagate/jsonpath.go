package propagate

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// A Path is a parsed JSONPath expression of a CustomTransform's remove
// list. KubeStellar's segments: `$`, `.name`, `["name"]`; beyond them:
// `[*]`, `[N]` and filters `[?(@.key=="value")]` (`@.a.b`, single or
// double quotes, == or !=).
type Path struct {
	text     string
	segments []segment
}

type segmentKind int

const (
	field segmentKind = iota
	index
	wildcard
	filter
)

type segment struct {
	kind     segmentKind
	name     string   // field
	index    int      // index
	keys     []string // filter: the @.a.b path
	value    string   // filter: the compared value
	negative bool     // filter: != instead of ==
}

func (p Path) String() string { return p.text }

// ParsePath parses one expression.
func ParsePath(text string) (Path, error) {
	p := Path{text: text}
	s := strings.TrimSpace(text)
	if !strings.HasPrefix(s, "$") {
		return p, fmt.Errorf("%q: a path starts with $", text)
	}
	s = s[1:]
	for s != "" {
		switch {
		case s[0] == '.':
			name, rest := splitName(s[1:])
			if name == "" {
				return p, fmt.Errorf("%q: empty field name after '.'", text)
			}
			p.segments = append(p.segments, segment{kind: field, name: name})
			s = rest
		case s[0] == '[':
			seg, rest, err := parseBracket(s)
			if err != nil {
				return p, fmt.Errorf("%q: %w", text, err)
			}
			p.segments = append(p.segments, seg)
			s = rest
		default:
			return p, fmt.Errorf("%q: unexpected %q", text, s[:1])
		}
	}
	if len(p.segments) == 0 {
		return p, fmt.Errorf("%q: removing the whole object is not allowed", text)
	}
	return p, nil
}

// splitName reads a dotted field name up to the next '.' or '['.
func splitName(s string) (string, string) {
	i := strings.IndexAny(s, ".[")
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i:]
}

func parseBracket(s string) (segment, string, error) {
	end := closingBracket(s)
	if end < 0 {
		return segment{}, "", fmt.Errorf("unclosed '['")
	}
	inner, rest := strings.TrimSpace(s[1:end]), s[end+1:]
	switch {
	case inner == "*":
		return segment{kind: wildcard}, rest, nil
	case len(inner) >= 2 && (inner[0] == '"' || inner[0] == '\'') && inner[len(inner)-1] == inner[0]:
		return segment{kind: field, name: inner[1 : len(inner)-1]}, rest, nil
	case strings.HasPrefix(inner, "?(") && strings.HasSuffix(inner, ")"):
		seg, err := parseFilter(strings.TrimSpace(inner[2 : len(inner)-1]))
		return seg, rest, err
	}
	n, err := strconv.Atoi(inner)
	if err != nil || n < 0 {
		return segment{}, "", fmt.Errorf("bad subscript [%s]: want \"name\", N, * or ?(...)", inner)
	}
	return segment{kind: index, index: n}, rest, nil
}

// closingBracket finds the ']' that closes s[0], skipping quoted text.
func closingBracket(s string) int {
	var quote byte
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == ']':
			return i
		}
	}
	return -1
}

func parseFilter(expr string) (segment, error) {
	op, negative := "==", false
	i := strings.Index(expr, "==")
	if j := strings.Index(expr, "!="); j >= 0 && (i < 0 || j < i) {
		i, op, negative = j, "!=", true
	}
	if i < 0 {
		return segment{}, fmt.Errorf("filter %q: want @.key == \"value\"", expr)
	}
	left, right := strings.TrimSpace(expr[:i]), strings.TrimSpace(expr[i+len(op):])
	if !strings.HasPrefix(left, "@.") || len(left) < 3 {
		return segment{}, fmt.Errorf("filter %q: the left side must be @.key", expr)
	}
	if len(right) < 2 || (right[0] != '"' && right[0] != '\'') || right[len(right)-1] != right[0] {
		return segment{}, fmt.Errorf("filter %q: the right side must be a quoted string", expr)
	}
	keys := strings.Split(left[2:], ".")
	if slices.Contains(keys, "") {
		return segment{}, fmt.Errorf("filter %q: empty key", expr)
	}
	return segment{kind: filter, keys: keys, value: right[1 : len(right)-1], negative: negative}, nil
}

// Remove deletes from obj what the path addresses; a path that addresses
// nothing changes nothing.
func (p Path) Remove(obj map[string]any) {
	removeAt(obj, p.segments)
}

// removeAt removes segs from node and returns the node (a list may shrink).
func removeAt(node any, segs []segment) any {
	seg, last := segs[0], len(segs) == 1
	switch n := node.(type) {
	case map[string]any:
		switch seg.kind {
		case field:
			if last {
				delete(n, seg.name)
			} else if child, ok := n[seg.name]; ok {
				n[seg.name] = removeAt(child, segs[1:])
			}
		case wildcard:
			for k, child := range n {
				if last {
					delete(n, k)
				} else {
					n[k] = removeAt(child, segs[1:])
				}
			}
		}
		return n
	case []any:
		var drop []int
		for i, child := range n {
			if !seg.selects(i, child) {
				continue
			}
			if last {
				drop = append(drop, i)
			} else {
				n[i] = removeAt(child, segs[1:])
			}
		}
		for j := len(drop) - 1; j >= 0; j-- {
			n = slices.Delete(n, drop[j], drop[j]+1)
		}
		return n
	}
	return node
}

func (s segment) selects(i int, child any) bool {
	switch s.kind {
	case index:
		return i == s.index
	case wildcard:
		return true
	case filter:
		var v any = child
		for _, k := range s.keys {
			m, ok := v.(map[string]any)
			if !ok {
				return false
			}
			v = m[k]
		}
		str, ok := v.(string)
		if !ok {
			str = fmt.Sprint(v)
			if v == nil {
				return s.negative
			}
		}
		return (str == s.value) != s.negative
	}
	return false
}
