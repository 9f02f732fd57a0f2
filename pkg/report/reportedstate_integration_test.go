package report_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// widgetCRD has no status subresource: its reported state is a field of
// the object.
var widgetCRD = &apiextensionsv1.CustomResourceDefinition{
	ObjectMeta: metav1.ObjectMeta{Name: "widgets.example.com"},
	Spec: apiextensionsv1.CustomResourceDefinitionSpec{
		Group: "example.com", Scope: apiextensionsv1.NamespaceScoped,
		Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "widgets", Singular: "widget", Kind: "Widget", ListKind: "WidgetList"},
		Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1", Served: true, Storage: true,
			Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
				Type: "object", XPreserveUnknownFields: ptrTo(true)}}}},
	},
}

func ptrTo[T any](v T) *T { return &v }

var widgets = schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}

// TestReportedStatePerObject checks KubeStellar's reported state rules on
// real apiservers: a singleton decided per object over every policy that
// asks it (two policies sending the object to two WECs clear it, and both
// say why), no status back into a Namespace, a status written into the
// object itself for a kind without a status subresource, and a multi-WEC
// state that is one WEC's, with the singleton label, until a second WEC
// reports.
func TestReportedStatePerObject(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ctx, env := startSpaces(t, 2)
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	var err error
	wds, its := dynamic.NewForConfigOrDie(wdsCfg), dynamic.NewForConfigOrDie(itsCfg)
	installWidgets := func(cfg *rest.Config) {
		t.Helper()
		_, err := apiextensionsclient.NewForConfigOrDie(cfg).ApiextensionsV1().CustomResourceDefinitions().Create(ctx, widgetCRD.DeepCopy(), metav1.CreateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, err := dynamic.NewForConfigOrDie(cfg).Resource(widgets).Namespace("app").List(ctx, metav1.ListOptions{})
			return err == nil
		}, time.Minute, 100*time.Millisecond, "widgets served")
	}
	installWidgets(wdsCfg)
	wecs := map[string]*kubernetes.Clientset{}
	wecDyn := map[string]*dynamic.DynamicClient{}
	for _, name := range []string{"cluster1", "cluster2"} {
		wecs[name] = kubernetes.NewForConfigOrDie(env.Config(name))
		wecDyn[name] = dynamic.NewForConfigOrDie(env.Config(name))
		installWidgets(env.Config(name))
		_, err = its.Resource(propagate.WorkloadClusters).Create(ctx, object(t, fmt.Sprintf(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: %s, labels: {name: %s}}, spec: {its: its1}}`, name, name)), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = kubernetes.NewForConfigOrDie(wdsCfg).CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app", Labels: map[string]string{"app": "pair"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	deployments := wds.Resource(appsv1.SchemeGroupVersion.WithResource("deployments")).Namespace("app")
	for _, name := range []string{"pair", "spread"} {
		_, err = deployments.Create(ctx, deployment(t, name), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = wds.Resource(widgets).Namespace("app").Create(ctx, object(t, `{apiVersion: example.com/v1, kind: Widget, metadata: {name: gadget, namespace: app, labels: {app: pair}}, spec: {size: 3}}`), metav1.CreateOptions{})
	require.NoError(t, err)
	policies := wds.Resource(bind.BindingPolicies)
	createPolicy := func(manifest string) {
		t.Helper()
		_, err := policies.Create(ctx, object(t, manifest), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	// first asks a singleton of pair, its Namespace and gadget in cluster1.
	createPolicy(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: first}
spec:
  clusterSelectors: [{matchLabels: {name: cluster1}}]
  downsync: [{objectSelectors: [{matchLabels: {app: pair}}], wantSingletonReportedState: true}]`)
	createPolicy(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: spread}
spec:
  clusterSelectors: [{matchExpressions: [{key: name, operator: Exists}]}]
  downsync: [{objectSelectors: [{matchLabels: {app: spread}}], wantMultiWECReportedState: true, statusCollectors: [returning]}]`)
	_, err = wds.Resource(controlv1alpha1.GroupVersion.WithResource("statuscollectors")).Create(ctx, object(t, `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: returning}
spec:
  limit: 10
  combinedFields:
  - {name: wecs, type: COUNT}
  - {name: returned, type: SUM, subject: "returned.status == null ? 0 : 1"}`), metav1.CreateOptions{})
	require.NoError(t, err)

	status := runHub(ctx, t, env, []string{"cluster1", "cluster2"}, 2*time.Second) // retries what it could not apply

	// Play the WECs' controllers.
	setDeploymentStatus := func(wec, name string, available int32) {
		t.Helper()
		require.Eventually(t, func() bool {
			d, err := wecs[wec].AppsV1().Deployments("app").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: available, AvailableReplicas: available}
			_, err = wecs[wec].AppsV1().Deployments("app").UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err == nil
		}, time.Minute, 100*time.Millisecond, "%s: Deployment %s arrives", wec, name)
	}
	require.Eventually(t, func() bool {
		w, err := wecDyn["cluster1"].Resource(widgets).Namespace("app").Get(ctx, "gadget", metav1.GetOptions{})
		if err != nil {
			return false
		}
		w.Object["status"] = map[string]any{"phase": "Built"}
		_, err = wecDyn["cluster1"].Resource(widgets).Namespace("app").Update(ctx, w, metav1.UpdateOptions{FieldManager: "widget-controller"})
		return err == nil
	}, time.Minute, 100*time.Millisecond, "cluster1: Widget gadget arrives")
	setDeploymentStatus("cluster1", "pair", 2)
	setDeploymentStatus("cluster1", "spread", 2)

	availableOf := func(name string) (int64, map[string]string) {
		d, err := deployments.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return -1, nil
		}
		n, found, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		if !found {
			n = -1
		}
		return n, d.GetLabels()
	}
	require.Eventually(t, func() bool {
		n, labels := availableOf("pair")
		return n == 2 && labels[controlv1alpha1.LabelSingletonStatus] == "true"
	}, time.Minute, 100*time.Millisecond, "pair carries cluster1's status")
	require.Eventually(t, func() bool {
		w, err := wds.Resource(widgets).Namespace("app").Get(ctx, "gadget", metav1.GetOptions{})
		if err != nil {
			return false
		}
		phase, _, _ := unstructured.NestedString(w.Object, "status", "phase")
		return phase == "Built" && w.GetLabels()[controlv1alpha1.LabelSingletonStatus] == "true"
	}, time.Minute, 100*time.Millisecond, "gadget, of a kind without a status subresource, carries cluster1's status in the object")
	require.Eventually(t, func() bool {
		n, labels := availableOf("spread")
		return n == 2 && labels[controlv1alpha1.LabelSingletonStatus] == "true" && labels[controlv1alpha1.LabelMultiWECStatus] == ""
	}, time.Minute, 100*time.Millisecond, "spread: one of its two WECs returned a status (in the other it could not be applied), its status is that WEC's, as a singleton")
	require.Eventually(t, func() bool {
		l, err := wds.Resource(controlv1alpha1.GroupVersion.WithResource("combinedstatuses")).Namespace("app").List(ctx, metav1.ListOptions{})
		if err != nil || len(l.Items) != 1 {
			return false
		}
		results, _, _ := unstructured.NestedSlice(l.Items[0].Object, "results")
		if len(results) != 1 {
			return false
		}
		rows, _, _ := unstructured.NestedSlice(results[0].(map[string]any), "rows")
		if len(rows) != 1 {
			return false
		}
		cols, _, _ := unstructured.NestedSlice(rows[0].(map[string]any), "columns")
		return len(cols) == 2 && cols[0].(map[string]any)["float"] == "2" && cols[1].(map[string]any)["float"] == "1"
	}, time.Minute, 100*time.Millisecond, "spread's CombinedStatus has a row for each of its WECs, the one that returned nothing yet too")
	ns, err := kubernetes.NewForConfigOrDie(wdsCfg).CoreV1().Namespaces().Get(ctx, "app", metav1.GetOptions{})
	require.NoError(t, err)
	assert.NotContains(t, ns.Labels, controlv1alpha1.LabelSingletonStatus, "a Namespace never gets status back")
	for _, f := range ns.ManagedFields {
		assert.NotEqual(t, report.ReportFieldManager, f.Manager, "nothing written into the Namespace")
	}

	// cluster2 gets no Namespace from the policies; until it has its
	// own, spread cannot be applied there.
	_, err = wecs["cluster2"].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	setDeploymentStatus("cluster2", "spread", 1)
	require.Eventually(t, func() bool {
		n, labels := availableOf("spread")
		return n == 1 && labels[controlv1alpha1.LabelMultiWECStatus] == "true" && labels[controlv1alpha1.LabelSingletonStatus] == ""
	}, time.Minute, 100*time.Millisecond, "spread: both WECs reported, its status is their aggregate, labelled multi-WEC")

	// second asks a singleton of pair too, in cluster2: over both
	// policies pair has two WECs, so no singleton status, and both say so.
	createPolicy(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: second}
spec:
  clusterSelectors: [{matchLabels: {name: cluster2}}]
  downsync: [{resources: [deployments], objectSelectors: [{matchLabels: {app: pair}}], wantSingletonReportedState: true}]`)
	setDeploymentStatus("cluster2", "pair", 1)
	require.Eventually(t, func() bool {
		n, labels := availableOf("pair")
		return n == -1 && labels[controlv1alpha1.LabelSingletonStatus] == ""
	}, time.Minute, 100*time.Millisecond, "pair's singleton status and label are taken back")
	singletonErrors := func(policy string) []string {
		p, err := policies.Get(ctx, policy, metav1.GetOptions{})
		if err != nil {
			return nil
		}
		errs, _, _ := unstructured.NestedStringSlice(p.Object, "status", "errors")
		var out []string
		for _, e := range errs {
			if strings.HasPrefix(e, "Singleton reported status return is requested") {
				out = append(out, e)
			}
		}
		return out
	}
	for _, policy := range []string{"first", "second"} {
		require.Eventually(t, func() bool { return len(singletonErrors(policy)) == 1 }, time.Minute, 100*time.Millisecond, "%s says why pair has no singleton status", policy)
		msg := singletonErrors(policy)[0]
		var examples []map[string]any
		require.NoError(t, json.Unmarshal([]byte(msg[strings.Index(msg, "["):]), &examples), msg)
		require.Len(t, examples, 1, "only pair goes to two WECs: %s", msg)
		assert.Equal(t, map[string]any{
			"ObjectID": map[string]any{"GVK": map[string]any{"Group": "apps", "Version": "v1", "Kind": "Deployment"}, "Resource": "deployments",
				"ObjectName": map[string]any{"Namespace": "app", "Name": "pair"}},
			"NumWECs": float64(2),
		}, examples[0])
	}
	w, err := wds.Resource(widgets).Namespace("app").Get(ctx, "gadget", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "true", w.GetLabels()[controlv1alpha1.LabelSingletonStatus], "gadget still goes to cluster1 alone")

	// second goes: pair is cluster1's singleton again, first's error goes.
	require.NoError(t, policies.Delete(ctx, "second", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		n, labels := availableOf("pair")
		return n == 2 && labels[controlv1alpha1.LabelSingletonStatus] == "true"
	}, time.Minute, 100*time.Millisecond, "pair carries cluster1's status again")
	require.Eventually(t, func() bool { return len(singletonErrors("first")) == 0 }, time.Minute, 100*time.Millisecond, "first's error goes")

	// gadget leaves the WDS: its reported state is not written again
	// (the uid is a precondition of every write).
	require.NoError(t, wds.Resource(widgets).Namespace("app").Delete(ctx, "gadget", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		b, err := wds.Resource(bind.Bindings).Get(ctx, "first", metav1.GetOptions{})
		if err != nil {
			return false
		}
		ns, _, _ := unstructured.NestedSlice(b.Object, "spec", "workload", "namespaceScope")
		for _, o := range ns {
			if o.(map[string]any)["name"] == "gadget" {
				return false
			}
		}
		return true
	}, time.Minute, 100*time.Millisecond, "gadget leaves first's Binding")
	require.Eventually(t, status.Idle, time.Minute, 100*time.Millisecond)
	_, err = wds.Resource(widgets).Namespace("app").Get(ctx, "gadget", metav1.GetOptions{})
	assert.True(t, err != nil, "gadget is not made again by taking its reported state back")
}
