package propagate

import (
	"testing"

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

func TestParsePathErrors(t *testing.T) {
	for _, bad := range []string{"", "spec.x", "$", "$.", "$[", "$[x]", "$[-1]", "$.a[?(@.b)]", "$.a[?(b=='c')]", `$.a[?(@.b==c)]`, "$..a", `$["unclosed]`} {
		_, err := ParsePath(bad)
		assert.Error(t, err, bad)
	}
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`$.spec.paused`, `$["a"]['b'][0][*]`, `$.x[?(@.name=="v")].y`, `$.a[?(@.b.c != 'd')]`} {
		f.Add(s)
	}
	doc := map[string]any{"a": []any{map[string]any{"b": "c", "x": []any{1.0, "y"}}, "s"}, "spec": map[string]any{"paused": true}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			return
		}
		// Removing any parsed path from any document never panics.
		copyDoc := (&unstructured.Unstructured{Object: doc}).DeepCopy().Object
		p.Remove(copyDoc)
	})
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
spec: {clusterIP: 10.0.0.3, clusterIPs: [10.0.0.3], ipFamilies: [IPv4], healthCheckNodePort: 31000, type: NodePort, ports: [{port: 80, nodePort: 30080}]}`)
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
metadata: {name: j, labels: {controller-uid: u, batch.kubernetes.io/controller-uid: u, app: j}}
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
}

func TestTemplates(t *testing.T) {
	props := PropertiesOf("cluster1", map[string]string{"region": "from-label", "zone": "z1"}, map[string]string{"region": "from-annotation"}, map[string]string{"greeting": "hi"})
	assert.Equal(t, Properties{"clusterName": "cluster1", "region": "from-annotation", "zone": "z1", "greeting": "hi"}, props)

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
