package report

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// statusYAML writes what sigs.k8s.io/yaml writes, for every kind of value
// a status carries: status branch files keep their bytes.
func TestStatusYAMLMatchesSigsYAML(t *testing.T) {
	for name, v := range map[string]any{
		"numbers": map[string]any{"int": 3, "negative": -7, "zero": 0, "big": uint64(18446744073709551615),
			"float": 1.5, "huge": 1e21, "tiny": 1e-9, "whole float": 2.0},
		"strings that look like other things": []any{"true", "no", "1", "1.5", "", "null", "~", "- x", "a: b", "#c",
			"multi\nline\n", "  leading", "trailing ", "ünïcödé", "'quoted'", `"double"`, "0x1F", "1e3", "@at", "*star"},
		"nesting": map[string]any{"empty map": map[string]any{}, "empty list": []any{}, "nil": nil,
			"list of maps": []any{map[string]any{"b": 1, "a": []any{true, false}}}, "10": "ten", "9": "nine", "a10": 1, "a9": 2},
		"summary": Summary{SourceCommit: "abc", Errors: []string{"x: y"}, Spaces: []SpaceSummary{{Name: "wds1",
			Objects: []ObjectSummary{{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "cm",
				WECs: []WECObjectStatus{{WEC: "wec1", Synced: true, Ready: true, Status: map[string]any{"replicas": int64(3), "phase": "Running"}}}}}}}},
	} {
		t.Run(name, func(t *testing.T) {
			want, err := yaml.Marshal(v)
			require.NoError(t, err)
			got, err := statusYAML(v)
			require.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
}

// A status is written by whoever controls a WEC object: control
// characters in it are escaped, and read back as they were. (The YAML
// parser sigs.k8s.io/yaml.Marshal goes through refused them, and with them
// the whole status write.)
func TestStatusYAMLEscapesControlCharacters(t *testing.T) {
	for _, v := range []string{"\x1b[31mred\x1b[0m\x1b]0;title\a", "nul\x00byte", "bell\a", "line\u2028separator", "bom\ufeff", "del\x7f", "cr\rlf"} {
		b, err := statusYAML(map[string]any{"message": v})
		require.NoError(t, err, "%q", v)
		for _, c := range string(b) {
			assert.False(t, c < 0x20 && c != '\n' || c == 0x7f || c == 0x1b, "raw control character %q in %q", c, b)
		}
		var back map[string]any
		require.NoError(t, yaml.Unmarshal(b, &back))
		assert.Equal(t, v, back["message"])
	}
}

// The fast path of the conversion writes what sigs.k8s.io/yaml writes, on
// random documents built from the values a status carries and the strings
// YAML treats specially; and it is the path most status documents take.
func TestStatusYAMLFastPathMatchesSigsYAML(t *testing.T) {
	words := []string{"a", "wec01", "Deployment", "apps/v1", "ready-replicas", "x.y_z", "Yes", "no", "ON", "null", "True",
		"0 of 1 replicas available", "a: b", "#c", "- x", "  lead", "trail ", "", "1", "1.5", "0x1F", "1e3", "~", "'q'", `"d"`,
		"ünï", "multi\nline", "tab\there", "@at", "*star", "&anchor", "!tag", "%pct", "`tick", "a #b", "a:b", "{x}", "[y]", "x,y",
		"2026-12-06", "12:30", "Deployment is available (3 of 3)", "Replicas: 0/1", "Available: 3/3", "it's: quoted", "x: y #z", "-a: b", "a: b:", "k: 'v'", "tab:\tx", "ü: x", "a  b", "x (y", "a =b", "no such thing", "Yes it is", "e 1", "=", "?", "-", ".inf", "-.5", "+1", "0o17", "1_000",
		strings.Repeat("long words ", 9), strings.Repeat("x", 90), strings.Repeat("ab ", 23) + "end", strings.Repeat("word ", 13) + "w", "Ready=True at 2026-12-06T23:00:00Z after 3 tries"}
	keys := []string{"a", "b", "wec", "status", "observedGeneration", "ready", "y", "on", "10", "9", "a b", "", "x:y", "Z", "é"}
	rng := rand.New(rand.NewPCG(15, 16))
	var value func(depth int) any
	value = func(depth int) any {
		switch k := rng.IntN(10); {
		case depth < 4 && k < 2:
			m := map[string]any{}
			for range rng.IntN(4) {
				m[keys[rng.IntN(len(keys))]] = value(depth + 1)
			}
			return m
		case depth < 4 && k < 4:
			l := []any{}
			for range rng.IntN(4) {
				l = append(l, value(depth+1))
			}
			return l
		case k == 4:
			return rng.IntN(2000) - 1000
		case k == 5:
			return []any{nil, true, false, 1.5, 1e21, uint64(1) << 63}[rng.IntN(6)]
		default:
			return words[rng.IntN(len(words))]
		}
	}
	fast := 0
	const documents = 20000
	for i := range documents {
		// Documents shaped as status files: a map at the root, mostly of
		// plain keys.
		doc := map[string]any{"wec": words[rng.IntN(6)], "status": value(1)}
		if i%5 == 0 {
			doc = map[string]any{"x": value(0)}
		}
		j, err := json.Marshal(doc)
		require.NoError(t, err)
		want, err := yaml.JSONToYAML(j)
		require.NoError(t, err)
		got, err := jsonToYAML(j)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got), "document %d: %s", i, j)
		var v any
		d := json.NewDecoder(bytes.NewReader(j))
		d.UseNumber()
		require.NoError(t, d.Decode(&v))
		if _, ok := fastYAML(yamlValue(v)); ok {
			fast++
		}
	}
	assert.Greater(t, fast, documents/4, "the fast path is taken")
	t.Logf("%d of %d documents took the fast path", fast, documents)

	// What a status file of a bound object holds takes it.
	j, err := json.Marshal(ObjectSummary{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "bench", Name: "o0001",
		Policies: []string{"bench"}, WECs: []WECObjectStatus{{WEC: "wec01", Synced: true, Ready: false, Message: "0 of 1 replicas available"}}})
	require.NoError(t, err)
	var v any
	require.NoError(t, json.Unmarshal(j, &v))
	_, ok := fastYAML(yamlValue(v))
	assert.True(t, ok)
}
