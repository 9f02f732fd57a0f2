package report

import (
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
