package render

import (
	"bytes"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"
)

// document is one document of a YAML stream and the line it starts on.
type document struct {
	line int // the first line of the document's content
	data []byte
}

// splitDocuments splits a YAML stream on "---" separator lines, as kubectl
// does, remembering where each document starts. Lines may be of any
// length (the file's size is bounded by the reader); nothing is dropped.
func splitDocuments(data []byte) []document {
	var (
		docs []document
		cur  bytes.Buffer
		// start is the line of the current document's first content line.
		start, line int
	)
	flush := func() {
		if start > 0 {
			docs = append(docs, document{line: start, data: append([]byte(nil), cur.Bytes()...)})
		}
		cur.Reset()
		start = 0
	}
	for rest := data; len(rest) > 0; {
		var text []byte
		if i := bytes.IndexByte(rest, '\n'); i >= 0 {
			text, rest = rest[:i], rest[i+1:]
		} else {
			text, rest = rest, nil
		}
		text = bytes.TrimSuffix(text, []byte("\r"))
		line++
		if isSeparator(text) {
			flush()
			continue
		}
		if start == 0 {
			trimmed := bytes.TrimSpace(text)
			if len(trimmed) == 0 || trimmed[0] == '#' || trimmed[0] == '%' {
				continue // blank lines, comments and directives before the content
			}
			start = line
		}
		cur.Write(text)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

func isSeparator(line []byte) bool {
	return string(line) == "---" || string(line) == "..." ||
		bytes.HasPrefix(line, []byte("--- ")) || bytes.HasPrefix(line, []byte("---\t"))
}

// decodeFile reads every document of a YAML or JSON stream as objects,
// each with the line it starts on. A `kind: List` document yields its items.
// YAML is read as kubectl reads it (sigs.k8s.io/yaml), duplicate keys
// refused.
// Each object is held to the object-size and depth limits.
func decodeFile(file string, data []byte, limits Limits) ([]Object, Errors) {
	var (
		objs []Object
		errs Errors
	)
	for _, doc := range splitDocuments(data) {
		loc := Location{File: file, Line: doc.line}
		j, err := yaml.YAMLToJSONStrict(doc.data)
		if err != nil {
			if n := yamlErrorLine(err); n > 0 {
				// The parser may say "the line after the last" for an
				// unexpected end: that is the document's last line.
				last := doc.line + bytes.Count(doc.data, []byte("\n")) - 1
				loc.Line = min(doc.line+n-1, max(last, doc.line))
			}
			errs = append(errs, &Error{Location: loc, Message: cleanYAMLError(err)})
			continue
		}
		j = bytes.TrimSpace(j)
		if len(j) == 0 || string(j) == "null" {
			continue
		}
		if problem := sizeProblem(int64(len(j)), limits); problem != "" {
			errs = append(errs, &Error{Location: loc, Message: problem})
			continue
		}
		if j[0] != '{' {
			errs = append(errs, &Error{Location: loc, Message: "not an object: a document must be a mapping with apiVersion, kind and metadata"})
			continue
		}
		var obj map[string]any
		if err := utiljson.Unmarshal(j, &obj); err != nil {
			errs = append(errs, &Error{Location: loc, Message: err.Error()})
			continue
		}
		if problem := depthProblem(obj, limits); problem != "" {
			errs = append(errs, &Error{Location: loc, Message: problem})
			continue
		}
		u := &unstructured.Unstructured{Object: obj}
		if u.IsList() {
			items, ierrs := listItems(u, loc)
			objs, errs = append(objs, items...), append(errs, ierrs...)
			continue
		}
		objs = append(objs, Object{Unstructured: u, Source: loc})
	}
	return objs, errs
}

// kustomizedObject reads one object kustomize made, held to the limits;
// problem says why it is refused.
func kustomizedObject(y []byte, loc Location, limits Limits) (Object, string) {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return Object{}, cleanYAMLError(err)
	}
	if problem := sizeProblem(int64(len(j)), limits); problem != "" {
		return Object{}, problem
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(j, &obj); err != nil {
		return Object{}, err.Error()
	}
	if problem := depthProblem(obj, limits); problem != "" {
		return Object{}, problem
	}
	return Object{Unstructured: &unstructured.Unstructured{Object: obj}, Source: loc}, ""
}

// sizeProblem refuses an object larger, as JSON, than the object-size
// limit: etcd would refuse it anyway.
func sizeProblem(n int64, limits Limits) string {
	if n <= limits.ObjectSize {
		return ""
	}
	return overLimit("object-size", "the object's size, "+byteCount(n)+",", byteCount(limits.ObjectSize))
}

// depthProblem refuses an object nested deeper than the depth limit.
func depthProblem(obj map[string]any, limits Limits) string {
	if d := depth(obj, limits.Depth+1); d > limits.Depth {
		return overLimit("depth", "the object's nesting", limits.Depth)
	}
	return ""
}

// depth is how deeply v nests maps and lists, counted up to stop.
func depth(v any, stop int) int {
	if stop <= 0 {
		return 0
	}
	deepest := 0
	switch x := v.(type) {
	case map[string]any:
		for _, child := range x {
			deepest = max(deepest, depth(child, stop-1))
		}
	case []any:
		for _, child := range x {
			deepest = max(deepest, depth(child, stop-1))
		}
	default:
		return 0
	}
	return deepest + 1
}

// listItems expands a List. The items have the List's location: the YAML
// reader does not say where each item starts.
func listItems(list *unstructured.Unstructured, loc Location) ([]Object, Errors) {
	var (
		objs []Object
		errs Errors
	)
	err := list.EachListItem(func(o runtimeObject) error {
		u, ok := o.(*unstructured.Unstructured)
		if !ok {
			errs = append(errs, &Error{Location: loc, Message: "list item is not an object"})
			return nil
		}
		objs = append(objs, Object{Unstructured: u, Source: loc})
		return nil
	})
	if err != nil {
		errs = append(errs, &Error{Location: loc, Message: fmt.Sprintf("list: %v", err)})
	}
	return objs, errs
}
