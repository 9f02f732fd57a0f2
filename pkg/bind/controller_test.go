package bind_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

type space struct {
	t   *testing.T
	dyn dynamic.Interface
}

func (s space) apply(manifest string) {
	s.t.Helper()
	var obj map[string]any
	require.NoError(s.t, yaml.Unmarshal([]byte(manifest), &obj))
	u := &unstructured.Unstructured{Object: obj}
	gvk := u.GroupVersionKind()
	resource := map[string]string{
		"BindingPolicy": "bindingpolicies", "WorkloadCluster": "workloadclusters", "Namespace": "namespaces",
		"Deployment": "deployments", "ConfigMap": "configmaps", "CustomResourceDefinition": "customresourcedefinitions", "Widget": "widgets",
	}[gvk.Kind]
	require.NotEmpty(s.t, resource, gvk.Kind)
	body, err := json.Marshal(obj)
	require.NoError(s.t, err)
	ri := s.dyn.Resource(gvk.GroupVersion().WithResource(resource))
	var r dynamic.ResourceInterface = ri
	if ns := u.GetNamespace(); ns != "" {
		r = ri.Namespace(ns)
	}
	_, err = r.Patch(context.Background(), u.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "kubectl"})
	require.NoError(s.t, err)
}

func (s space) binding(name string) *controlv1alpha1.Binding {
	u, err := s.dyn.Resource(bind.Bindings).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	var b controlv1alpha1.Binding
	require.NoError(s.t, json.Unmarshal(mustJSON(s.t, u.Object), &b))
	return &b
}

func (s space) policy(name string) *controlv1alpha1.BindingPolicy {
	u, err := s.dyn.Resource(bind.BindingPolicies).Get(context.Background(), name, metav1.GetOptions{})
	require.NoError(s.t, err)
	var bp controlv1alpha1.BindingPolicy
	require.NoError(s.t, json.Unmarshal(mustJSON(s.t, u.Object), &bp))
	return &bp
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

func destinations(b *controlv1alpha1.Binding) []string {
	var out []string
	for _, d := range b.Spec.Destinations {
		out = append(out, d.ClusterId)
	}
	return out
}

func bound(b *controlv1alpha1.Binding) []string {
	var out []string
	for _, o := range b.Spec.Workload.ClusterScope {
		out = append(out, o.Resource+"/"+o.Name)
	}
	for _, o := range b.Spec.Workload.NamespaceScope {
		out = append(out, o.Resource+"/"+o.Namespace+"/"+o.Name)
	}
	return out
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 50*time.Millisecond, what)
}

// startSpaces starts a WDS and an ITS with gitstellar's CRDs.
func startSpaces(t *testing.T) (wdsCfg, itsCfg *rest.Config, wds, its space) {
	env := devenvtest.Start(t, devenvtest.Options{WECs: 0, Bare: true})
	wdsCfg, itsCfg = env.Config("wds1"), env.Config("its1")
	_, err := crds.Install(context.Background(), wdsCfg, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	_, err = crds.Install(context.Background(), itsCfg, crds.RoleITS, crds.InstallOptions{})
	require.NoError(t, err)
	return wdsCfg, itsCfg, space{t, dynamic.NewForConfigOrDie(wdsCfg)}, space{t, dynamic.NewForConfigOrDie(itsCfg)}
}

func startController(t *testing.T, wds, its *rest.Config) *bind.Controller {
	ctx, cancel := context.WithCancel(context.Background())
	c, err := bind.NewController(bind.Options{WDS: "wds1", WDSConfig: wds, ITSConfig: its, DiscoveryInterval: time.Second})
	require.NoError(t, err)
	done := make(chan struct{})
	go func() { _ = c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func TestController(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ctx := context.Background()
	wdsCfg, itsCfg, wds, its := startSpaces(t)

	// Objects before the controller and the policy, the policy after: any order.
	wds.apply(`{apiVersion: v1, kind: Namespace, metadata: {name: nginx, labels: {app.kubernetes.io/name: nginx}}}`)
	its.apply(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster1, labels: {location-group: edge, name: cluster1}}, spec: {its: its1}}`)
	c := startController(t, wdsCfg, itsCfg)
	wds.apply(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: nginx-bpolicy}
spec:
  clusterSelectors: [{matchLabels: {location-group: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: nginx}}], statusCollectors: [count-available]}]`)
	wds.apply(`{apiVersion: apps/v1, kind: Deployment, metadata: {name: web, namespace: nginx, labels: {app.kubernetes.io/name: nginx}},
  spec: {selector: {matchLabels: {app: web}}, template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: nginx}]}}}}`)
	its.apply(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster2, labels: {location-group: edge, name: cluster2}}, spec: {its: its1}}`)

	eventually(t, "the Binding holds both objects and both WECs", func() bool {
		b := wds.binding("nginx-bpolicy")
		return b != nil && assert.ObjectsAreEqual([]string{"namespaces/nginx", "deployments/nginx/web"}, bound(b)) &&
			assert.ObjectsAreEqual([]string{"cluster1", "cluster2"}, destinations(b))
	})
	b := wds.binding("nginx-bpolicy")
	require.Len(t, b.OwnerReferences, 1)
	assert.Equal(t, "BindingPolicy", b.OwnerReferences[0].Kind)
	assert.True(t, *b.OwnerReferences[0].Controller)
	assert.Equal(t, []string{"count-available"}, b.Spec.Workload.NamespaceScope[0].StatusCollectors)
	assert.NotEmpty(t, b.Spec.Workload.NamespaceScope[0].ResourceVersion)
	eventually(t, "the policy's status says Synced", func() bool {
		p := wds.policy("nginx-bpolicy")
		return len(p.Status.Conditions) == 2 && p.Status.Conditions[0].Status == "True" && p.Status.ObservedGeneration == p.Generation
	})
	eventually(t, "the controller is idle", c.Idle)

	t.Run("a policy's status written by another is put back", func(t *testing.T) {
		// The controller compares with its copy of the policy: a status
		// changed behind it (or a Binding's status seen while its copy was
		// behind its own last write) must still be written again.
		u, err := wds.dyn.Resource(bind.BindingPolicies).Get(ctx, "nginx-bpolicy", metav1.GetOptions{})
		require.NoError(t, err)
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		require.NotEmpty(t, conds)
		conds[0].(map[string]any)["status"] = "False"
		conds[0].(map[string]any)["message"] = "written by someone else"
		require.NoError(t, unstructured.SetNestedSlice(u.Object, conds, "status", "conditions"))
		_, err = wds.dyn.Resource(bind.BindingPolicies).UpdateStatus(ctx, u, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		require.NoError(t, err)
		eventually(t, "the status is the controller's again", func() bool {
			p := wds.policy("nginx-bpolicy")
			return p.Status.Conditions[0].Status == "True" && p.Status.Conditions[0].Message != "written by someone else"
		})
	})

	t.Run("a relabelled WEC leaves the destinations", func(t *testing.T) {
		its.apply(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster2, labels: {location-group: core, name: cluster2}}, spec: {its: its1}}`)
		eventually(t, "cluster2 removed", func() bool {
			b := wds.binding("nginx-bpolicy")
			return assert.ObjectsAreEqual([]string{"cluster1"}, destinations(b))
		})
	})

	t.Run("an object that stops matching leaves the Binding", func(t *testing.T) {
		wds.apply(`{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}}`)
		eventually(t, "added", func() bool { return assert.ObjectsAreEqual(3, len(bound(wds.binding("nginx-bpolicy")))) })
		wds.apply(`{apiVersion: v1, kind: ConfigMap, metadata: {name: cfg, namespace: nginx, labels: {app.kubernetes.io/name: other}}}`)
		eventually(t, "removed", func() bool { return assert.ObjectsAreEqual(2, len(bound(wds.binding("nginx-bpolicy")))) })
	})

	t.Run("a CRD and its objects applied later are bound", func(t *testing.T) {
		wds.apply(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: widgets}
spec:
  clusterSelectors: [{matchLabels: {name: cluster1}}]
  downsync: [{apiGroup: example.com, resources: [widgets]}, {apiGroup: apiextensions.k8s.io, objectNames: [widgets.example.com]}]`)
		wds.apply(`
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]`)
		eventually(t, "the CRD is served", func() bool {
			_, err := wds.dyn.Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}).Namespace("nginx").List(ctx, metav1.ListOptions{})
			return err == nil
		})
		wds.apply(`{apiVersion: example.com/v1, kind: Widget, metadata: {name: w1, namespace: nginx}, spec: {size: 2}}`)
		eventually(t, "the CRD and the widget are bound", func() bool {
			b := wds.binding("widgets")
			return b != nil && assert.ObjectsAreEqual([]string{"customresourcedefinitions/widgets.example.com", "widgets/nginx/w1"}, bound(b))
		})
	})

	t.Run("an invalid selector is reported and changes no Binding", func(t *testing.T) {
		before := wds.binding("widgets")
		wds.apply(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: widgets}
spec:
  clusterSelectors: [{matchExpressions: [{key: name, operator: In}]}] # In with no values: the schema allows it, a selector does not
  downsync: [{apiGroup: example.com, resources: [widgets]}]`)
		eventually(t, "the error is in the status", func() bool {
			p := wds.policy("widgets")
			return len(p.Status.Errors) == 1 && p.Status.ObservedGeneration == p.Generation && p.Status.Conditions[0].Status == "False"
		})
		assert.Contains(t, wds.policy("widgets").Status.Errors[0], "spec.clusterSelectors[0]")
		assert.Equal(t, before.Spec, wds.binding("widgets").Spec)
	})

	t.Run("CaughtUp tells when the Bindings reflect writes", func(t *testing.T) {
		configMaps := wds.dyn.Resource(schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}).Namespace("nginx")
		cm, err := configMaps.Apply(ctx, "seen", mustUnstructured(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: seen, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}}`),
			metav1.ApplyOptions{FieldManager: "kubectl"})
		require.NoError(t, err)
		written := bind.WrittenObject{Kind: "ConfigMap", Namespace: "nginx", Name: "seen", ResourceVersion: cm.GetResourceVersion()}
		eventually(t, "caught up with the write", func() bool { ok, _, _ := c.CaughtUp([]bind.WrittenObject{written}); return ok })
		assert.Contains(t, bound(wds.binding("nginx-bpolicy")), "configmaps/nginx/seen", "caught up: the Binding holds the object")

		later := written
		later.ResourceVersion = "999999999999"
		ok, waiting, _ := c.CaughtUp([]bind.WrittenObject{later})
		assert.False(t, ok, "a version not seen yet")
		assert.Equal(t, "the write of ConfigMap nginx/seen to be seen", waiting)
		ok, waiting, _ = c.CaughtUp([]bind.WrittenObject{{Group: "example.com", Kind: "Gadget", Name: "g", ResourceVersion: "1"}})
		assert.False(t, ok, "a kind the WDS does not serve (yet)")
		assert.Equal(t, "discovery to serve the kind of example.com/Gadget g", waiting)
		ok, _, _ = c.CaughtUp([]bind.WrittenObject{{Group: "control.kubestellar.io", Kind: "BindingPolicy", Name: "x", ResourceVersion: "999999999999"}})
		assert.True(t, ok, "a kind that is never bound counts as seen")

		require.NoError(t, configMaps.Delete(ctx, "seen", metav1.DeleteOptions{}))
		gone := written
		gone.ResourceVersion = ""
		eventually(t, "caught up with the deletion", func() bool { ok, _, _ := c.CaughtUp([]bind.WrittenObject{gone}); return ok })
		assert.NotContains(t, bound(wds.binding("nginx-bpolicy")), "configmaps/nginx/seen")
	})

	t.Run("a deleted policy takes its Binding", func(t *testing.T) {
		require.NoError(t, wds.dyn.Resource(bind.BindingPolicies).Delete(ctx, "widgets", metav1.DeleteOptions{}))
		eventually(t, "the Binding is gone", func() bool { return wds.binding("widgets") == nil })
	})
}

func mustUnstructured(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: obj}
}

// unstructuredNestedSliceLen counts a Binding's namespaced objects.
func unstructuredNestedSliceLen(o runtime.Object) (int, bool, error) {
	u, ok := o.(*unstructured.Unstructured)
	if !ok {
		return 0, false, nil
	}
	items, found, err := unstructured.NestedSlice(u.Object, "spec", "workload", "namespaceScope")
	return len(items), found, err
}
