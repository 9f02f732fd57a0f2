package crds_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

func TestInstall(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 2, Bare: true})
	ctx := context.Background()
	wds := env.Config("wds1")

	first, err := crds.Install(ctx, wds, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	require.Len(t, first, 6)
	for _, r := range first {
		assert.Equal(t, crds.Created, r.Action, r.Name)
	}
	again, err := crds.Install(ctx, wds, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	for _, r := range again {
		assert.Equal(t, crds.Unchanged, r.Action, r.Name)
	}

	dyn := dynamic.NewForConfigOrDie(wds)
	apply := func(t *testing.T, gvr schema.GroupVersionResource, manifest string) (*unstructured.Unstructured, error) {
		t.Helper()
		body, err := yaml.YAMLToJSON([]byte(manifest))
		require.NoError(t, err)
		return dyn.Resource(gvr).Patch(ctx, nameOf(t, body), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: "crds-test"})
	}

	t.Run("a KubeStellar BindingPolicy works unchanged", func(t *testing.T) {
		// As in KubeStellar's getting-started guide.
		u, err := apply(t, controlv1alpha1.GroupVersion.WithResource("bindingpolicies"), `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata:
  name: nginx-bpolicy
spec:
  clusterSelectors:
  - matchLabels: {"location-group":"edge"}
  downsync:
  - objectSelectors:
    - matchLabels: {"app.kubernetes.io/name":"nginx"}
    createOnly: true
    statusCollectors: ["count-available"]
    wantSingletonReportedState: true
  - apiGroup: ""
    resources: ["namespaces"]
    namespaces: ["*"]
    objectNames: ["nginx"]
`)
		require.NoError(t, err)
		var bp controlv1alpha1.BindingPolicy
		b, _ := json.Marshal(u.Object)
		require.NoError(t, json.Unmarshal(b, &bp))
		require.Len(t, bp.Spec.Downsync, 2)
		assert.Equal(t, "edge", bp.Spec.ClusterSelectors[0].MatchLabels["location-group"])
		assert.Nil(t, bp.Spec.Downsync[0].APIGroup, "absent apiGroup means any group")
		assert.True(t, bp.Spec.Downsync[0].CreateOnly)
		assert.True(t, bp.Spec.Downsync[0].WantSingletonReportedState)
		assert.Equal(t, []string{"count-available"}, bp.Spec.Downsync[0].StatusCollectors)
		require.NotNil(t, bp.Spec.Downsync[1].APIGroup, `apiGroup "" survives: it means the core group`)
		assert.Equal(t, "", *bp.Spec.Downsync[1].APIGroup)
		assert.Equal(t, []string{"*"}, bp.Spec.Downsync[1].Namespaces)
	})

	t.Run("a StatusCollector gets its default limit; select with combinedFields is refused", func(t *testing.T) {
		u, err := apply(t, controlv1alpha1.GroupVersion.WithResource("statuscollectors"), `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata:
  name: count-available
spec:
  combinedFields:
  - name: count
    type: COUNT
`)
		require.NoError(t, err)
		limit, _, _ := unstructured.NestedInt64(u.Object, "spec", "limit")
		assert.Equal(t, int64(20), limit)

		_, err = apply(t, controlv1alpha1.GroupVersion.WithResource("statuscollectors"), `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata:
  name: both
spec:
  select: [{name: a, def: "obj.metadata.name"}]
  combinedFields: [{name: count, type: COUNT}]
`)
		assert.ErrorContains(t, err, "mutually exclusive")

		_, err = apply(t, controlv1alpha1.GroupVersion.WithResource("statuscollectors"), `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata:
  name: bad-type
spec:
  combinedFields: [{name: total, type: MEDIAN}]
`)
		assert.ErrorContains(t, err, "MEDIAN")
	})

	t.Run("a WDS Space must name its ITS", func(t *testing.T) {
		gvr := schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "spaces"}
		_, err := apply(t, gvr, "{apiVersion: gitstellar.io/v1alpha1, kind: Space, metadata: {name: wds1}, spec: {type: WDS}}")
		assert.ErrorContains(t, err, "a WDS must name its ITS")
		_, err = apply(t, gvr, "{apiVersion: gitstellar.io/v1alpha1, kind: Space, metadata: {name: x}, spec: {type: Other}}")
		assert.ErrorContains(t, err, "Unsupported value")
		_, err = apply(t, gvr, "{apiVersion: gitstellar.io/v1alpha1, kind: Space, metadata: {name: wds1}, spec: {type: WDS, its: its1}}")
		assert.NoError(t, err)
	})

	t.Run("the example repository's control objects are valid", func(t *testing.T) {
		_, err := crds.Install(ctx, env.Config("its1"), crds.RoleITS, crds.InstallOptions{})
		require.NoError(t, err)
		n := 0
		for _, obj := range exampleObjects(t, "../../examples/repo-layout") {
			gv, err := schema.ParseGroupVersion(obj.GetAPIVersion())
			require.NoError(t, err)
			if gv.Group != "gitstellar.io" && gv.Group != "control.kubestellar.io" {
				continue
			}
			space := "wds1"
			if obj.GetKind() == "WorkloadCluster" {
				space = "its1"
			}
			mapping := map[string]string{"Space": "spaces", "WorkloadCluster": "workloadclusters", "BindingPolicy": "bindingpolicies", "StatusCollector": "statuscollectors", "CustomTransform": "customtransforms"}
			resource, ok := mapping[obj.GetKind()]
			require.True(t, ok, "unexpected kind %s in the example", obj.GetKind())
			body, err := obj.MarshalJSON()
			require.NoError(t, err)
			_, err = dynamic.NewForConfigOrDie(env.Config(space)).Resource(gv.WithResource(resource)).Patch(ctx, obj.GetName(), types.ApplyPatchType, body,
				metav1.PatchOptions{FieldManager: "crds-test", DryRun: []string{metav1.DryRunAll}})
			assert.NoError(t, err, "%s %s", obj.GetKind(), obj.GetName())
			n++
		}
		assert.Equal(t, 9, n, "3 spaces, 2 clusters, 3 policies and a collector")
	})

	t.Run("a WorkloadCluster's name must make a mailbox namespace", func(t *testing.T) {
		gvr := schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "workloadclusters"}
		its := dynamic.NewForConfigOrDie(env.Config("its1")).Resource(gvr)
		for name, ok := range map[string]bool{
			"edge-7":                true,
			"edge.west":             false,
			strings.Repeat("a", 55): true,
			strings.Repeat("a", 56): false,
		} {
			body := fmt.Sprintf(`{"apiVersion":"gitstellar.io/v1alpha1","kind":"WorkloadCluster","metadata":{"name":%q},"spec":{"its":"its1"}}`, name)
			_, err := its.Patch(ctx, name, types.ApplyPatchType, []byte(body), metav1.PatchOptions{FieldManager: "crds-test", DryRun: []string{metav1.DryRunAll}})
			if ok {
				assert.NoError(t, err, name)
			} else {
				assert.ErrorContains(t, err, "mailbox namespace", name)
			}
		}
	})

	t.Run("an incompatible CRD of the same name is reported, not overwritten", func(t *testing.T) {
		its := env.Config("cluster2")
		client := apiextensionsclient.NewForConfigOrDie(its)
		foreign := &apiextensionsv1.CustomResourceDefinition{
			ObjectMeta: metav1.ObjectMeta{Name: "workloadclusters.gitstellar.io"},
			Spec: apiextensionsv1.CustomResourceDefinitionSpec{
				Group: "gitstellar.io",
				Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "workloadclusters", Kind: "WorkloadCluster", ListKind: "WorkloadClusterList"},
				Scope: apiextensionsv1.NamespaceScoped,
				Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
					Name: "v1alpha1", Served: true, Storage: true,
					Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
						Type: "object", XPreserveUnknownFields: ptr(true),
					}},
				}},
			},
		}
		_, err := client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, foreign, metav1.CreateOptions{FieldManager: "someone-else"})
		require.NoError(t, err)

		results, err := crds.Install(ctx, its, crds.RoleITS, crds.InstallOptions{})
		var incompatible *crds.IncompatibleError
		require.ErrorAs(t, err, &incompatible)
		assert.Equal(t, "workloadclusters.gitstellar.io", incompatible.Name)
		assert.Contains(t, err.Error(), "scope Namespaced")
		assert.Empty(t, results, "nothing is applied when one CRD is incompatible")

		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "workloadclusters.gitstellar.io", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, apiextensionsv1.NamespaceScoped, got.Spec.Scope)
		_, err = client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, "deliveries.gitstellar.io", metav1.GetOptions{})
		assert.Error(t, err, "deliveries must not have been installed")
	})

	t.Run("a compatible CRD managed by someone else is kept", func(t *testing.T) {
		cluster1 := env.Config("cluster1")
		client := apiextensionsclient.NewForConfigOrDie(cluster1)
		all, err := crds.ForRole(crds.RoleWDS)
		require.NoError(t, err)
		theirs := all[0].CustomResourceDefinition.DeepCopy()
		theirs.Labels = map[string]string{"app.kubernetes.io/managed-by": "Helm"}
		_, err = client.ApiextensionsV1().CustomResourceDefinitions().Create(ctx, theirs, metav1.CreateOptions{FieldManager: "helm"})
		require.NoError(t, err)

		results, err := crds.Install(ctx, cluster1, crds.RoleWDS, crds.InstallOptions{})
		require.NoError(t, err)
		assert.Equal(t, crds.KeptForeign, results[0].Action)
		assert.Equal(t, []string{"helm"}, results[0].Managers)
		got, err := client.ApiextensionsV1().CustomResourceDefinitions().Get(ctx, theirs.Name, metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "Helm", got.Labels["app.kubernetes.io/managed-by"])
	})
}

// exampleObjects reads every YAML document under dir.
func exampleObjects(t *testing.T, dir string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(path) != ".yaml" {
			return err
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); err == io.EOF {
				return nil
			} else if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			if obj != nil {
				out = append(out, &unstructured.Unstructured{Object: obj})
			}
		}
	})
	require.NoError(t, err)
	return out
}

func nameOf(t *testing.T, body []byte) string {
	var m struct {
		Metadata struct{ Name string } `json:"metadata"`
	}
	require.NoError(t, json.Unmarshal(body, &m))
	return m.Metadata.Name
}

func ptr[T any](v T) *T { return &v }
