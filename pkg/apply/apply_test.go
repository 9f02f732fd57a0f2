package apply_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/render"
)

func objects(t *testing.T, manifests ...string) []render.Object {
	t.Helper()
	var out []render.Object
	for i, m := range manifests {
		var obj map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(m), &obj))
		out = append(out, render.Object{Unstructured: &unstructured.Unstructured{Object: obj}, Source: render.Location{File: "test.yaml", Line: i + 1}})
	}
	return out
}

func entry(t *testing.T, res *apply.Result, kind, namespace, name string) apply.Entry {
	t.Helper()
	for _, e := range res.Entries {
		if e.Key.Kind == kind && e.Key.Namespace == namespace && e.Key.Name == name {
			return e
		}
	}
	t.Fatalf("no entry for %s %s/%s in %v", kind, namespace, name, res.Entries)
	return apply.Entry{}
}

func TestApply(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 0, Bare: true})
	ctx := context.Background()
	cfg := env.Config("wds1")
	_, err := crds.Install(ctx, cfg, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	cs := kubernetes.NewForConfigOrDie(cfg)

	rendered, err := render.Directory(context.Background(), "../../examples/repo-layout", render.Options{})
	require.NoError(t, err)
	example := rendered.Space("wds1").Objects

	a, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "example"})
	require.NoError(t, err)

	t.Run("the example applies", func(t *testing.T) {
		res, err := a.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Empty(t, res.Problems())
		assert.Equal(t, len(example), res.Count(apply.Created), res.Summary())
		dep, err := cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "example", dep.Labels[apply.LabelSource])
		assert.Equal(t, "gitstellar", dep.ManagedFields[0].Manager)
	})

	t.Run("a watching applier sends nothing for an unchanged re-sync", func(t *testing.T) {
		counted := countRequests(t, cfg, func(r *http.Request) bool {
			return !strings.Contains(r.URL.RawQuery, "labelSelector=") // not its watches
		})
		w, err := apply.NewApplier(counted.cfg, "wds1", apply.Options{Source: "example"})
		require.NoError(t, err)
		watchCtx, stop := context.WithCancel(ctx)
		defer stop()
		w.Watch(watchCtx)
		_, err = w.Apply(ctx, example, "rev1") // verifies each object once, starts the watches
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			counted.n.Store(0)
			res, err := w.Apply(ctx, example, "rev1")
			return err == nil && res.Count(apply.Unchanged) == len(example) && counted.n.Load() == 1
		}, 30*time.Second, 100*time.Millisecond, "once the watches have synced: the inventory read, nothing else")

		// An object changed by someone else is applied again (its watch
		// tells what it holds: no read); a label of its own is no drift,
		// and the apply changes nothing.
		dep, err := cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err)
		dep.Labels["added-by"] = "hand"
		edited, err := cs.AppsV1().Deployments("nginx").Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		require.NoError(t, err)
		require.Eventually(t, func() bool { // once its watch has seen the edit
			counted.n.Store(0)
			res, err := w.Apply(ctx, example, "rev1")
			require.NoError(t, err)
			assert.Equal(t, len(example), res.Count(apply.Unchanged), res.Summary())
			return counted.n.Load() == 2
		}, 10*time.Second, 20*time.Millisecond, "the inventory, and the edited object's apply")
		after, err := cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, edited.ResourceVersion, after.ResourceVersion, "an apply that changes nothing writes nothing")
		assert.Equal(t, "hand", after.Labels["added-by"])
		counted.n.Store(0)
		_, err = w.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), counted.n.Load(), "verified again: nothing but the inventory")

		// Its status written by a controller: no drift, nothing read.
		dep, err = cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err)
		dep.Status.ObservedGeneration, dep.Status.Replicas = dep.Generation, 7
		written, err := cs.AppsV1().Deployments("nginx").UpdateStatus(ctx, dep, metav1.UpdateOptions{FieldManager: "deployment-controller"})
		require.NoError(t, err)
		require.NotEqual(t, dep.ResourceVersion, written.ResourceVersion)
		time.Sleep(time.Second) // its watch has seen the status
		counted.n.Store(0)
		res, err := w.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Equal(t, len(example), res.Count(apply.Unchanged), res.Summary())
		assert.Equal(t, int64(1), counted.n.Load(), "a status write is no drift: nothing but the inventory")
	})

	t.Run("an unchanged re-sync writes nothing", func(t *testing.T) {
		reader, err := client.New(cfg, client.Options{})
		require.NoError(t, err)
		versions := func() map[string]string {
			out := map[string]string{}
			for _, o := range example {
				live := &unstructured.Unstructured{}
				live.SetGroupVersionKind(o.GroupVersionKind())
				require.NoError(t, reader.Get(ctx, client.ObjectKeyFromObject(o.Unstructured), live), "%s %s", o.GetKind(), o.GetName())
				out[o.GetKind()+"/"+o.GetName()] = live.GetResourceVersion()
			}
			return out
		}
		before := versions()
		// A new applier knows nothing: it reads and applies every object
		// once, which changes none.
		applies := countRequests(t, cfg, func(r *http.Request) bool { return r.Method == http.MethodPatch })
		again, err := apply.NewApplier(applies.cfg, "wds1", apply.Options{Source: "example"})
		require.NoError(t, err)
		res, err := again.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Equal(t, len(example), res.Count(apply.Unchanged), res.Summary())
		assert.False(t, res.Changed())
		assert.Equal(t, int64(len(example)), applies.n.Load(), "a new applier applies every object once")
		assert.Equal(t, before, versions(), "nothing written")

		// The same applier again: what it verified and nobody touched since
		// is only read.
		applies.n.Store(0)
		res, err = again.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Equal(t, len(example), res.Count(apply.Unchanged), res.Summary())
		assert.Zero(t, applies.n.Load(), "nothing to apply on a second sync")
		// Someone edits an object: it is applied again and, as its field
		// now has another manager, reported as a conflict.
		dep, err := cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err)
		dep.Spec.Replicas = ptr(int32(7))
		_, err = cs.AppsV1().Deployments("nginx").Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
		require.NoError(t, err)
		res, err = again.Apply(ctx, example, "rev1")
		require.NoError(t, err)
		assert.Equal(t, int64(1), applies.n.Load(), "only the edited object is applied")
		assert.Equal(t, 1, res.Count(apply.Conflict), res.Summary())
	})

	t.Run("what leaves Git is pruned, by a new applier too", func(t *testing.T) {
		var without []render.Object
		for _, o := range example {
			if o.GetKind() != "ConfigMap" {
				without = append(without, o)
			}
		}
		again, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "example"})
		require.NoError(t, err)
		res, err := again.Apply(ctx, without, "rev3")
		require.NoError(t, err)
		assert.Equal(t, apply.Deleted, entry(t, res, "ConfigMap", "nginx", "hello-config").Action)
		_, err = cs.CoreV1().ConfigMaps("nginx").Get(ctx, "hello-config", metav1.GetOptions{})
		assert.Error(t, err)
	})

	t.Run("prune: disabled keeps an object", func(t *testing.T) {
		objs := objects(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: keep-me, namespace: default, annotations: {gitstellar.io/prune: disabled}}}`)
		b, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "keeper"})
		require.NoError(t, err)
		_, err = b.Apply(ctx, objs, "r1")
		require.NoError(t, err)
		res, err := b.Apply(ctx, nil, "r2")
		require.NoError(t, err)
		assert.Equal(t, apply.Skipped, entry(t, res, "ConfigMap", "default", "keep-me").Action)
		_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "keep-me", metav1.GetOptions{})
		assert.NoError(t, err)
	})

	t.Run("an object another manager owns is reported, not overwritten", func(t *testing.T) {
		_, err := cs.CoreV1().ConfigMaps("default").Apply(ctx,
			applycorev1.ConfigMap("shared", "default").WithData(map[string]string{"owner": "them"}),
			metav1.ApplyOptions{FieldManager: "argocd-controller"})
		require.NoError(t, err)
		b, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "conflicts"})
		require.NoError(t, err)
		objs := objects(t,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: shared, namespace: default}, data: {owner: us}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: independent, namespace: default}, data: {a: b}}`,
		)
		res, err := b.Apply(ctx, objs, "r1")
		require.NoError(t, err)
		shared := entry(t, res, "ConfigMap", "default", "shared")
		assert.Equal(t, apply.Conflict, shared.Action)
		assert.Equal(t, []string{"argocd-controller"}, shared.Managers)
		assert.Contains(t, shared.Message, "argocd-controller")
		assert.Equal(t, render.Location{File: "test.yaml", Line: 1}, shared.Source)
		assert.Equal(t, apply.Created, entry(t, res, "ConfigMap", "default", "independent").Action, "the others go on")
		cm, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "them", cm.Data["owner"])

		forced := objects(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: shared, namespace: default, annotations: {gitstellar.io/ssa: force}}, data: {owner: us}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: independent, namespace: default}, data: {a: b}}`)
		res, err = b.Apply(ctx, forced, "r2")
		require.NoError(t, err)
		assert.Equal(t, apply.Configured, entry(t, res, "ConfigMap", "default", "shared").Action)
		cm, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "us", cm.Data["owner"])
	})

	t.Run("an object without our label is not pruned", func(t *testing.T) {
		b, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "relabel"})
		require.NoError(t, err)
		_, err = b.Apply(ctx, objects(t, `{apiVersion: v1, kind: ConfigMap, metadata: {name: adopted-later, namespace: default}}`), "r1")
		require.NoError(t, err)
		// Someone else takes the object over and drops our label.
		cm, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "adopted-later", metav1.GetOptions{})
		require.NoError(t, err)
		delete(cm.Labels, apply.LabelSource)
		_, err = cs.CoreV1().ConfigMaps("default").Update(ctx, cm, metav1.UpdateOptions{})
		require.NoError(t, err)
		res, err := b.Apply(ctx, nil, "r2")
		require.NoError(t, err)
		assert.Equal(t, apply.Skipped, entry(t, res, "ConfigMap", "default", "adopted-later").Action)
		_, err = cs.CoreV1().ConfigMaps("default").Get(ctx, "adopted-later", metav1.GetOptions{})
		assert.NoError(t, err)
	})

	t.Run("a CRD and its objects in one set; a namespace defaulted", func(t *testing.T) {
		b, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "crd"})
		require.NoError(t, err)
		objs := objects(t, `
apiVersion: example.com/v1
kind: Widget
metadata: {name: w1}
spec: {size: 3}`, `
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}`)
		res, err := b.Apply(ctx, objs, "r1")
		require.NoError(t, err)
		assert.Empty(t, res.Problems(), res.Entries)
		w, err := dynamic.NewForConfigOrDie(cfg).Resource(schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}).
			Namespace("default").Get(ctx, "w1", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "crd", w.GetLabels()[apply.LabelSource])
	})

	t.Run("a refused object fails alone", func(t *testing.T) {
		b, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: "refused"})
		require.NoError(t, err)
		res, err := b.Apply(ctx, objects(t,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: "Not_A_Name", namespace: default}}`,
			`{apiVersion: control.kubestellar.io/v1alpha1, kind: StatusCollector, metadata: {name: bad}, spec: {combinedFields: [{name: x, type: MEDIAN}]}}`,
			`{apiVersion: v1, kind: ConfigMap, metadata: {name: fine, namespace: default}}`,
		), "r1")
		require.NoError(t, err)
		assert.Equal(t, apply.Failed, entry(t, res, "ConfigMap", "default", "Not_A_Name").Action)
		bad := entry(t, res, "StatusCollector", "", "bad")
		assert.Equal(t, apply.Failed, bad.Action)
		assert.Contains(t, bad.Message, "MEDIAN")
		assert.Equal(t, apply.Created, entry(t, res, "ConfigMap", "default", "fine").Action)
	})

	t.Run("the inventory lives in the space", func(t *testing.T) {
		cm, err := cs.CoreV1().ConfigMaps(apply.InventoryNamespace).Get(ctx, "inventory.example", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Contains(t, cm.Data["inventory.json"], `"id":"nginx_nginx-deployment_apps_Deployment"`)
		assert.Contains(t, cm.Data["inventory.json"], `"revision":"rev3"`)
	})
}

type requestCounter struct {
	cfg *rest.Config
	n   *atomic.Int64
}

// countRequests counts the requests made through the config that match.
func countRequests(t *testing.T, cfg *rest.Config, match func(*http.Request) bool) requestCounter {
	t.Helper()
	var n atomic.Int64
	c := rest.CopyConfig(cfg)
	wrapped := c.WrapTransport
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if wrapped != nil {
			rt = wrapped(rt)
		}
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			if match(r) {
				n.Add(1)
			}
			return rt.RoundTrip(r)
		})
	}
	return requestCounter{cfg: c, n: &n}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func ptr[T any](v T) *T { return &v }
