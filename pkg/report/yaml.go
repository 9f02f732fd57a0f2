package report

import (
	"bytes"
	"encoding/json"
	"strconv"

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
	return yamlv2.Marshal(yamlValue(v))
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
