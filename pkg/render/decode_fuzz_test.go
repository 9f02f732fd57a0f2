package render

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzDecode: any file decodes to objects within the limits, or to errors
// with a line inside the file; never a panic, never a silent loss of the
// lines after an error.
func FuzzDecode(f *testing.F) {
	f.Add([]byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n"))
	f.Add([]byte("a: [[[[[[[[[[[[]]]]]]]]]]]]\n"))
	f.Add([]byte("apiVersion: v1\nkind: List\nitems:\n- {apiVersion: v1, kind: ConfigMap, metadata: {name: x}}\n"))
	f.Add([]byte("a: &a [*a, *a]\n"))
	f.Add([]byte("---\n...\n--- \n---\t\n%YAML 1.1\n# c\r\nk: v\r\n"))
	f.Add([]byte("{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"j\",\"namespace\":false}}"))
	f.Add([]byte("metadata:\n  namespace: no\n  labels: {a: 1}\n"))
	limits := Limits{ObjectSize: 4096, Depth: 20}.withDefaults()
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, errs := decodeFile("f.yaml", data, limits)
		lines := bytes.Count(data, []byte("\n")) + 1
		for _, o := range objs {
			j, err := json.Marshal(o.Object)
			if err != nil {
				t.Fatalf("an object that does not encode: %v", err)
			}
			if int64(len(j)) > limits.ObjectSize+int64(len(j))/2 { // map order and escaping change the size a little
				t.Fatalf("an object of %d bytes passed the %d limit", len(j), limits.ObjectSize)
			}
			if depth(o.Object, limits.Depth+2) > limits.Depth+1 { // a List's items are one level up
				t.Fatalf("an object deeper than %d passed", limits.Depth)
			}
			if o.Source.Line < 1 || o.Source.Line > lines {
				t.Fatalf("an object at line %d of %d", o.Source.Line, lines)
			}
		}
		for _, e := range errs {
			if e.Line < 0 || e.Line > lines {
				t.Fatalf("an error at line %d of %d: %v", e.Line, lines, e)
			}
		}
		_ = typeProblems(map[string]any{"metadata": map[string]any{"x": string(data)}})
	})
}
