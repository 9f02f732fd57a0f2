package report

import (
	"bytes"
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	yamlv2 "go.yaml.in/yaml/v2"
)

// statusYAML is v as YAML, byte for byte what sigs.k8s.io/yaml.Marshal
// writes (JSON field names, keys sorted, integers kept integers), without
// its detour through the YAML parser: that parser buffers every token of
// a document, tens of megabytes for a policy binding thousands of
// objects.
func statusYAML(v any) ([]byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return jsonToYAML(j)
}

// jsonToYAML converts a JSON document to YAML as statusYAML does.
func jsonToYAML(j []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(j))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	v = yamlValue(v)
	if b, ok := fastYAML(v); ok {
		return b, nil
	}
	return yamlv2.Marshal(v)
}

// yamlValue turns JSON numbers into the Go numbers the YAML parser would
// have resolved them to (int64, then uint64, then float64), in place.
func yamlValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			x[k] = yamlValue(e)
		}
	case []any:
		for i, e := range x {
			x[i] = yamlValue(e)
		}
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return i
		}
		if u, err := strconv.ParseUint(string(x), 10, 64); err == nil {
			return u
		}
		f, _ := x.Float64()
		return f
	}
	return v
}

// The fast path of jsonToYAML: most of a status is maps, lists, numbers,
// booleans and short strings, which yaml.v2 writes in a way simple to
// repeat without its emitter (which costs most of a write of the status
// branch when every object's status changed). What it does not repeat
// with certainty (floats, keys and strings that are not plain words,
// strings that could be folded or span lines) makes the whole document
// go through yaml.v2; a randomised test holds the two to the same bytes.

// yamlWidth is yaml.v2's preferred line width: a scalar that would cross
// it can be folded.
const yamlWidth = 80

// fastYAML writes v as yaml.v2.Marshal does, or says it cannot.
func fastYAML(v any) ([]byte, bool) {
	w := yamlWriter{b: make([]byte, 0, 256)}
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			return []byte("{}\n"), true
		}
		w.mapping(x, 0, false)
	case []any:
		if len(x) == 0 {
			return []byte("[]\n"), true
		}
		w.sequence(x, 0)
	default:
		s, ok := scalarYAML(v, 0)
		if !ok {
			return nil, false
		}
		w.b = append(append(w.b, s...), '\n')
	}
	return w.b, !w.failed
}

type yamlWriter struct {
	b      []byte
	failed bool
}

func (w *yamlWriter) pad(n int) {
	for range n {
		w.b = append(w.b, ' ')
	}
}

// mapping writes a block mapping at indent; inline: its first key goes on
// the current line (an element of a sequence).
func (w *yamlWriter) mapping(m map[string]any, indent int, inline bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !plainWord(k) {
			w.failed = true
			return
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 || !inline {
			w.pad(indent)
		}
		w.b = append(append(w.b, k...), ':')
		w.value(m[k], indent, indent+len(k)+2)
		if w.failed {
			return
		}
	}
}

// value writes what follows "key:" or "-": col is the column a scalar
// would start at.
func (w *yamlWriter) value(v any, indent, col int) {
	if w.empty(v) {
		return
	}
	switch x := v.(type) {
	case map[string]any:
		w.b = append(w.b, '\n')
		w.mapping(x, indent+2, false)
	case []any:
		w.b = append(w.b, '\n')
		w.sequence(x, indent) // yaml.v2 does not indent a sequence in a mapping
	default:
		s, ok := scalarYAML(v, col)
		if !ok {
			w.failed = true
			return
		}
		w.b = append(append(append(w.b, ' '), s...), '\n')
	}
}

// empty writes an empty map or list in flow style, and tells whether v
// was one.
func (w *yamlWriter) empty(v any) bool {
	switch x := v.(type) {
	case map[string]any:
		if len(x) == 0 {
			w.b = append(w.b, " {}\n"...)
			return true
		}
	case []any:
		if len(x) == 0 {
			w.b = append(w.b, " []\n"...)
			return true
		}
	}
	return false
}

// sequence writes a block sequence at indent.
func (w *yamlWriter) sequence(items []any, indent int) {
	for _, item := range items {
		w.pad(indent)
		w.b = append(w.b, '-')
		if w.empty(item) {
			continue
		}
		switch x := item.(type) {
		case map[string]any:
			w.b = append(w.b, ' ')
			w.mapping(x, indent+2, true)
		case []any:
			w.b = append(w.b, ' ')
			w.inlineSequence(x, indent+2)
		default:
			w.value(item, indent, indent+2)
		}
		if w.failed {
			return
		}
	}
}

// inlineSequence writes a sequence whose first "-" goes on the current
// line (an element of a sequence).
func (w *yamlWriter) inlineSequence(items []any, indent int) {
	first := w.b
	w.sequence(items, indent)
	// sequence padded its first element: take that padding out.
	rest := w.b[len(first)+indent:]
	w.b = append(first, rest...)
}

// scalarYAML writes a scalar starting at column col as yaml.v2 would, on
// one line; false when it leaves that to yaml.v2.
func scalarYAML(v any, col int) ([]byte, bool) {
	switch x := v.(type) {
	case nil:
		return []byte("null"), true
	case bool:
		return strconv.AppendBool(nil, x), true
	case int64:
		return strconv.AppendInt(nil, x, 10), true
	case uint64:
		return strconv.AppendUint(nil, x, 10), true
	case string:
		if plainWord(x) || plainText(x) && col+len(x) <= yamlWidth {
			return []byte(x), true
		}
		if x == "" {
			return []byte(`""`), true
		}
		if singleQuoted(x) && col+len(x)+2+strings.Count(x, "'") <= yamlWidth {
			return append(append([]byte{'\''}, strings.ReplaceAll(x, "'", "''")...), '\''), true
		}
		if col+len(x)+2 > yamlWidth || strings.ContainsAny(x, "\n\r") {
			return nil, false
		}
		b, err := yamlv2.Marshal(x)
		if err != nil || col+len(b) > yamlWidth || bytes.IndexByte(b, '\n') != len(b)-1 {
			return nil, false
		}
		return b[:len(b)-1], true
	}
	return nil, false
}

// plainWord tells whether yaml.v2 writes s as it is, anywhere: a letter,
// then letters, digits and ._/- only, and not a word YAML 1.1 reads as a
// boolean or null.
func plainWord(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isLetter(c) && (c < '0' || c > '9') && c != '.' && c != '_' && c != '/' && c != '-' {
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

// singleQuoted tells whether yaml.v2 writes s in single quotes: printable
// ASCII that no plain scalar can hold (": " or " #" inside) and that has
// no space at either end.
func singleQuoted(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || !strings.Contains(s, ": ") && !strings.Contains(s, " #") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// plainText tells whether yaml.v2 writes s as it is when it fits on the
// line: words of plainWord's characters and ()= separated by single
// spaces, starting with a letter (so that it is no number, date or time).
func plainText(s string) bool {
	if s == "" || !isLetter(s[0]) || s[len(s)-1] == ' ' {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case isLetter(c), c >= '0' && c <= '9', strings.IndexByte("._/-()=", c) >= 0:
		case c == ' ' && s[i-1] != ' ':
		default:
			return false
		}
	}
	switch strings.ToLower(s) {
	case "y", "n", "yes", "no", "on", "off", "true", "false", "null":
		return false
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
