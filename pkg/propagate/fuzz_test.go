package propagate

import (
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// sampleObject has every shape a path can meet: identity, maps, lists of
// maps, of scalars and of lists, nulls, numbers, booleans.
const sampleObject = `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: prod
  labels: {app: web, app.kubernetes.io/name: web}
  annotations: {x: "1", "a.b/c": "2"}
spec:
  replicas: 3
  paused: false
  ratio: 0.5
  nothing: null
  args: ["--debug", 7, true, null, ["nested", {name: deep}]]
  containers:
  - {name: app, image: a, ports: [{containerPort: 80}, {containerPort: 8080, name: alt}], env: [{name: A, value: "1"}]}
  - {name: sidecar, image: s, ports: [{containerPort: 9090}]}
  - {image: nameless, replicas: "2"}
`

// FuzzParsePath: parsing never panics; an error is a *PathError whose
// column lies within the text; a path that parses removes nothing of the
// object's identity, and removing it never panics.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		`$.spec.paused`, `$["a"]['b'][0][*]`, `$.x[?(@.name=="v")].y`, `$.a[?(@.b.c != 'd')]`,
		`$.spec.containers[?(@.name == "app" && @.image == "a")].ports`,
		`$.spec.containers[?(@.name != "sidecar")].ports[?(@.containerPort >= 80 || @.name == 'alt')]`,
		`$.spec.containers[?((@.name == "a" || @.name == "b") && !(@.x))]`,
		`$.spec.args[?(@ == null || @ < 8 || @ > "a")]`, `$.spec.containers[?(@['name'] == "\u0061pp\"")]`,
		`$`, `$.metadata`, `$["metadata"]`, `$.kind`, `$.apiVersion`, `$.*`, `$[*]`, `$.metadata.name`,
		`$.*.namespace`, `$[*][*]`, `$.metadata.annotations.x`, `$..a`, `$.a[?(@.b == 1e999)]`,
		"$.a[?(" + "((((((((((((((((((((((((((((((((((" + "@.b==1" + "))))))))))))))))))))))))))))))))))" + ")]",
	} {
		f.Add(s)
	}
	sample := object(f, sampleObject)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			var pe *PathError
			require.True(t, errors.As(err, &pe), "%q: %v is not a *PathError", s, err)
			require.LessOrEqual(t, pe.Column, utf8.RuneCountInString(s)+1, "%q: %v", s, err)
			return
		}
		require.Equal(t, s, p.String())
		u := sample.DeepCopy()
		p.Remove(u.Object)
		for _, field := range [][]string{{"apiVersion"}, {"kind"}, {"metadata", "name"}, {"metadata", "namespace"}} {
			_, found, _ := unstructured.NestedFieldNoCopy(u.Object, field...)
			require.True(t, found, "%q removed %v", s, field)
		}
	})
}

// fuzzLimits are small, so that every input runs fast.
var fuzzLimits = templateLimits{outputBytes: 64 << 10, iterations: 10_000, timeout: 50 * time.Millisecond}

// secretTemplateError is every error a Secret's template may give: the
// field and the reason, nothing of the template.
var secretTemplateError = regexp.MustCompile(`^template at \.data\.[ab]: (does not parse|refers to a property the WEC does not have|fails to execute|uses define, template or block, which template expansion does not allow|exceeds (MaxTemplateOutputBytes \(65536 bytes|MaxTemplateIterations \(10000|TemplateTimeout \(50ms) per object\))$`)

// FuzzExpand: expansion never panics, its output stays within the budget,
// it returns soon after its deadline, and a Secret's error never quotes
// its template.
func FuzzExpand(f *testing.F) {
	for _, s := range []string{
		`{{.clusterName}}`, `{{if eq .region "east"}}e{{else}}w{{end}}`, `{{range $k, $v := .}}{{$k}}={{$v}}{{end}}`,
		`{{range 100000}}{{range 100000}}x{{end}}{{end}}`, `{{range $i := 100000000}}{{end}}`,
		`{{range 10}}{{printf "%0999999d" 0}}{{end}}`, `{{printf "%[1]s%[1]s%[1]s%*d" .big 999999 1}}`,
		`{{$x := "ab"}}{{range 100}}{{$x = print $x $x}}{{end}}`, `{{js .big}}{{html .big}}{{urlquery .big}}`,
		`{{define "a"}}{{template "a"}}{{template "a"}}{{end}}{{template "a"}}`, `{{block "b" .}}{{end}}`,
		`{{.missing}}`, `{{index "abc" 9}}`, "{{", `{{break}}`, `{{range .}}{{continue}}{{else}}{{end}}`,
		`{{with .big}}{{range $}}{{.}}{{end}}{{end}}`, `{{println . . . .}}`,
	} {
		f.Add(s)
	}
	props := Properties{"clusterName": "c1", "region": "east", "big": string(make([]byte, 4096))}
	f.Fuzz(func(t *testing.T, s string) {
		for _, secret := range []bool{false, true} {
			start := time.Now()
			out, err := expandObject(map[string]any{"data": map[string]any{"a": s, "b": s}}, props, secret, fuzzLimits)
			require.Less(t, time.Since(start), fuzzLimits.timeout+2*time.Second, "%q", s)
			if err == nil && strings.Contains(s, "{{") { // other strings stay as they are
				data := out["data"].(map[string]any)
				require.LessOrEqual(t, len(data["a"].(string))+len(data["b"].(string)), fuzzLimits.outputBytes, "%q", s)
			}
			if err != nil && secret {
				require.Regexp(t, secretTemplateError, err.Error(), "%q", s)
			}
		}
	})
}
