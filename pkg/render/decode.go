package render

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"strings"

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
// does, remembering where each document starts.
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
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line++
		text := sc.Text()
		if text == "---" || strings.HasPrefix(text, "--- ") || strings.HasPrefix(text, "---\t") || text == "..." {
			flush()
			continue
		}
		if start == 0 {
			trimmed := strings.TrimSpace(text)
			if trimmed == "" || strings.HasPrefix(trimmed, "#") || strings.HasPrefix(trimmed, "%") {
				continue // blank lines, comments and directives before the content
			}
			start = line
		}
		cur.WriteString(text)
		cur.WriteByte('\n')
	}
	flush()
	return docs
}

// decodeFile reads every document of a YAML or JSON stream as objects,
// each with the line it starts on. A `kind: List` document yields its items.
// YAML is read as kubectl reads it (sigs.k8s.io/yaml), duplicate keys
// refused.
func decodeFile(file string, data []byte) ([]Object, Errors) {
	var (
		objs []Object
		errs Errors
	)
	for _, doc := range splitDocuments(data) {
		loc := Location{File: file, Line: doc.line}
		j, err := yaml.YAMLToJSONStrict(doc.data)
		if err != nil {
			if n := yamlErrorLine(err); n > 0 {
				loc.Line = doc.line + n - 1
			}
			errs = append(errs, &Error{Location: loc, Message: cleanYAMLError(err)})
			continue
		}
		j = bytes.TrimSpace(j)
		if len(j) == 0 || string(j) == "null" {
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

func yamlToUnstructured(y []byte) (*unstructured.Unstructured, error) {
	j, err := yaml.YAMLToJSON(y)
	if err != nil {
		return nil, errors.New(cleanYAMLError(err))
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(j, &obj); err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: obj}, nil
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
