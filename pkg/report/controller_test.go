package report_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// deployment is a Deployment of 2 replicas in namespace app, labelled
// app: name.
func deployment(t *testing.T, name string) *unstructured.Unstructured {
	return object(t, `
apiVersion: apps/v1
kind: Deployment
metadata: {name: `+name+`, namespace: app, labels: {app: `+name+`}}
spec:
  replicas: 2
  selector: {matchLabels: {app: `+name+`}}
  template:
    metadata: {labels: {app: `+name+`}}
    spec: {containers: [{name: c, image: nginx}]}`)
}

func object(t *testing.T, manifest string) *unstructured.Unstructured {
	t.Helper()
	var m map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(manifest), &m))
	return &unstructured.Unstructured{Object: m}
}

// startSpaces starts a bare dev environment with WECs, installs the CRDs
// into its WDS and ITS, and gives a context ending with the test.
func startSpaces(t *testing.T, wecs int) (context.Context, *devenvtest.Env) {
	t.Helper()
	env := devenvtest.Start(t, devenvtest.Options{WECs: wecs, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	_, err := crds.Install(ctx, env.Config("wds1"), crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	_, err = crds.Install(ctx, env.Config("its1"), crds.RoleITS, crds.InstallOptions{})
	require.NoError(t, err)
	return ctx, env
}

// runHub runs, until ctx ends, wds1's bind, transport and status
// controllers and an agent for each named WEC (retrying what it could not
// apply every resync); it returns the status controller.
func runHub(ctx context.Context, t *testing.T, env *devenvtest.Env, wecs []string, resync time.Duration) *report.StatusController {
	t.Helper()
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	binder, err := bind.NewController(bind.Options{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	transport, err := propagate.NewTransport(propagate.TransportOptions{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	status, err := report.NewStatusController(report.StatusOptions{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	runners := []interface{ Run(context.Context) error }{binder, transport, status}
	for _, name := range wecs {
		a, err := propagate.NewAgent(propagate.AgentOptions{Cluster: name, ITSConfig: itsCfg, WECConfig: env.Config(name), Resync: resync})
		require.NoError(t, err)
		runners = append(runners, a)
	}
	for _, r := range runners {
		go func() { _ = r.Run(ctx) }()
	}
	return status
}

// TestStatusController runs bind, transport, two agents and the status
// controller on real apiservers, plays the WECs' Deployment controllers by
// writing the WEC objects' status, and checks what comes back into the
// WDS: the singleton status and its label, the multi-WEC aggregate, the
// CombinedStatus of a StatusCollector, and the summary; then that they go
// when their policy changes or goes.
func TestStatusController(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ctx, env := startSpaces(t, 2)
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	var err error
	wds, its := dynamic.NewForConfigOrDie(wdsCfg), dynamic.NewForConfigOrDie(itsCfg)
	wdsCore := kubernetes.NewForConfigOrDie(wdsCfg)
	wecs := map[string]*kubernetes.Clientset{}
	for _, name := range []string{"cluster1", "cluster2"} {
		wecs[name] = kubernetes.NewForConfigOrDie(env.Config(name))
		_, err = its.Resource(propagate.WorkloadClusters).Create(ctx, object(t, fmt.Sprintf(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: %s, labels: {site: edge, name: %s}}, spec: {its: its1}}`, name, name)), metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = wecs[name].CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	_, err = wdsCore.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	for _, name := range []string{"web", "solo"} {
		_, err = wds.Resource(appsv1.SchemeGroupVersion.WithResource("deployments")).Namespace("app").Create(ctx, deployment(t, name), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, manifest := range []string{`
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: availability}
spec:
  limit: 10
  combinedFields:
  - {name: available, type: SUM, subject: returned.status.availableReplicas}
  - {name: wecs, type: COUNT}
  - {name: missing, type: SUM, subject: returned.status.nothing}
  - {name: notanumber, type: AVG, subject: '"x"'}`, `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: broken}
spec:
  limit: 10
  select: [{name: x, def: "returned.status.("}]`} {
		_, err = wds.Resource(controlv1alpha1.GroupVersion.WithResource("statuscollectors")).Create(ctx, object(t, manifest), metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for _, manifest := range []string{`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: multi}
spec:
  clusterSelectors: [{matchLabels: {site: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app: web}}], wantMultiWECReportedState: true, statusCollectors: [availability]}]`, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: single}
spec:
  clusterSelectors: [{matchLabels: {name: cluster1}}]
  downsync: [{objectSelectors: [{matchLabels: {app: solo}}], wantSingletonReportedState: true}]`} {
		_, err = wds.Resource(bind.BindingPolicies).Create(ctx, object(t, manifest), metav1.CreateOptions{})
		require.NoError(t, err)
	}

	status := runHub(ctx, t, env, []string{"cluster1", "cluster2"}, time.Hour)

	// Play the WECs' Deployment controllers.
	setStatus := func(wec, name string, available int32) {
		t.Helper()
		require.Eventually(t, func() bool {
			d, err := wecs[wec].AppsV1().Deployments("app").Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false
			}
			cond := corev1.ConditionTrue
			if available < 2 {
				cond = corev1.ConditionFalse
			}
			d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: available, AvailableReplicas: available,
				UnavailableReplicas: 2 - available, Conditions: []appsv1.DeploymentCondition{
					{Type: appsv1.DeploymentAvailable, Status: cond, Reason: "Test", Message: fmt.Sprintf("%d of 2", available)},
					{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"}}}
			_, err = wecs[wec].AppsV1().Deployments("app").UpdateStatus(ctx, d, metav1.UpdateOptions{})
			return err == nil
		}, time.Minute, 100*time.Millisecond, "%s: Deployment %s arrives", wec, name)
	}
	setStatus("cluster1", "web", 2)
	setStatus("cluster2", "web", 1)
	setStatus("cluster1", "solo", 2)

	deployments := wds.Resource(appsv1.SchemeGroupVersion.WithResource("deployments")).Namespace("app")
	require.Eventually(t, func() bool {
		d, err := deployments.Get(ctx, "web", metav1.GetOptions{})
		if err != nil {
			return false
		}
		available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		unavailable, _, _ := unstructured.NestedInt64(d.Object, "status", "unavailableReplicas")
		return available == 1 && unavailable == 1
	}, time.Minute, 100*time.Millisecond, "the multi-WEC status of web: MIN available, MAX unavailable")
	require.Eventually(t, func() bool {
		d, err := deployments.Get(ctx, "solo", metav1.GetOptions{})
		if err != nil {
			return false
		}
		available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		return available == 2 && d.GetLabels()[controlv1alpha1.LabelSingletonStatus] == "true"
	}, time.Minute, 100*time.Millisecond, "solo carries cluster1's status and the singleton label")

	web, err := deployments.Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	multi, err := wds.Resource(bind.BindingPolicies).Get(ctx, "multi", metav1.GetOptions{})
	require.NoError(t, err)
	combinedStatuses := wds.Resource(controlv1alpha1.GroupVersion.WithResource("combinedstatuses")).Namespace("app")
	var cs *unstructured.Unstructured
	require.Eventually(t, func() bool {
		cs, err = combinedStatuses.Get(ctx, string(web.GetUID())+"."+string(multi.GetUID()), metav1.GetOptions{})
		if err != nil {
			return false
		}
		rows, _, _ := unstructured.NestedSlice(cs.Object, "results", "0", "rows")
		results, _, _ := unstructured.NestedSlice(cs.Object, "results")
		if len(results) != 1 {
			return false
		}
		rows, _, _ = unstructured.NestedSlice(results[0].(map[string]any), "rows")
		if len(rows) != 1 {
			return false
		}
		cols := rows[0].(map[string]any)["columns"].([]any)
		return cols[0].(map[string]any)["float"] == "3" && cols[1].(map[string]any)["float"] == "2"
	}, time.Minute, 100*time.Millisecond, "the CombinedStatus sums 2+1 available over 2 WECs: %v", cs)
	// Errors in KubeStellar's shape: a row error names its WEC as a
	// Destination, an aggregation error its column.
	rowErrors, _, _ := unstructured.NestedSlice(cs.Object["results"].([]any)[0].(map[string]any), "rowErrors")
	require.Len(t, rowErrors, 2)
	assert.Equal(t, map[string]any{"wec": map[string]any{"clusterId": "cluster1"}, "columnName": "missing", "error": "no such key: nothing"}, rowErrors[0])
	aggErrors, _, _ := unstructured.NestedSlice(cs.Object["results"].([]any)[0].(map[string]any), "aggregationErrors")
	require.Len(t, aggErrors, 2)
	assert.Equal(t, map[string]any{"columnName": "notanumber", "error": `WEC "cluster1": cannot parse "x" as a number; counted as 0`}, aggErrors[0])
	assert.Equal(t, "multi", cs.GetLabels()["status.kubestellar.io/binding-policy"])
	assert.Equal(t, "web", cs.GetLabels()["status.kubestellar.io/name"])
	require.Eventually(t, func() bool {
		sc, err := wds.Resource(controlv1alpha1.GroupVersion.WithResource("statuscollectors")).Get(ctx, "broken", metav1.GetOptions{})
		if err != nil {
			return false
		}
		errs, _, _ := unstructured.NestedStringSlice(sc.Object, "status", "errors")
		return len(errs) == 1 && assert.Contains(t, errs[0], "spec.select[0].def")
	}, time.Minute, 100*time.Millisecond, "a StatusCollector that does not compile says so in its status")

	summary := status.Summary()
	require.Len(t, summary.Objects, 2)
	byName := map[string]report.ObjectSummary{}
	for _, o := range summary.Objects {
		byName[o.Name] = o
	}
	assert.Equal(t, "Deployment", byName["web"].Kind)
	require.Len(t, byName["web"].WECs, 2)
	assert.True(t, byName["web"].WECs[0].Synced && byName["web"].WECs[0].Ready, "web is ready in cluster1: %+v", byName["web"].WECs[0])
	assert.True(t, byName["web"].WECs[1].Synced, "web is applied in cluster2")
	assert.False(t, byName["web"].WECs[1].Ready, "web is not ready in cluster2 (1 of 2 available)")
	assert.Equal(t, []string{"cluster1"}, []string{byName["solo"].WECs[0].WEC})
	require.Len(t, byName["web"].Combined, 1)

	// The singleton policy selects both WECs: no singleton any more, the
	// label and the written status go, the policy says why.
	single, err := wds.Resource(bind.BindingPolicies).Get(ctx, "single", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, unstructured.SetNestedField(single.Object, []any{map[string]any{"matchLabels": map[string]any{"site": "edge"}}}, "spec", "clusterSelectors"))
	_, err = wds.Resource(bind.BindingPolicies).Update(ctx, single, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		d, err := deployments.Get(ctx, "solo", metav1.GetOptions{})
		if err != nil {
			return false
		}
		_, has := d.GetLabels()[controlv1alpha1.LabelSingletonStatus]
		_, hasStatus, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		return !has && !hasStatus
	}, time.Minute, 100*time.Millisecond, "the singleton label and status are taken back")
	require.Eventually(t, func() bool {
		p, err := wds.Resource(bind.BindingPolicies).Get(ctx, "single", metav1.GetOptions{})
		if err != nil {
			return false
		}
		errs, _, _ := unstructured.NestedStringSlice(p.Object, "status", "errors")
		return len(errs) == 1 && assert.Contains(t, errs[0], `Singleton reported status return is requested but some objects have the wrong number of associated WECs, for example: [{"ObjectID":{"GVK":{"Group":"apps","Version":"v1","Kind":"Deployment"},"Resource":"deployments","ObjectName":{"Namespace":"app","Name":"solo"}},"NumWECs":2}]`)
	}, time.Minute, 100*time.Millisecond, "the policy says why no singleton status is written")

	// The policy with the collector goes: so does the CombinedStatus.
	require.NoError(t, wds.Resource(bind.BindingPolicies).Delete(ctx, "multi", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		l, err := combinedStatuses.List(ctx, metav1.ListOptions{})
		return err == nil && len(l.Items) == 0
	}, time.Minute, 100*time.Millisecond, "the CombinedStatus is deleted with its policy")
}
