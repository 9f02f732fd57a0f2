package propagate

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRemovePaths(t *testing.T) {
	doc := `
spec:
  paused: true
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
  - {name: sidecar, image: s}
metadata:
  labels: {example.com/team: x, keep: y}
`
	cases := map[string]string{
		`$.spec.paused`:                                                 "spec.paused gone",
		`$.metadata.labels["example.com/team"]`:                         "a key with dots",
		`$["spec"]['paused']`:                                           "bracketed names, both quotes",
		`$.spec.containers[1]`:                                          "an index",
		`$.spec.containers[*].image`:                                    "a wildcard",
		`$.spec.containers[?(@.name=="sidecar")]`:                       "a filter",
		`$.spec.containers[?(@.name != "sidecar")].env[?(@.name=='A')]`: "a negative filter, then a nested one",
		`$.spec.nothing.here`:                                           "a path to nothing",
	}
	want := map[string]string{
		`$.spec.paused`: `
spec:
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
  - {name: sidecar, image: s}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.metadata.labels["example.com/team"]`: `
spec:
  paused: true
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
  - {name: sidecar, image: s}
metadata: {labels: {keep: y}}`,
		`$["spec"]['paused']`: `
spec:
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
  - {name: sidecar, image: s}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.spec.containers[1]`: `
spec:
  paused: true
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.spec.containers[*].image`: `
spec:
  paused: true
  containers:
  - {name: app, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
  - {name: sidecar}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.spec.containers[?(@.name=="sidecar")]`: `
spec:
  paused: true
  containers:
  - {name: app, image: a, env: [{name: A, value: "1"}, {name: B, value: "2"}]}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.spec.containers[?(@.name != "sidecar")].env[?(@.name=='A')]`: `
spec:
  paused: true
  containers:
  - {name: app, image: a, env: [{name: B, value: "2"}]}
  - {name: sidecar, image: s}
metadata: {labels: {example.com/team: x, keep: y}}`,
		`$.spec.nothing.here`: doc,
	}
	for path, what := range cases {
		t.Run(what, func(t *testing.T) {
			p, err := ParsePath(path)
			require.NoError(t, err)
			u := object(t, doc)
			p.Remove(u.Object)
			if diff := cmp.Diff(object(t, want[path]).Object, u.Object); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
		})
	}
}

// pods is a list whose elements differ in every way a filter looks at.
const pods = `
spec:
  containers:
  - {name: app, image: a, ports: [{containerPort: 80}, {containerPort: 8080, name: alt}], replicas: 2, ratio: 0.5, debug: true, note: null}
  - {name: sidecar, image: s, ports: [{containerPort: 9090}], replicas: 10, debug: false}
  - {image: nameless, ports: [{containerPort: 70}], replicas: "2"}
  - {name: "o'brien", image: q, labels: {app.kubernetes.io/name: web}}
  args: ["--debug", "--port=80", 7]
`

// TestFilters: which list elements a filter selects, by the names of
// what is left after removing them.
func TestFilters(t *testing.T) {
	cases := map[string]struct {
		path string
		kept []string // images of the containers left
	}{
		"==":                       {`$.spec.containers[?(@.name == "app")]`, []string{"s", "nameless", "q"}},
		"!= skips a missing key":   {`$.spec.containers[?(@.name != "sidecar")]`, []string{"s", "nameless"}},
		"&&":                       {`$.spec.containers[?(@.name == "app" && @.image == "a")]`, []string{"s", "nameless", "q"}},
		"&& both must hold":        {`$.spec.containers[?(@.name == "app" && @.image == "s")]`, []string{"a", "s", "nameless", "q"}},
		"||":                       {`$.spec.containers[?(@.name == "app" || @.image == "nameless")]`, []string{"s", "q"}},
		"&& binds tighter than ||": {`$.spec.containers[?(@.name == "q" || @.image == "q" && @.name == "o'brien")]`, []string{"a", "s", "nameless"}},
		"parentheses":              {`$.spec.containers[?((@.name == "app" || @.name == "sidecar") && @.debug == false)]`, []string{"a", "nameless", "q"}},
		"numbers numerically":      {`$.spec.containers[?(@.replicas > 3)]`, []string{"a", "nameless", "q"}},
		"1 == 1.0":                 {`$.spec.containers[?(@.replicas == 2.0)]`, []string{"s", "nameless", "q"}},
		"floats":                   {`$.spec.containers[?(@.ratio < 1e0)]`, []string{"s", "nameless", "q"}},
		"<= and >=":                {`$.spec.containers[?(@.replicas >= 2 && @.replicas <= 2)]`, []string{"s", "nameless", "q"}},
		"a string is not a number": {`$.spec.containers[?(@.replicas == 2)]`, []string{"s", "nameless", "q"}},
		"!= across types is false": {`$.spec.containers[?(@.replicas != "10")]`, []string{"a", "s", "q"}},
		"strings lexically":        {`$.spec.containers[?(@.image < "p")]`, []string{"s", "q"}},
		"booleans":                 {`$.spec.containers[?(@.debug == true)]`, []string{"s", "nameless", "q"}},
		"== null: a present null":  {`$.spec.containers[?(@.note == null)]`, []string{"s", "nameless", "q"}},
		"!= null: present values":  {`$.spec.containers[?(@.image != null)]`, nil},
		"!= null skips missing":    {`$.spec.containers[?(@.note != null)]`, []string{"a", "s", "nameless", "q"}},
		"an escaped quote":         {`$.spec.containers[?(@.name == 'o\'brien')]`, []string{"a", "s", "nameless"}},
		"a \\u escape":             {`$.spec.containers[?(@.name == "\u0061pp")]`, []string{"s", "nameless", "q"}},
		"@['key'] with dots":       {`$.spec.containers[?(@.labels['app.kubernetes.io/name'] == "web")]`, []string{"a", "s", "nameless"}},
		"@ under a non-object":     {`$.spec.containers[?(@.image.x == "a")]`, []string{"a", "s", "nameless", "q"}},
		"objects compare not":      {`$.spec.containers[?(@.labels != "x")]`, []string{"a", "s", "nameless", "q"}},
		"literal on the left":      {`$.spec.containers[?("sidecar" == @.name)]`, []string{"a", "nameless", "q"}},
		"two @ operands":           {`$.spec.containers[?(@.name == @.image)]`, []string{"a", "s", "nameless", "q"}},
	}
	for what, c := range cases {
		t.Run(what, func(t *testing.T) {
			p, err := ParsePath(c.path)
			require.NoError(t, err)
			u := object(t, pods)
			p.Remove(u.Object)
			assert.Equal(t, c.kept, images(u.Object), c.path)
		})
	}
}

func images(obj map[string]any) []string {
	var out []string
	for _, c := range obj["spec"].(map[string]any)["containers"].([]any) {
		out = append(out, c.(map[string]any)["image"].(string))
	}
	return out
}

// TestFilterRemovesOnlyWhatItNames is the case of the old parser: a
// negative filter removed the ports of a container without a name, and a
// filter with && matched nothing.
func TestFilterRemovesOnlyWhatItNames(t *testing.T) {
	u := object(t, pods)
	for _, text := range []string{
		`$.spec.containers[?(@.name != "sidecar")].ports[?(@.containerPort == 80)]`,
		`$.spec.containers[?(@.name == "app" && @.image == "a")].ports[?(@.name == "alt")]`,
		`$.spec.args[?(@ == "--debug" || @ == 7)]`,
	} {
		p, err := ParsePath(text)
		require.NoError(t, err)
		p.Remove(u.Object)
	}
	want := object(t, `
spec:
  containers:
  - {name: app, image: a, ports: [], replicas: 2, ratio: 0.5, debug: true, note: null}
  - {name: sidecar, image: s, ports: [{containerPort: 9090}], replicas: 10, debug: false}
  - {image: nameless, ports: [{containerPort: 70}], replicas: "2"}
  - {name: "o'brien", image: q, labels: {app.kubernetes.io/name: web}}
  args: ["--port=80"]
`)
	if diff := cmp.Diff(want.Object, u.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// TestParsePathErrors: what is refused, and where.
func TestParsePathErrors(t *testing.T) {
	cases := []struct {
		path   string
		column int
		msg    string
	}{
		{"", 1, "want $"},
		{"spec.x", 1, "want $"},
		{"$.", 3, "want a field name"},
		{"$[", 3, "unexpected end"},
		{"$[x]", 3, `unexpected 'x'`},
		{"$[-1]", 3, `unexpected '-'`},
		{"$..a", 2, "recursive descent"},
		{`$["unclosed]`, 3, "unterminated string"},
		{`$["a\qb"]`, 5, `unknown escape \q`},
		{`$["\ud800"]`, 4, "lone surrogate"},
		{"$.a b", 4, `unexpected ' '`},
		{"$.a[0", 6, "want ']'"},
		{"$.a[?@.b == 1]", 6, "want '('"},
		{"$.a[?(@.b)]", 10, "want a comparison"},
		{"$.a[?(b=='c')]", 7, "want @, a string"},
		{`$.a[?(@.b==c)]`, 12, "want @, a string"},
		{`$.a[?(@.b = "c")]`, 11, "want a comparison"},
		{`$.a[?(@.b == "c" & @.d == 1)]`, 18, "want ')', && or ||"},
		{`$.a[?(@.b == "c" and @.d == 1)]`, 18, "want ')', && or ||"},
		{`$.a[?(@.b == "c"`, 17, "want ')', && or ||"},
		{`$.a[?((@.b == "c")]`, 19, "want ')', && or ||"},
		{`$.a[?(@.b == "c")`, 18, "want ']'"},
		{`$.a[?(@.b < true)]`, 11, "< compares numbers or strings only"},
		{`$.a[?(@.b >= null)]`, 11, ">= compares numbers or strings only"},
		{`$.a[?("x" == "x")]`, 7, "needs @ on one side"},
		{`$.a[?(@.b == 1e999)]`, 14, "number out of range"},
		{`$.a[?(@.b == 01.)]`, 17, "want a digit"},
		{`$.a[?(@.b == truely)]`, 14, "want @, a string"},
		{`$.a[?(@[0] == 1)]`, 9, "a quoted key"},
		{`$.a[99999999999]`, 5, "index too large"},
		{`$.ä[?(@.b ~ 1)]`, 11, `unexpected '~'`},
		{"$.a[?(" + strings.Repeat("(", 40) + "@.b == 1" + strings.Repeat(")", 40) + ")]", 39, "nested deeper than 32"},
	}
	for _, c := range cases {
		t.Run(c.path, func(t *testing.T) {
			_, err := ParsePath(c.path)
			var pe *PathError
			require.True(t, errors.As(err, &pe), "%q: want a *PathError, got %v", c.path, err)
			assert.Equal(t, c.path, pe.Path)
			assert.Equal(t, c.column, pe.Column, "%v", err)
			assert.Contains(t, pe.Msg, c.msg)
			assert.Contains(t, err.Error(), `path "`, "the error names the path")
		})
	}
}

// TestIdentityStays: no path removes the object's identity; paths below it
// are fine.
func TestIdentityStays(t *testing.T) {
	for _, text := range []string{
		"$", " $ ", "$.metadata", `$["metadata"]`, `$['kind']`, "$.apiVersion", "$.*", "$[*]", "$[ * ]",
		"$.metadata.name", `$.metadata["namespace"]`, "$.metadata.*", "$.*.name", "$[*][*]", `$["metadata"]['name']`,
	} {
		_, err := ParsePath(text)
		if assert.Error(t, err, text) {
			assert.Contains(t, err.Error(), "not allowed", text)
		}
	}
	u := object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: n, namespace: ns, annotations: {x: "1", y: "2"}, labels: {a: b}}, data: {k: v}}`)
	for _, text := range []string{"$.metadata.annotations.x", "$.metadata.labels", "$.data.*", "$.metadata.uid", "$.kind.x", "$.metadata.name.first"} {
		p, err := ParsePath(text)
		require.NoError(t, err, text)
		p.Remove(u.Object)
	}
	assert.Equal(t, object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: n, namespace: ns, annotations: {y: "2"}}, data: {}}`).Object, u.Object)
}

// TestSurrogatePairs: a JSON escape of a character outside the BMP is a
// pair of \u escapes; half a pair is an error.
func TestSurrogatePairs(t *testing.T) {
	p, err := ParsePath(`$["\uD83D\uDE00"]`)
	require.NoError(t, err)
	obj := map[string]any{"\U0001F600": "x", "keep": "y"}
	p.Remove(obj)
	assert.Equal(t, map[string]any{"keep": "y"}, obj)
	for _, half := range []string{`$["\uDE00"]`, `$["\uD83D"]`, `$["\uD83Dx"]`} {
		_, err := ParsePath(half)
		assert.ErrorContains(t, err, "lone surrogate", half)
	}
}

func TestZeroPathRemovesNothing(t *testing.T) {
	u := object(t, `{kind: ConfigMap}`)
	Path{}.Remove(u.Object)
	assert.Equal(t, map[string]any{"kind": "ConfigMap"}, u.Object)
}
