package propagate

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// A Path is a parsed JSONPath expression of a CustomTransform's remove
// list (also of the gitstellar.io/redact annotation).
//
// Segments, after the leading `$`:
//   - `.name` and `["name"]` / `['name']`: a field (KubeStellar's own
//     segments). A dotted name is a run of characters other than
//     whitespace and `.[]()'"*?@=!<>&|,`; anything else needs brackets.
//   - `.*` and `[*]`: every field of an object, every element of a list.
//   - `[N]`: the list element at index N (N ≥ 0).
//   - `[?(expr)]`: the list elements for which expr holds.
//
// Quoted strings take the escapes of JSON (`\"`, `\'`, `\\`, `\/`, `\b`,
// `\f`, `\n`, `\r`, `\t`, `\uXXXX`). Indices and filters select list
// elements only; on an object they select nothing.
//
// A filter expression is comparisons joined with `&&` and `||` (`&&` binds
// tighter) and grouped with parentheses. A comparison is
// `left op right` with op one of `==`, `!=`, `<`, `<=`, `>`, `>=`; an
// operand is `@` (the element), `@.a.b` or `@['a']["b"]` (a value under
// it), a string, a number, `true`, `false` or `null`; at least one side
// is an `@` operand. The rules, chosen so that a filter never selects
// more than what it names:
//   - A comparison with an absent value — a missing key, or a key under
//     something that is not an object — is false, for every operator,
//     `!=` included: `[?(@.name != "x")]` does not select the elements
//     without a name.
//   - Objects and lists compare with nothing: every comparison is false.
//   - Numbers compare numerically (1 == 1.0); strings byte-wise, which for
//     UTF-8 is lexical order by code point; booleans only with == and !=.
//   - Values of different types are neither equal nor unequal: `==` and
//     `!=` are both false (`@.port != "80"` does not select port 80 given
//     as a number). The exception is null: `== null` holds for a present
//     null, `!= null` for any present value that is not null.
//   - Ordering (`<`, `<=`, `>`, `>=`) holds only between two numbers or two
//     strings; ordering against a true, false or null literal is refused.
//
// A path may not remove the object's identity: the whole object (`$`),
// its apiVersion, kind or metadata, or metadata.name or
// metadata.namespace, in any spelling (`$["kind"]`, `$.*`, `$[*]`,
// `$.*.name`, ...). ParsePath refuses such a path.
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
	kind  segmentKind
	name  string // field
	index int    // index
	cond  expr   // filter
}

func (p Path) String() string { return p.text }

// PathError is a path that does not parse or may not be used.
type PathError struct {
	// Path is the text as given.
	Path string
	// Column is the 1-based position (in characters) of the fault, 0 when
	// the path as a whole is at fault.
	Column int
	// Msg says what is wrong.
	Msg string
}

func (e *PathError) Error() string {
	if e.Column == 0 {
		return fmt.Sprintf("path %q: %s", e.Path, e.Msg)
	}
	return fmt.Sprintf("path %q: column %d: %s", e.Path, e.Column, e.Msg)
}

// maxFilterDepth bounds the nesting of parentheses in a filter.
const maxFilterDepth = 32

// ParsePath parses one expression; the error is a *PathError.
func ParsePath(text string) (Path, error) {
	p := &pathParser{text: text, end: len(strings.TrimRight(text, " \t\r\n"))}
	p.pos = len(text[:p.end]) - len(strings.TrimLeft(text[:p.end], " \t\r\n"))
	segs, err := p.path()
	if err != nil {
		return Path{text: text}, err
	}
	if msg := protected(segs); msg != "" {
		return Path{text: text}, &PathError{Path: text, Msg: msg}
	}
	return Path{text: text, segments: segs}, nil
}

// identity lists what no path may remove, field by field from the root.
var identity = [][]string{{"apiVersion"}, {"kind"}, {"metadata"}, {"metadata", "name"}, {"metadata", "namespace"}}

// protected says what of the object's identity segs would remove, or "".
func protected(segs []segment) string {
	if len(segs) == 0 {
		return "removing the whole object is not allowed"
	}
	for _, id := range identity {
		if len(segs) == len(id) && selectsAll(segs, id) {
			return fmt.Sprintf("it would remove %s, which is not allowed (apiVersion, kind, metadata, metadata.name and metadata.namespace stay)", strings.Join(id, "."))
		}
	}
	return ""
}

func selectsAll(segs []segment, keys []string) bool {
	for i, k := range keys {
		if !segs[i].selectsKey(k) {
			return false
		}
	}
	return true
}

// selectsKey tells whether the segment, applied to an object, selects its
// field k.
func (s segment) selectsKey(k string) bool {
	return s.kind == wildcard || (s.kind == field && s.name == k)
}

// pathParser reads text[pos:end].
type pathParser struct {
	text     string
	pos, end int
	depth    int
}

func (p *pathParser) errorAt(pos int, format string, args ...any) *PathError {
	return &PathError{Path: p.text, Column: utf8.RuneCountInString(p.text[:pos]) + 1, Msg: fmt.Sprintf(format, args...)}
}

// unexpected is an error at pos naming what is there.
func (p *pathParser) unexpected(want string) *PathError {
	if p.pos >= p.end {
		return p.errorAt(p.pos, "unexpected end, want %s", want)
	}
	r, _ := utf8.DecodeRuneInString(p.text[p.pos:p.end])
	return p.errorAt(p.pos, "unexpected %q, want %s", r, want)
}

func (p *pathParser) peek() byte {
	if p.pos >= p.end {
		return 0
	}
	return p.text[p.pos]
}

func (p *pathParser) eat(s string) bool {
	if strings.HasPrefix(p.text[p.pos:p.end], s) {
		p.pos += len(s)
		return true
	}
	return false
}

func (p *pathParser) expect(s, want string) error {
	if !p.eat(s) {
		return p.unexpected(want)
	}
	return nil
}

func (p *pathParser) skipSpace() {
	for p.pos < p.end && strings.IndexByte(" \t\r\n", p.text[p.pos]) >= 0 {
		p.pos++
	}
}

func (p *pathParser) path() ([]segment, error) {
	if err := p.expect("$", "$ (a path starts with $)"); err != nil {
		return nil, err
	}
	var segs []segment
	for p.pos < p.end {
		seg, err := p.segment()
		if err != nil {
			return nil, err
		}
		segs = append(segs, seg)
	}
	return segs, nil
}

func (p *pathParser) segment() (segment, error) {
	switch p.peek() {
	case '.':
		p.pos++
		if p.peek() == '.' {
			return segment{}, p.errorAt(p.pos-1, "recursive descent (..) is not supported")
		}
		if p.eat("*") {
			return segment{kind: wildcard}, nil
		}
		name, err := p.dottedName()
		return segment{kind: field, name: name}, err
	case '[':
		return p.bracket()
	}
	return segment{}, p.unexpected("'.' or '['")
}

// notInName are the bytes that end a dotted name.
const notInName = " \t\r\n.[]()'\"*?@=!<>&|,"

func (p *pathParser) dottedName() (string, error) {
	start := p.pos
	for p.pos < p.end && strings.IndexByte(notInName, p.text[p.pos]) < 0 {
		p.pos++
	}
	if p.pos == start {
		return "", p.unexpected("a field name (use [\"...\"] for other characters)")
	}
	return p.text[start:p.pos], nil
}

func (p *pathParser) bracket() (segment, error) {
	p.pos++ // [
	p.skipSpace()
	var seg segment
	switch c := p.peek(); {
	case c == '*':
		p.pos++
		seg = segment{kind: wildcard}
	case c == '"' || c == '\'':
		name, err := p.quoted()
		if err != nil {
			return seg, err
		}
		seg = segment{kind: field, name: name}
	case c == '?':
		cond, err := p.filter()
		if err != nil {
			return seg, err
		}
		seg = segment{kind: filter, cond: cond}
	case c >= '0' && c <= '9':
		n, err := p.index()
		if err != nil {
			return seg, err
		}
		seg = segment{kind: index, index: n}
	default:
		return seg, p.unexpected(`"name", N (N ≥ 0), * or ?(...)`)
	}
	p.skipSpace()
	return seg, p.expect("]", "']'")
}

// maxIndex bounds a list index; no list in an object comes near.
const maxIndex = 1 << 30

func (p *pathParser) index() (int, error) {
	start, n := p.pos, 0
	for c := p.peek(); c >= '0' && c <= '9'; c = p.peek() {
		n = n*10 + int(c-'0')
		if n > maxIndex {
			return 0, p.errorAt(start, "index too large")
		}
		p.pos++
	}
	return n, nil
}

// filter reads `?(expr)`.
func (p *pathParser) filter() (expr, error) {
	p.pos++ // ?
	p.skipSpace()
	if err := p.expect("(", "'(' (a filter is [?(...)])"); err != nil {
		return nil, err
	}
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	return e, p.expect(")", "')', && or ||")
}

// quoted reads a single- or double-quoted string with JSON's escapes.
func (p *pathParser) quoted() (string, error) {
	start, q := p.pos, p.text[p.pos]
	p.pos++
	var b strings.Builder
	for p.pos < p.end {
		c := p.text[p.pos]
		switch c {
		case q:
			p.pos++
			return b.String(), nil
		case '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			b.WriteRune(r)
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.errorAt(start, "unterminated string")
}

var simpleEscapes = map[byte]rune{'"': '"', '\'': '\'', '\\': '\\', '/': '/', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}

// escape reads one escape sequence, at its backslash.
func (p *pathParser) escape() (rune, error) {
	start := p.pos
	p.pos++ // backslash
	if p.pos >= p.end {
		return 0, p.errorAt(start, "unterminated escape")
	}
	c := p.text[p.pos]
	if r, ok := simpleEscapes[c]; ok {
		p.pos++
		return r, nil
	}
	if c != 'u' {
		return 0, p.errorAt(start, "unknown escape \\%c", c)
	}
	p.pos++
	r, err := p.hex4(start)
	if err == nil && r >= 0xDC00 && r <= 0xDFFF {
		return 0, p.errorAt(start, "lone surrogate \\u%04X", r)
	}
	if err != nil || !utf16IsHigh(r) {
		return r, err
	}
	// A surrogate pair: \uD83D\uDE00.
	if !p.eat(`\u`) {
		return 0, p.errorAt(start, "lone surrogate \\u%04X", r)
	}
	low, err := p.hex4(start)
	if err != nil {
		return 0, err
	}
	if low < 0xDC00 || low > 0xDFFF {
		return 0, p.errorAt(start, "lone surrogate \\u%04X", r)
	}
	return 0x10000 + (r-0xD800)<<10 + (low - 0xDC00), nil
}

func utf16IsHigh(r rune) bool { return r >= 0xD800 && r <= 0xDBFF }

func (p *pathParser) hex4(start int) (rune, error) {
	if p.end-p.pos < 4 {
		return 0, p.errorAt(start, "want 4 hex digits after \\u")
	}
	var r rune
	for _, c := range []byte(p.text[p.pos : p.pos+4]) {
		var d byte
		switch {
		case c >= '0' && c <= '9':
			d = c - '0'
		case c >= 'a' && c <= 'f':
			d = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			d = c - 'A' + 10
		default:
			return 0, p.errorAt(start, "want 4 hex digits after \\u")
		}
		r = r<<4 | rune(d)
	}
	p.pos += 4
	return r, nil
}

// Remove deletes from obj what the path addresses; a path that addresses
// nothing changes nothing.
func (p Path) Remove(obj map[string]any) {
	if len(p.segments) == 0 {
		return // the zero Path
	}
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

// selects tells whether the segment selects element i of a list.
func (s segment) selects(i int, child any) bool {
	switch s.kind {
	case index:
		return i == s.index
	case wildcard:
		return true
	case filter:
		return s.cond.eval(child)
	}
	return false
}

// An expr is a filter expression, evaluated on one list element.
type expr interface {
	eval(elem any) bool
}

type (
	orExpr  struct{ left, right expr }
	andExpr struct{ left, right expr }
	// cmpExpr compares two operands.
	cmpExpr struct {
		op          string
		left, right operand
	}
)

func (e orExpr) eval(elem any) bool  { return e.left.eval(elem) || e.right.eval(elem) }
func (e andExpr) eval(elem any) bool { return e.left.eval(elem) && e.right.eval(elem) }

// An operand is @ followed by keys, or a literal.
type operand struct {
	current bool     // @...
	keys    []string // under @
	literal value
}

// resolve is the operand's value for one element.
func (o operand) resolve(elem any) value {
	if !o.current {
		return o.literal
	}
	v := elem
	for _, k := range o.keys {
		m, ok := v.(map[string]any)
		if !ok {
			return value{}
		}
		if v, ok = m[k]; !ok {
			return value{}
		}
	}
	return valueOf(v)
}

func (e cmpExpr) eval(elem any) bool {
	return compare(e.op, e.left.resolve(elem), e.right.resolve(elem))
}

// or reads `and (|| and)*`.
func (p *pathParser) or() (expr, error) {
	left, err := p.and()
	for err == nil {
		p.skipSpace()
		if !p.eat("||") {
			return left, nil
		}
		var right expr
		if right, err = p.and(); err == nil {
			left = orExpr{left, right}
		}
	}
	return nil, err
}

// and reads `primary (&& primary)*`.
func (p *pathParser) and() (expr, error) {
	left, err := p.primary()
	for err == nil {
		p.skipSpace()
		if !p.eat("&&") {
			return left, nil
		}
		var right expr
		if right, err = p.primary(); err == nil {
			left = andExpr{left, right}
		}
	}
	return nil, err
}

// primary reads `( or )` or a comparison.
func (p *pathParser) primary() (expr, error) {
	p.skipSpace()
	if p.peek() != '(' {
		return p.comparison()
	}
	if p.depth == maxFilterDepth {
		return nil, p.errorAt(p.pos, "parentheses nested deeper than %d", maxFilterDepth)
	}
	p.pos++
	p.depth++
	e, err := p.or()
	if err != nil {
		return nil, err
	}
	p.depth--
	p.skipSpace()
	return e, p.expect(")", "')', && or ||")
}

// comparisonOps, the two-character ones first.
var comparisonOps = []string{"==", "!=", "<=", ">=", "<", ">"}

func (p *pathParser) comparison() (expr, error) {
	start := p.pos
	left, err := p.operand()
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	opAt := p.pos
	i := slices.IndexFunc(comparisonOps, p.eat)
	if i < 0 {
		return nil, p.unexpected("a comparison: ==, !=, <, <=, >, >=")
	}
	right, err := p.operand()
	if err != nil {
		return nil, err
	}
	op := comparisonOps[i]
	if !left.current && !right.current {
		return nil, p.errorAt(start, "a comparison needs @ on one side")
	}
	if op != "==" && op != "!=" {
		for _, o := range []operand{left, right} {
			if !o.current && o.literal.kind != number && o.literal.kind != text {
				return nil, p.errorAt(opAt, "%s compares numbers or strings only", op)
			}
		}
	}
	return cmpExpr{op: op, left: left, right: right}, nil
}

func (p *pathParser) operand() (operand, error) {
	p.skipSpace()
	switch c := p.peek(); {
	case c == '@':
		p.pos++
		keys, err := p.currentKeys()
		return operand{current: true, keys: keys}, err
	case c == '"' || c == '\'':
		s, err := p.quoted()
		return operand{literal: value{kind: text, s: s}}, err
	case c == '-' || (c >= '0' && c <= '9'):
		v, err := p.number()
		return operand{literal: v}, err
	}
	for _, w := range keywords {
		if strings.HasPrefix(p.text[p.pos:p.end], w.word) && !isWordByte(p.text, p.pos+len(w.word), p.end) {
			p.pos += len(w.word)
			return operand{literal: w.value}, nil
		}
	}
	return operand{}, p.unexpected("@, a string, a number, true, false or null")
}

// keywords are the literals that are words.
var keywords = []struct {
	word  string
	value value
}{{"true", value{kind: boolean, b: true}}, {"false", value{kind: boolean}}, {"null", value{kind: null}}}

func isWordByte(s string, i, end int) bool {
	if i >= end {
		return false
	}
	c := s[i]
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// currentKeys reads the `.a` and `['a']` segments after @.
func (p *pathParser) currentKeys() ([]string, error) {
	var keys []string
	for {
		switch p.peek() {
		case '.':
			p.pos++
			name, err := p.dottedName()
			if err != nil {
				return nil, err
			}
			keys = append(keys, name)
		case '[':
			p.pos++
			p.skipSpace()
			if c := p.peek(); c != '"' && c != '\'' {
				return nil, p.unexpected(`a quoted key: @["key"]`)
			}
			name, err := p.quoted()
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if err := p.expect("]", "']'"); err != nil {
				return nil, err
			}
			keys = append(keys, name)
		default:
			return keys, nil
		}
	}
}

// number reads a JSON number: -?digits(.digits)?([eE][+-]?digits)?.
func (p *pathParser) number() (value, error) {
	start := p.pos
	p.eat("-")
	isInt := true
	if !p.digits() {
		return value{}, p.unexpected("a digit")
	}
	if p.eat(".") {
		isInt = false
		if !p.digits() {
			return value{}, p.unexpected("a digit")
		}
	}
	if c := p.peek(); c == 'e' || c == 'E' {
		p.pos++
		isInt = false
		if c := p.peek(); c == '+' || c == '-' {
			p.pos++
		}
		if !p.digits() {
			return value{}, p.unexpected("a digit")
		}
	}
	v, ok := parseNumber(p.text[start:p.pos], isInt)
	if !ok {
		return value{}, p.errorAt(start, "number out of range")
	}
	return v, nil
}

func (p *pathParser) digits() bool {
	start := p.pos
	for c := p.peek(); c >= '0' && c <= '9'; c = p.peek() {
		p.pos++
	}
	return p.pos > start
}

// valueKind is the type of a value a filter compares.
type valueKind int

const (
	absent     valueKind = iota // no value: a missing key
	null                        // JSON null
	boolean                     // true, false
	number                      // an integer or a float
	text                        // a string
	structured                  // an object or a list
)

// value is a literal of a filter, or a value of the object.
type value struct {
	kind  valueKind
	b     bool
	s     string
	isInt bool    // number: i holds it exactly
	i     int64   // number, when isInt
	f     float64 // number, always
}

// valueOf classifies a value of an unstructured object.
func valueOf(v any) value {
	switch x := v.(type) {
	case nil:
		return value{kind: null}
	case bool:
		return value{kind: boolean, b: x}
	case string:
		return value{kind: text, s: x}
	case int64:
		return intValue(x)
	case int:
		return intValue(int64(x))
	case int32:
		return intValue(int64(x))
	case float64:
		return value{kind: number, f: x}
	case float32:
		return value{kind: number, f: float64(x)}
	case json.Number:
		if v, ok := parseNumber(string(x), !strings.ContainsAny(string(x), ".eE")); ok {
			return v
		}
	}
	return value{kind: structured}
}

func intValue(i int64) value { return value{kind: number, isInt: true, i: i, f: float64(i)} }

// parseNumber parses a number; an integer too large for int64 is a float.
func parseNumber(s string, isInt bool) (value, bool) {
	if isInt {
		if i, err := strconv.ParseInt(s, 10, 64); err == nil {
			return intValue(i), true
		}
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return value{}, false // out of range
	}
	return value{kind: number, f: f}, true
}

// compare applies a comparison operator under the rules of Path.
func compare(op string, l, r value) bool {
	switch {
	case l.kind == absent || r.kind == absent || l.kind == structured || r.kind == structured:
		return false
	case l.kind == null || r.kind == null:
		return (op == "==" && l.kind == r.kind) || (op == "!=" && l.kind != r.kind)
	case l.kind != r.kind:
		return false
	case l.kind == boolean:
		return (op == "==" && l.b == r.b) || (op == "!=" && l.b != r.b)
	}
	c, ok := order(l, r)
	if !ok {
		return false
	}
	switch op {
	case "==":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case "<=":
		return c <= 0
	case ">":
		return c > 0
	case ">=":
		return c >= 0
	}
	return false
}

// order compares two numbers or two strings; false when they do not
// compare (NaN).
func order(l, r value) (int, bool) {
	if l.kind == text {
		return strings.Compare(l.s, r.s), true
	}
	if l.isInt && r.isInt {
		return cmp.Compare(l.i, r.i), true
	}
	if math.IsNaN(l.f) || math.IsNaN(r.f) {
		return 0, false
	}
	return cmp.Compare(l.f, r.f), true
}
