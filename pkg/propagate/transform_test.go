package propagate

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

func object(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	j, err := yaml.YAMLToJSON([]byte(manifest))
	require.NoError(t, err)
	var obj map[string]any
	require.NoError(t, utiljson.Unmarshal(j, &obj)) // numbers as the API has them: int64
	return &unstructured.Unstructured{Object: obj}
}

func TestTransform(t *testing.T) {
	cts := CompileTransforms([]controlv1alpha1.CustomTransform{
		{ObjectMeta: metav1.ObjectMeta{Name: "no-paused"}, Spec: controlv1alpha1.CustomTransformSpec{APIGroup: "apps", Resource: "deployments", Remove: []string{"$.spec.paused", "not a path"}}},
		{ObjectMeta: metav1.ObjectMeta{Name: "no-team"}, Spec: controlv1alpha1.CustomTransformSpec{APIGroup: "apps", Resource: "deployments", Remove: []string{`$.metadata.labels["team"]`}}},
	})
	assert.Equal(t, []string{"deployments.apps: CustomTransforms no-paused, no-team all apply"}, cts.Warnings)
	require.Len(t, cts.Errors["no-paused"], 1)

	deployments := schema.GroupResource{Group: "apps", Resource: "deployments"}
	in := object(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: nginx
  uid: 123
  resourceVersion: "9"
  generation: 3
  creationTimestamp: "2026-01-01T00:00:00Z"
  managedFields: [{manager: kubectl}]
  finalizers: [x]
  ownerReferences: [{kind: X}]
  labels: {team: a, app: web, gitstellar.io/source: fleet, app.kubernetes.io/managed-by: gitstellar, kustomize.toolkit.fluxcd.io/name: apps}
  annotations: {kubectl.kubernetes.io/last-applied-configuration: "{}", argocd.argoproj.io/tracking-id: "x:y", keep: me}
spec: {paused: true, replicas: 2}
status: {availableReplicas: 2}`)
	out, err := cts.Transform(in, deployments, nil)
	require.NoError(t, err)
	want := object(t, `
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: nginx
  labels: {app: web}
  annotations: {keep: me}
spec: {replicas: 2}`)
	if diff := cmp.Diff(want.Object, out.Object); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	assert.Equal(t, "9", in.GetResourceVersion(), "the input is not changed")
}

func TestServiceAndJobCleaning(t *testing.T) {
	svc := object(t, `
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {clusterIP: 10.0.0.3, clusterIPs: [10.0.0.3], ipFamilies: [IPv4], ipFamilyPolicy: SingleStack, externalTrafficPolicy: Local,
  internalTrafficPolicy: Cluster, sessionAffinity: None, healthCheckNodePort: 31000, type: NodePort, ports: [{port: 80, nodePort: 30080}]}`)
	out, err := (*Transforms)(nil).Transform(svc, schema.GroupResource{Resource: "services"}, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"type": "NodePort", "ports": []any{map[string]any{"port": int64(80)}}}, out.Object["spec"])

	svc.SetAnnotations(map[string]string{"control.kubestellar.io/preserve": "nodeport"})
	out, err = (*Transforms)(nil).Transform(svc, schema.GroupResource{Resource: "services"}, nil)
	require.NoError(t, err)
	port, _, _ := unstructured.NestedSlice(out.Object, "spec", "ports")
	assert.Equal(t, int64(30080), port[0].(map[string]any)["nodePort"])

	headless := object(t, `{apiVersion: v1, kind: Service, metadata: {name: h}, spec: {clusterIP: None, clusterIPs: [None]}}`)
	out, err = (*Transforms)(nil).Transform(headless, schema.GroupResource{Resource: "services"}, nil)
	require.NoError(t, err)
	ip, _, _ := unstructured.NestedString(out.Object, "spec", "clusterIP")
	assert.Equal(t, "None", ip, "a headless Service stays headless")

	job := object(t, `
apiVersion: batch/v1
kind: Job
metadata: {name: j, labels: {controller-uid: u, batch.kubernetes.io/controller-uid: u, app: j}, annotations: {batch.kubernetes.io/job-tracking: ""}}
spec:
  suspend: false
  selector: {matchLabels: {controller-uid: u}}
  template: {metadata: {labels: {controller-uid: u, batch.kubernetes.io/controller-uid: u, job-name: j}}, spec: {restartPolicy: Never}}`)
	out, err = (*Transforms)(nil).Transform(job, schema.GroupResource{Group: "batch", Resource: "jobs"}, nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"app": "j"}, out.GetLabels())
	tmplLabels, _, _ := unstructured.NestedStringMap(out.Object, "spec", "template", "metadata", "labels")
	assert.Equal(t, map[string]string{"job-name": "j"}, tmplLabels)
	_, has, _ := unstructured.NestedFieldNoCopy(out.Object, "spec", "selector")
	assert.False(t, has)
	assert.Empty(t, out.GetAnnotations(), "the job-tracking annotation goes")
}

func TestTemplates(t *testing.T) {
	props := PropertiesOf("cluster1", map[string]string{"region": "from-label", "zone": "z1", "location-group": "edge", "example.com/tier": "gold"},
		map[string]string{"region": "from-annotation"}, map[string]string{"greeting": "hi", "owner": "from-data"}, map[string][]byte{"owner": []byte("from-binary-data")})
	assert.Equal(t, Properties{"clusterName": "cluster1", "region": "from-annotation", "zone": "z1", "greeting": "hi", "owner": "from-binary-data"}, props,
		"keys that are not Go identifiers are no properties; binaryData wins over data, as in KubeStellar")
	data, binaryData := ConfigMapProperties(object(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: cluster1, namespace: customization-properties}, data: {a: "1"}, binaryData: {b: "aGk="}}`))
	assert.Equal(t, map[string]string{"a": "1"}, data)
	assert.Equal(t, map[string][]byte{"b": []byte("hi")}, binaryData)

	cm := object(t, `
apiVersion: v1
kind: ConfigMap
metadata: {name: c, annotations: {control.kubestellar.io/expand-templates: "true"}}
data: {where: "{{.clusterName}} in {{.region}}", list: "x", say: "{{.greeting}}"}`)
	out, err := (*Transforms)(nil).Transform(cm, schema.GroupResource{Resource: "configmaps"}, props)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"where": "cluster1 in from-annotation", "list": "x", "say": "hi"}, out.Object["data"])

	_, err = (*Transforms)(nil).Transform(cm, schema.GroupResource{Resource: "configmaps"}, Properties{"clusterName": "c2"})
	assert.ErrorContains(t, err, "template at .data")

	cm.SetAnnotations(nil)
	out, err = (*Transforms)(nil).Transform(cm, schema.GroupResource{Resource: "configmaps"}, props)
	require.NoError(t, err)
	assert.Equal(t, "{{.clusterName}} in {{.region}}", out.Object["data"].(map[string]any)["where"], "no expansion unless asked")
}

// TestTemplateLimits: repository content cannot make an expansion run out
// of memory or time; the error names the field, the limit and its value.
func TestTemplateLimits(t *testing.T) {
	mib := strings.Repeat("x", 1<<20)
	props := Properties{"big": mib, "big2": strings.Clone(mib), "small": "s"}
	cases := map[string]struct {
		data  map[string]any
		field string
		limit string
		value string
	}{
		"output": {map[string]any{"a": "{{.big}}{{.big}}"}, ".data.a", "MaxTemplateOutputBytes", "1572864 bytes"},
		"output over all the strings of the object": {map[string]any{"a": "{{.big}}", "b": []any{"{{.small}}", "{{.big}}"}},
			".data.b[1]", "MaxTemplateOutputBytes", "1572864 bytes"},
		"nested ranges that write":         {map[string]any{"a": "{{range 100000}}{{range 100000}}{{$.small}}{{end}}{{end}}"}, ".data.a", "MaxTemplateIterations", "100000"},
		"a range that writes nothing":      {map[string]any{"a": "{{range $i := 100000000}}{{end}}"}, ".data.a", "MaxTemplateIterations", "100000"},
		"nested ranges that write nothing": {map[string]any{"a": "{{range 100000}}{{range 100000}}{{end}}{{end}}"}, ".data.a", "MaxTemplateIterations", "100000"},
		"range in an else branch":          {map[string]any{"a": "{{if false}}{{else}}{{range 1000000}}{{else}}{{end}}{{end}}"}, ".data.a", "MaxTemplateIterations", "100000"},
		"ranges over the properties":       {map[string]any{"a": "{{range .}}{{range $}}{{range $}}{{range 10000}}{{end}}{{end}}{{end}}{{end}}"}, ".data.a", "MaxTemplateIterations", "100000"},
		"printf padding":                   {map[string]any{"a": "{{range 10}}{{printf \"%0999999d\" 0}}{{end}}"}, ".data.a", "MaxTemplateOutputBytes", "1572864 bytes"},
		"printf that repeats an argument":  {map[string]any{"a": `{{$x := printf "%[1]s%[1]s%[1]s" .big}}`}, ".data.a", "MaxTemplateOutputBytes", "1572864 bytes"},
		"a string doubled in a variable":   {map[string]any{"a": `{{$x := "ab"}}{{range 100}}{{$x = print $x $x}}{{end}}`}, ".data.a", "MaxTemplateOutputBytes", "1572864 bytes"},
		"escaping grows":                   {map[string]any{"a": `{{$x := js .big}}`}, ".data.a", "MaxTemplateOutputBytes", "1572864 bytes"},
	}
	for what, c := range cases {
		t.Run(what, func(t *testing.T) {
			start := time.Now()
			_, err := expandObject(map[string]any{"data": c.data}, props, false, defaultTemplateLimits)
			assert.Less(t, time.Since(start), TemplateTimeout+time.Second)
			var limit *TemplateLimitError
			require.True(t, errors.As(err, &limit), "want a limit, got %v", err)
			assert.Equal(t, c.limit, limit.Limit)
			assert.Equal(t, fmt.Sprintf("template at %s: exceeds %s (%s per object)", c.field, c.limit, c.value), err.Error())
		})
	}
}

// TestTemplateWidthOnProperties: a width on the properties pads each key
// and value: refused before fmt builds it.
func TestTemplateWidthOnProperties(t *testing.T) {
	props := Properties{}
	for i := range 30 {
		props[fmt.Sprintf("p%d", i)] = "v"
	}
	_, err := expandObject(map[string]any{"data": map[string]any{"a": `{{printf "%100000v" .}}`}}, props, false, defaultTemplateLimits)
	var limit *TemplateLimitError
	require.True(t, errors.As(err, &limit), "want a limit, got %v", err)
	assert.Equal(t, "MaxTemplateOutputBytes", limit.Limit)
}

// TestTemplateTimeout: work that writes nothing and stays within the
// iterations stops at the deadline.
func TestTemplateTimeout(t *testing.T) {
	mib := strings.Repeat("x", 1<<20)
	props := Properties{"big": mib, "big2": strings.Clone(mib)}
	limits := templateLimits{outputBytes: MaxTemplateOutputBytes, iterations: MaxTemplateIterations, timeout: 100 * time.Millisecond}
	start := time.Now()
	_, err := expandObject(map[string]any{"a": "{{range 90000}}{{if eq $.big $.big2}}{{end}}{{end}}"}, props, false, limits)
	assert.Less(t, time.Since(start), time.Second)
	assert.EqualError(t, err, "template at .a: exceeds TemplateTimeout (100ms per object)")
}

// TestTemplatesThatStillWork: what KubeStellar's templates do expands as
// before, within the limits.
func TestTemplatesThatStillWork(t *testing.T) {
	props := Properties{"clusterName": "c1", "region": "east", "replicas": "3"}
	cases := map[string]string{
		"{{.clusterName}}-{{.region}}":                            "c1-east",
		`{{if eq .region "east"}}e{{else}}w{{end}}`:               "e",
		`{{printf "%s/%5s" .clusterName .region}}`:                "c1/ east",
		`{{range $k, $v := .}}{{$k}}={{$v}};{{end}}`:              "clusterName=c1;region=east;replicas=3;",
		`{{range $i := 3}}{{$i}}{{end}}`:                          "012",
		`{{print .clusterName 1 true}} {{len .region}}`:           "c11 true 4",
		`{{urlquery "a b"}} {{js "<"}} {{html "<"}}`:              `a+b \u003C &lt;`,
		`{{with .region}}{{.}}{{end}}{{range 2}}{{break}}{{end}}`: "east",
	}
	for tmpl, want := range cases {
		out, err := expandObject(map[string]any{"v": tmpl}, props, false, defaultTemplateLimits)
		require.NoError(t, err, tmpl)
		assert.Equal(t, want, out["v"], tmpl)
	}
}

// TestTemplateErrors: the error names the field and what is wrong, never
// the template text; template calls are refused.
func TestTemplateErrors(t *testing.T) {
	props := Properties{"clusterName": "c1"}
	cases := map[string]struct {
		tmpl   string
		reason error
		msg    string
	}{
		"syntax":           {"a\n{{.x", ErrTemplateSyntax, "template at .v:2: does not parse"},
		"unknown function": {"{{nope}}", ErrTemplateSyntax, "template at .v:1: does not parse"},
		"missing property": {"ab{{.owner}}", ErrTemplateMissingProperty, "template at .v:1:4: refers to a property the WEC does not have: owner"},
		"execution":        {`{{index "abc" 7}}`, ErrTemplateFailed, "template at .v:1:2: fails to execute"},
		"define":           {`{{define "a"}}{{template "a"}}{{end}}{{template "a"}}`, ErrTemplateNotAllowed, "template at .v: uses define, template or block, which template expansion does not allow"},
		"template":         {`{{template "a"}}`, ErrTemplateNotAllowed, "template at .v: uses define"},
		"block":            {`{{block "b" .}}x{{end}}`, ErrTemplateNotAllowed, "template at .v: uses define"},
		"in a range":       {`{{range 2}}{{template "a"}}{{end}}`, ErrTemplateNotAllowed, "template at .v: uses define"},
	}
	for what, c := range cases {
		t.Run(what, func(t *testing.T) {
			_, err := expandObject(map[string]any{"v": c.tmpl}, props, false, defaultTemplateLimits)
			assert.ErrorIs(t, err, c.reason)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

// TestTemplateErrorsHideSecrets: a template error in a Secret names the
// field only: neither the value, nor its base64, nor a position.
func TestTemplateErrorsHideSecrets(t *testing.T) {
	const planted = "hunter2SECRETvalue"
	for _, value := range []string{
		"p@ss " + planted + " {{",
		"{{." + planted + "}}",
		"{{" + planted + "}}",
		`{{index "` + planted + `" 99}}`,
		`{{printf "%d" "` + planted + `" | len | printf "%s" .nope}}`,
		`{{"` + planted + `" | call}}`,
		"{{ if .clusterName }}" + planted + "{{ else }}",
		`{{template "` + planted + `"}}`,
		`{{range 1000000}}` + planted + `{{end}}`,
	} {
		for _, secret := range []*unstructured.Unstructured{
			object(t, `{apiVersion: v1, kind: Secret, metadata: {name: s, annotations: {control.kubestellar.io/expand-templates: "true"}}}`),
		} {
			secret.Object["stringData"] = map[string]any{"password": value}
			_, err := (*Transforms)(nil).Transform(secret, schema.GroupResource{Resource: "secrets"}, Properties{"clusterName": "c1"})
			require.Error(t, err, value)
			msg := err.Error()
			assert.True(t, strings.HasPrefix(msg, "template at .stringData.password: "), msg)
			for _, leak := range []string{planted, value, base64.StdEncoding.EncodeToString([]byte(value)), base64.StdEncoding.EncodeToString([]byte(planted)), "{{", ":1"} {
				assert.NotContains(t, msg, leak, value)
			}
		}
	}
	// A Secret known by its resource alone, or by its kind alone.
	u := object(t, `{apiVersion: v1, kind: Secret, metadata: {name: s}}`)
	assert.True(t, isSecret(u, schema.GroupResource{Resource: "secrets"}))
	assert.True(t, isSecret(u, schema.GroupResource{}))
	u.SetKind("ConfigMap")
	assert.False(t, isSecret(u, schema.GroupResource{Resource: "configmaps"}))
	u.SetAPIVersion("example.com/v1")
	u.SetKind("Secret")
	assert.False(t, isSecret(u, schema.GroupResource{Group: "example.com", Resource: "secrets"}), "not the core Secret")
}

// TestCheckCustomTransform: one message per bad path, naming it, as
// validate and plan show them and the transport writes them.
func TestCheckCustomTransform(t *testing.T) {
	cases := map[string]struct {
		manifest string
		want     []string
	}{
		"fine": {`{apiVersion: control.kubestellar.io/v1alpha1, kind: CustomTransform, metadata: {name: ok},
			spec: {apiGroup: apps, resource: deployments, remove: ["$.spec.paused", "$.metadata.annotations.x", "$.spec.template.spec.containers[?(@.name == 'a' && @.image != 'b')].ports"]}}`, nil},
		"bad paths": {`{apiVersion: control.kubestellar.io/v1alpha1, kind: CustomTransform, metadata: {name: bad},
			spec: {apiGroup: "", resource: configmaps, remove: ["$.data.x", "data.y", "$[\"kind\"]", "$.a[?(@.b == 1 & @.c == 2)]"]}}`, []string{
			`spec.remove[1]: path "data.y": column 1: unexpected 'd', want $ (a path starts with $)`,
			`spec.remove[2]: path "$[\"kind\"]": it would remove kind, which is not allowed (apiVersion, kind, metadata, metadata.name and metadata.namespace stay)`,
			`spec.remove[3]: path "$.a[?(@.b == 1 & @.c == 2)]": column 16: unexpected '&', want ')', && or ||`,
		}},
		"no resource": {`{apiVersion: control.kubestellar.io/v1alpha1, kind: CustomTransform, metadata: {name: r}, spec: {apiGroup: apps}}`,
			[]string{"spec.resource: empty; name a resource (lowercase plural)"}},
		"not a CustomTransform": {`{apiVersion: v1, kind: ConfigMap, metadata: {name: c}}`, []string{"ConfigMap is not a CustomTransform"}},
	}
	for what, c := range cases {
		t.Run(what, func(t *testing.T) {
			assert.Equal(t, c.want, CheckCustomTransform(object(t, c.manifest)))
		})
	}
	got := CheckCustomTransform(object(t, `{apiVersion: control.kubestellar.io/v1alpha1, kind: CustomTransform, metadata: {name: d}, spec: {resource: x, remove: "$.a"}}`))
	if assert.Len(t, got, 1) {
		assert.True(t, strings.HasPrefix(got[0], "does not decode: "), got[0])
	}
	compiled := CompileTransforms([]controlv1alpha1.CustomTransform{{ObjectMeta: metav1.ObjectMeta{Name: "bad"},
		Spec: controlv1alpha1.CustomTransformSpec{Resource: "configmaps", Remove: []string{"$.data.x", "data.y"}}}})
	assert.Equal(t, []string{`spec.remove[1]: path "data.y": column 1: unexpected 'd', want $ (a path starts with $)`}, compiled.Errors["bad"],
		"the transport's words are CheckCustomTransform's")
}
