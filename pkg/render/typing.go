package render

import (
	"fmt"
	"slices"
	"strings"
)

// typeProblems checks the types of the fields gitstellar and the API
// servers read from every object, as kubectl's decoder does: a YAML
// `namespace: no` is the boolean false, which must not become "no
// namespace". Each problem names the field, the type found and, for a
// scalar, how to write it as a string.
func typeProblems(obj map[string]any) []string {
	var problems []string
	str := func(field string, v any, present bool) {
		if !present || v == nil {
			return // null is no value, as the API servers read it
		}
		if _, ok := v.(string); !ok {
			problems = append(problems, notAString(field, v))
		}
	}
	for _, f := range []string{"apiVersion", "kind"} {
		v, ok := obj[f]
		str(f, v, ok)
	}
	meta, present := obj["metadata"]
	if !present || meta == nil {
		return problems
	}
	m, ok := meta.(map[string]any)
	if !ok {
		return append(problems, fmt.Sprintf("metadata: want a map, got %s", typeName(meta)))
	}
	for _, f := range []string{"name", "namespace", "generateName"} {
		v, ok := m[f]
		str("metadata."+f, v, ok)
	}
	for _, f := range []string{"labels", "annotations"} {
		v, ok := m[f]
		if !ok || v == nil {
			continue
		}
		entries, isMap := v.(map[string]any)
		if !isMap {
			problems = append(problems, fmt.Sprintf("metadata.%s: want a map of strings, got %s", f, typeName(v)))
			continue
		}
		keys := make([]string, 0, len(entries))
		for k := range entries {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			str(fmt.Sprintf("metadata.%s[%q]", f, k), entries[k], true)
		}
	}
	return problems
}

func notAString(field string, v any) string {
	msg := fmt.Sprintf("%s: want a string, got %s", field, typeName(v))
	switch v.(type) {
	case bool, float64, int64, int:
		// YAML 1.1 reads yes/no/on/off as booleans: say how to keep the text.
		msg += fmt.Sprintf(" (%v); quote it if a string is meant", v)
	}
	return msg
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case float64, int64, int:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case string:
		return "a string"
	}
	return strings.TrimPrefix(fmt.Sprintf("%T", v), "*")
}
