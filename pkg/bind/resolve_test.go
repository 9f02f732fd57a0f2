package bind

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

func policy(t testing.TB, spec string) *controlv1alpha1.BindingPolicy {
	t.Helper()
	bp := &controlv1alpha1.BindingPolicy{ObjectMeta: metav1.ObjectMeta{Name: "p"}}
	require.NoError(t, yaml.UnmarshalStrict([]byte(spec), &bp.Spec))
	return bp
}

var (
	deployments = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configmaps  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
	namespaces  = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}
	crds        = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

func obj(gvr schema.GroupVersionResource, ns, name string, l map[string]string) *Object {
	return &Object{GVR: gvr, Namespace: ns, Name: name, Labels: l, ResourceVersion: "1"}
}

// TestMatch covers every field of the object test, alone and together.
func TestMatch(t *testing.T) {
	nginxNS := map[string]string{"app": "nginx", "env": "prod"}
	web := obj(deployments, "nginx", "web", map[string]string{"app.kubernetes.io/name": "nginx"})
	cm := obj(configmaps, "nginx", "settings", nil)
	ns := obj(namespaces, "", "nginx", nginxNS)
	crd := obj(crds, "", "widgets.example.com", nil)
	cases := []struct {
		name   string
		spec   string
		object *Object
		want   bool
	}{
		{"an empty clause matches anything", `downsync: [{}]`, web, true},
		{"no clause matches nothing", `downsync: []`, web, false},
		{"apiGroup absent: any group", `downsync: [{resources: [deployments]}]`, web, true},
		{`apiGroup "" is the core group only`, `downsync: [{apiGroup: ""}]`, web, false},
		{`apiGroup "" matches a core object`, `downsync: [{apiGroup: ""}]`, cm, true},
		{"apiGroup apps", `downsync: [{apiGroup: apps}]`, web, true},
		{"resources", `downsync: [{resources: [configmaps, deployments]}]`, web, true},
		{"resources: other", `downsync: [{resources: [configmaps]}]`, web, false},
		{`resources: "*"`, `downsync: [{resources: ["*"]}]`, web, true},
		{"namespaces", `downsync: [{namespaces: [nginx]}]`, web, true},
		{"namespaces: other", `downsync: [{namespaces: [default]}]`, web, false},
		{`namespaces: "*"`, `downsync: [{namespaces: ["*"]}]`, web, true},
		{"namespaces: a list never matches a cluster-scoped object", `downsync: [{namespaces: [nginx]}]`, ns, false},
		{`namespaces: "*" matches a cluster-scoped object`, `downsync: [{namespaces: ["*"]}]`, ns, true},
		{"namespaceSelectors on the Namespace's labels", `downsync: [{namespaceSelectors: [{matchLabels: {env: prod}}]}]`, web, true},
		{"namespaceSelectors: any may match", `downsync: [{namespaceSelectors: [{matchLabels: {env: dev}}, {matchLabels: {app: nginx}}]}]`, web, true},
		{"namespaceSelectors: none matches", `downsync: [{namespaceSelectors: [{matchLabels: {env: dev}}]}]`, web, false},
		{"namespaceSelectors: a cluster-scoped object needs {}", `downsync: [{namespaceSelectors: [{matchLabels: {app: nginx}}]}]`, ns, false},
		{"namespaceSelectors: {} matches a cluster-scoped object", `downsync: [{namespaceSelectors: [{}]}]`, crd, true},
		{"namespaceSelectors: expressions", `downsync: [{namespaceSelectors: [{matchExpressions: [{key: env, operator: In, values: [prod, stage]}]}]}]`, web, true},
		{"objectSelectors", `downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: nginx}}]}]`, web, true},
		{"objectSelectors: none matches", `downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: other}}]}]`, web, false},
		{"objectSelectors: an unlabelled object", `downsync: [{objectSelectors: [{matchLabels: {a: b}}]}]`, cm, false},
		{"objectSelectors: {} matches an unlabelled object", `downsync: [{objectSelectors: [{}]}]`, cm, true},
		{"objectNames", `downsync: [{objectNames: [web]}]`, web, true},
		{"objectNames: other", `downsync: [{objectNames: [api]}]`, web, false},
		{`objectNames: "*"`, `downsync: [{objectNames: ["*"]}]`, web, true},
		{"fields within a clause are ANDed", `downsync: [{apiGroup: apps, objectNames: [api]}]`, web, false},
		{"clauses are ORed", `downsync: [{objectNames: [api]}, {apiGroup: apps}]`, web, true},
		{"events are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Version: "v1", Resource: "events"}, "nginx", "e", nil), false},
		{"events.k8s.io events are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "events.k8s.io", Version: "v1", Resource: "events"}, "nginx", "e", nil), false},
		{"nodes are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Version: "v1", Resource: "nodes"}, "", "n", nil), false},
		{"endpoints are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}, "nginx", "e", nil), false},
		{"coordination.k8s.io is never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}, "nginx", "l", nil), false},
		{"discovery.k8s.io is never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "discovery.k8s.io", Version: "v1", Resource: "endpointslices"}, "nginx", "s", nil), false},
		{"control objects are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "bindingpolicies"}, "", "p", nil), false},
		{"gitstellar's kinds are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "spaces"}, "", "wds1", nil), false},
		{"csinodes are never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "csinodes"}, "", "c", nil), false},
		{"gitstellar-system is never bound", `downsync: [{}]`, obj(configmaps, "gitstellar-system", "inventory.x", nil), false},
		{"kube-root-ca.crt is never bound", `downsync: [{}]`, obj(configmaps, "nginx", "kube-root-ca.crt", nil), false},
		{"the default ServiceAccount is never bound", `downsync: [{}]`, obj(schema.GroupVersionResource{Version: "v1", Resource: "serviceaccounts"}, "nginx", "default", nil), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p := Compile(policy(t, tc.spec))
			require.True(t, p.Valid(), p.Errors)
			var nsLabels map[string]string
			if tc.object.Namespace == "nginx" {
				nsLabels = nginxNS
			}
			_, got := p.Match(tc.object, nsLabels)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestModulation(t *testing.T) {
	p := Compile(policy(t, `
downsync:
- {apiGroup: apps, createOnly: true, statusCollectors: [b, a]}
- {resources: [deployments], statusCollectors: [c, a], wantSingletonReportedState: true}
- {objectNames: [web], wantMultiWECReportedState: false}
- {objectNames: [other], wantMultiWECReportedState: true, createOnly: false}`))
	mod, ok := p.Match(obj(deployments, "nginx", "web", nil), nil)
	require.True(t, ok)
	assert.Equal(t, controlv1alpha1.DownsyncModulation{
		CreateOnly:                 true,
		StatusCollectors:           []string{"a", "b", "c"},
		WantSingletonReportedState: true,
	}, mod, "createOnly and wishes ORed, collectors unioned over the matching clauses only")
}

func TestClusterSelectors(t *testing.T) {
	edge1 := Cluster{Name: "cluster1", Labels: map[string]string{"location-group": "edge", "name": "cluster1"}}
	core := Cluster{Name: "core1", Labels: map[string]string{"location-group": "core"}}
	for _, tc := range []struct {
		spec string
		want []bool
	}{
		{`clusterSelectors: []`, []bool{false, false}},
		{`clusterSelectors: [{matchLabels: {location-group: edge}}]`, []bool{true, false}},
		{`clusterSelectors: [{matchLabels: {name: cluster1}}, {matchLabels: {location-group: core}}]`, []bool{true, true}},
		{`clusterSelectors: [{}]`, []bool{true, true}},
		{`clusterSelectors: [{matchExpressions: [{key: location-group, operator: NotIn, values: [edge]}]}]`, []bool{false, true}},
	} {
		p := Compile(policy(t, tc.spec))
		assert.Equal(t, tc.want, []bool{p.SelectsCluster(edge1), p.SelectsCluster(core)}, tc.spec)
	}
}

func TestInvalidSelectors(t *testing.T) {
	p := Compile(policy(t, `
clusterSelectors: [{matchExpressions: [{key: a, operator: Bogus}]}]
downsync: [{objectSelectors: [{matchLabels: {"bad key!": x}}]}]`))
	assert.False(t, p.Valid())
	require.Len(t, p.Errors, 2)
	assert.Contains(t, p.Errors[0], "spec.clusterSelectors[0]")
	assert.Contains(t, p.Errors[1], "spec.downsync[0].objectSelectors[0]")
	_, ok := p.Match(obj(deployments, "nginx", "web", nil), nil)
	assert.False(t, ok, "an invalid policy selects nothing")

	res := Resolve(Inputs{Policies: []*controlv1alpha1.BindingPolicy{policy(t, `clusterSelectors: [{matchExpressions: [{key: a, operator: Bogus}]}]`)}})
	require.Len(t, res, 1)
	assert.NotEmpty(t, res[0].Errors)
	assert.Empty(t, res[0].Spec.Destinations)
}

// The example of KubeStellar's getting-started guide, in our terms.
func TestResolveExample(t *testing.T) {
	nginx := policy(t, `
clusterSelectors: [{matchLabels: {location-group: edge}}]
downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: nginx}}], statusCollectors: [count-available]}]`)
	nginx.Name = "nginx-bpolicy"
	singleton := policy(t, `
clusterSelectors: [{matchLabels: {name: cluster1}}]
downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: nginx-singleton}}], wantSingletonReportedState: true}]`)
	singleton.Name = "nginx-singleton-bpolicy"
	in := Inputs{
		Policies: []*controlv1alpha1.BindingPolicy{singleton, nginx},
		Objects: []*Object{
			obj(deployments, "nginx", "nginx-deployment", map[string]string{"app.kubernetes.io/name": "nginx"}),
			obj(namespaces, "", "nginx", map[string]string{"app.kubernetes.io/name": "nginx"}),
			obj(deployments, "nginx-singleton", "nginx-singleton-deployment", map[string]string{"app.kubernetes.io/name": "nginx-singleton"}),
			obj(configmaps, "nginx", "kube-root-ca.crt", map[string]string{"app.kubernetes.io/name": "nginx"}),
		},
		Clusters: []Cluster{
			{Name: "cluster2", Labels: map[string]string{"location-group": "edge", "name": "cluster2"}},
			{Name: "cluster1", Labels: map[string]string{"location-group": "edge", "name": "cluster1"}},
		},
	}
	got := Resolve(in)
	want := []Resolution{
		{Policy: "nginx-bpolicy", Spec: controlv1alpha1.BindingSpec{
			Workload: controlv1alpha1.DownsyncObjectClauses{
				ClusterScope: []controlv1alpha1.ClusterScopeDownsyncClause{{
					ClusterScopeDownsyncObject: controlv1alpha1.ClusterScopeDownsyncObject{
						GroupVersionResource: metav1.GroupVersionResource{Version: "v1", Resource: "namespaces"}, Name: "nginx", ResourceVersion: "1"},
					DownsyncModulation: controlv1alpha1.DownsyncModulation{StatusCollectors: []string{"count-available"}},
				}},
				NamespaceScope: []controlv1alpha1.NamespaceScopeDownsyncClause{{
					NamespaceScopeDownsyncObject: controlv1alpha1.NamespaceScopeDownsyncObject{
						GroupVersionResource: metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: "nginx", Name: "nginx-deployment", ResourceVersion: "1"},
					DownsyncModulation: controlv1alpha1.DownsyncModulation{StatusCollectors: []string{"count-available"}},
				}},
			},
			Destinations: []controlv1alpha1.Destination{{ClusterId: "cluster1"}, {ClusterId: "cluster2"}},
		}},
		{Policy: "nginx-singleton-bpolicy", Spec: controlv1alpha1.BindingSpec{
			Workload: controlv1alpha1.DownsyncObjectClauses{
				NamespaceScope: []controlv1alpha1.NamespaceScopeDownsyncClause{{
					NamespaceScopeDownsyncObject: controlv1alpha1.NamespaceScopeDownsyncObject{
						GroupVersionResource: metav1.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}, Namespace: "nginx-singleton", Name: "nginx-singleton-deployment", ResourceVersion: "1"},
					DownsyncModulation: controlv1alpha1.DownsyncModulation{WantSingletonReportedState: true},
				}},
			},
			Destinations: []controlv1alpha1.Destination{{ClusterId: "cluster1"}},
		}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Resolve (-want +got):\n%s", diff)
	}
}

// FuzzResolve: the resolver never panics, and shuffled inputs give the same
// Bindings.
func FuzzResolve(f *testing.F) {
	f.Add(uint64(1), uint8(20), uint8(5), uint8(4))
	f.Add(uint64(42), uint8(200), uint8(30), uint8(12))
	f.Fuzz(func(t *testing.T, seed uint64, nObjects, nPolicies, nClusters uint8) {
		in := randomInputs(rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), int(nObjects), int(nPolicies), int(nClusters))
		want := Resolve(in)
		r := rand.New(rand.NewPCG(seed+1, seed))
		r.Shuffle(len(in.Objects), func(i, j int) { in.Objects[i], in.Objects[j] = in.Objects[j], in.Objects[i] })
		r.Shuffle(len(in.Policies), func(i, j int) { in.Policies[i], in.Policies[j] = in.Policies[j], in.Policies[i] })
		r.Shuffle(len(in.Clusters), func(i, j int) { in.Clusters[i], in.Clusters[j] = in.Clusters[j], in.Clusters[i] })
		if diff := cmp.Diff(want, Resolve(in)); diff != "" {
			t.Fatalf("order-dependent (-first +shuffled):\n%s", diff)
		}
	})
}

// BenchmarkResolve: 10,000 objects, 100 policies, 100 WECs.
func BenchmarkResolve(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 11))
	in := randomInputs(r, 0, 100, 100)
	for i := range 10000 {
		in.Objects = append(in.Objects, &Object{GVR: pick(r, randomResources), Namespace: pick(r, []string{"", "nginx", "default", "web"}),
			Name: fmt.Sprintf("o%d", i), Labels: randomLabels(r), ResourceVersion: fmt.Sprint(i)})
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		Resolve(in)
	}
}
