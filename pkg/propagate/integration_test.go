package propagate_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestContentionAndOrphans runs the bind controller, the transport and an
// agent on real apiservers:
//   - another WDS delivering an object the WEC already holds from wds1 is
//     refused; the refusal is in the other Delivery's status, and the
//     Binding that keeps the object says so in its status;
//   - a policy annotated gitstellar.io/deletion: orphan leaves its objects
//     in the WEC when it is deleted; another policy's objects go.
func TestContentionAndOrphans(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, its, wec := startHub(ctx, t, env)
	startAgent(ctx, t, env, time.Hour)
	for _, p := range []string{"kept", "plain"} {
		createPolicy(ctx, t, wds, p)
	}
	inWEC := func(name string) (*corev1.ConfigMap, error) {
		return wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{})
	}
	require.Eventually(t, func() bool {
		_, errA := inWEC("a")
		_, errC := inWEC("c")
		done, _ := applied(t, its, "cluster1")
		return errA == nil && errC == nil && done
	}, time.Minute, 50*time.Millisecond, "wds1's objects reach the WEC")

	// A second WDS delivers ConfigMap app/a too, later: the first writer
	// keeps it, both sides are told.
	mailbox := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	_, err := mailbox.Create(ctx, mustObject(t, `
apiVersion: gitstellar.io/v1alpha1
kind: Delivery
metadata: {name: wds2.other.0, labels: {gitstellar.io/wds: wds2, gitstellar.io/binding: other, gitstellar.io/cluster: cluster1}}
spec:
  source: {wds: wds2, binding: other}
  parts: 1
  entries:
  - object: {apiVersion: v1, kind: ConfigMap, metadata: {name: a, namespace: app}, data: {from: wds2}}`), metav1.CreateOptions{})
	require.NoError(t, err)
	var refused *unstructured.Unstructured
	require.Eventually(t, func() bool {
		refused, err = mailbox.Get(ctx, "wds2.other.0", metav1.GetOptions{})
		return err == nil && len(propagate.DeliveryProblems(refused)) > 0
	}, time.Minute, 50*time.Millisecond, "the later WDS's entry is refused")
	assert.Equal(t, []string{`cluster1: ConfigMap app/a: Conflict: another WDS (wds1/kept) delivers this object to the WEC; the first writer keeps it`},
		propagate.DeliveryProblems(refused), "what the other WDS's transport puts into its Binding")
	require.Eventually(t, func() bool {
		return hasEvent(ctx, t, env, "Warning", "Conflict", "WEC cluster1: 1 of 1 entries not applied: ConfigMap app/a: Conflict: another WDS (wds1/kept)")
	}, 10*time.Second, 50*time.Millisecond, "the refusal is an Event on the refused Delivery")
	require.Eventually(t, func() bool {
		return slices.Contains(bindingErrors(t, wds, "kept"), "cluster1: ConfigMap app/a: also delivered by wds2/other; kept from this Binding (first writer)")
	}, time.Minute, 50*time.Millisecond, "the Binding that keeps the object says it is contested: %v", bindingErrors(t, wds, "kept"))
	cm, err := inWEC("a")
	require.NoError(t, err)
	assert.Equal(t, "wds1", cm.Data["from"], "the first writer keeps the object")
	require.NoError(t, mailbox.Delete(ctx, "wds2.other.0", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return len(bindingErrors(t, wds, "kept")) == 0 }, time.Minute, 50*time.Millisecond,
		"the contention ends with the other Delivery")
	cm, err = inWEC("a")
	require.NoError(t, err, "the refused Delivery's removal deletes nothing")
	assert.Equal(t, "wds1", cm.Data["from"])

	// Policy-level orphaning: annotate, let it reach the agent, delete both
	// policies.
	kept, err := wds.Resource(bind.BindingPolicies).Get(ctx, "kept", metav1.GetOptions{})
	require.NoError(t, err)
	kept.SetAnnotations(map[string]string{"gitstellar.io/deletion": "orphan"})
	_, err = wds.Resource(bind.BindingPolicies).Update(ctx, kept, metav1.UpdateOptions{})
	require.NoError(t, err)
	// The agent's inventory, in the format of every applier's: id → orphan.
	agentInventory := func() map[string]bool {
		var content apply.Inventory
		cm, err := wec.CoreV1().ConfigMaps("gitstellar-system").Get(ctx, propagate.InventoryName, metav1.GetOptions{})
		if err == nil {
			require.NoError(t, json.Unmarshal([]byte(cm.Data["inventory.json"]), &content))
		}
		orphans := map[string]bool{}
		for _, e := range content.Entries {
			orphans[e.ID] = e.Orphan
		}
		return orphans
	}
	require.Eventually(t, func() bool {
		inv := agentInventory()
		return inv["app_a__ConfigMap"] && inv["app_b__ConfigMap"] && !inv["app_c__ConfigMap"]
	}, time.Minute, 50*time.Millisecond, "the agent records the policy's orphan option: %v", agentInventory())
	for _, p := range []string{"kept", "plain"} {
		require.NoError(t, wds.Resource(bind.BindingPolicies).Delete(ctx, p, metav1.DeleteOptions{}))
	}
	require.Eventually(t, func() bool {
		_, hasA := agentInventory()["app_a__ConfigMap"]
		_, hasC := agentInventory()["app_c__ConfigMap"]
		return !hasA && !hasC
	}, time.Minute, 50*time.Millisecond, "the agent lets go of both policies' objects")
	_, err = inWEC("c")
	assert.True(t, apierrors.IsNotFound(err), "the plain policy's object leaves the WEC: %v", err)
	for _, name := range []string{"a", "b"} {
		_, err := inWEC(name)
		assert.NoError(t, err, "ConfigMap %s stays: its policy orphans", name)
	}
}

// applied tells, from the Deliveries' status in a WEC's mailbox, whether
// its agent applied every entry of every Delivery as it is now, and lists
// the problems the statuses report.
func applied(t testing.TB, its dynamic.Interface, wec string) (bool, []string) {
	t.Helper()
	list, err := its.Resource(propagate.Deliveries).Namespace("mailbox-"+wec).List(context.Background(), metav1.ListOptions{})
	if err != nil || len(list.Items) == 0 {
		return false, nil
	}
	parts := map[string]map[int]*unstructured.Unstructured{}
	var problems []string
	for i := range list.Items {
		d := &list.Items[i]
		binding := d.GetLabels()["gitstellar.io/wds"] + "/" + d.GetLabels()["gitstellar.io/binding"]
		n, _, _ := unstructured.NestedInt64(d.Object, "spec", "part")
		if parts[binding] == nil {
			parts[binding] = map[int]*unstructured.Unstructured{}
		}
		parts[binding][int(n)] = d
		problems = append(problems, propagate.DeliveryProblems(d)...)
	}
	all := true
	for _, p := range parts {
		all = all && propagate.WECProgress(p, nil) == propagate.Applied
	}
	return all, problems
}

func bindingErrors(t *testing.T, wds dynamic.Interface, name string) []string {
	t.Helper()
	b, err := wds.Resource(bind.Bindings).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return []string{"no Binding: " + err.Error()}
	}
	errs, _, _ := unstructured.NestedStringSlice(b.Object, "status", "errors")
	return errs
}

// TestUnreachableWEC: a hand edit in a WEC is corrected as soon as the
// agent's watch sees it, with no resync; so is an object deleted by hand
// or stripped of the agent's label; a WEC whose apiserver is gone is
// reported in the status of the Bindings that send it objects, and caught
// up when back.
func TestUnreachableWEC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, its, _ := startHub(ctx, t, env)
	startAgent(ctx, t, env, time.Hour) // no resync: the watch corrects
	createPolicy(ctx, t, wds, "kept")
	wec := kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	require.Eventually(t, func() bool {
		_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
		done, _ := applied(t, its, "cluster1")
		return err == nil && done
	}, time.Minute, 50*time.Millisecond, "applied")
	require.Eventually(t, func() bool { return bindingConditions(t, wds, "kept") == "Synced=True Ready=True" },
		10*time.Second, 50*time.Millisecond, "the Binding says it is applied: %s", bindingConditions(t, wds, "kept"))

	cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "cluster1", cm.Labels["gitstellar.io/agent"], "the agent's label, which it watches by")
	time.Sleep(time.Second) // the watches started (not required: a missed event is caught by the watch's list)

	// A hand edit in the WEC is restored, with no resync.
	cm.Data["from"] = "a hand edit"
	_, err = wec.CoreV1().ConfigMaps("app").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
		return err == nil && cm.Data["from"] == "wds1"
	}, 10*time.Second, 50*time.Millisecond, "the drift is corrected")
	// Its label taken off: put back.
	cm, err = wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
	require.NoError(t, err)
	delete(cm.Labels, "gitstellar.io/agent")
	_, err = wec.CoreV1().ConfigMaps("app").Update(ctx, cm, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
		return err == nil && cm.Labels["gitstellar.io/agent"] == "cluster1"
	}, 10*time.Second, 50*time.Millisecond, "the label is restored")
	// Deleted by hand: created again.
	old, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, wec.CoreV1().ConfigMaps("app").Delete(ctx, "b", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
		return err == nil && cm.UID != old.UID && cm.Data["from"] == "wds1"
	}, 10*time.Second, 50*time.Millisecond, "the deleted object is back")

	require.NoError(t, env.Kill("cluster1-apiserver"))
	require.Eventually(t, func() bool {
		errs := bindingErrors(t, wds, "kept")
		return len(errs) == 1 && strings.HasPrefix(errs[0], "cluster1: unreachable: the WEC cannot be reached: ")
	}, time.Minute, 100*time.Millisecond, "the Binding says its WEC is unreachable, once: %v", bindingErrors(t, wds, "kept"))
	assert.Equal(t, "Synced=True Ready=False", bindingConditions(t, wds, "kept"), "not ready: a WEC could not apply")
	// As KubeStellar's, the policy repeats its Binding's conditions and errors.
	require.Eventually(t, func() bool {
		conds, errs := policyStatus(t, wds, "kept")
		return conds == "Synced=True Ready=False StatusCollectorsAvailable=True" && slices.Equal(errs, bindingErrors(t, wds, "kept"))
	}, 10*time.Second, 50*time.Millisecond, "the policy repeats its Binding's status")
	_, err = devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), WECs: 1, Bare: true, StopWithParent: true})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		done, _ := applied(t, its, "cluster1")
		return len(bindingErrors(t, wds, "kept")) == 0 && done
	}, time.Minute, 100*time.Millisecond,
		"back and caught up: %v", bindingErrors(t, wds, "kept"))
	require.Eventually(t, func() bool { return bindingConditions(t, wds, "kept") == "Synced=True Ready=True" },
		10*time.Second, 50*time.Millisecond, "ready again: %s", bindingConditions(t, wds, "kept"))

	// A new generation of the Binding: observed, and ready again once
	// applied.
	_, err = kubernetes.NewForConfigOrDie(env.Config("wds1")).CoreV1().ConfigMaps("app").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"policy": "kept"}}, Data: map[string]string{"from": "wds1"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		b, err := wds.Resource(bind.Bindings).Get(ctx, "kept", metav1.GetOptions{})
		if err != nil {
			return false
		}
		observed, _, _ := unstructured.NestedInt64(b.Object, "status", "observedGeneration")
		_, err = wec.CoreV1().ConfigMaps("app").Get(ctx, "d", metav1.GetOptions{})
		return observed == b.GetGeneration() && bindingConditions(t, wds, "kept") == "Synced=True Ready=True" && err == nil
	}, 30*time.Second, 50*time.Millisecond, "the new generation is observed and ready once applied: %s", bindingConditions(t, wds, "kept"))
	require.Eventually(t, func() bool {
		conds, errs := policyStatus(t, wds, "kept")
		return conds == "Synced=True Ready=True StatusCollectorsAvailable=True" && len(errs) == 0
	}, 10*time.Second, 50*time.Millisecond, "the policy is ready too")

	// A policy naming a StatusCollector the WDS does not hold: its
	// Binding says so (StatusCollectorsAvailable, KubeStellar's wording),
	// until the StatusCollector is created.
	_, err = wds.Resource(bind.BindingPolicies).Create(ctx, mustObject(t, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: collected}
spec:
  clusterSelectors: [{matchLabels: {site: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {policy: plain}}], statusCollectors: [replicas, absent]}]`), metav1.CreateOptions{})
	require.NoError(t, err)
	collectors := func() string {
		b, err := wds.Resource(bind.Bindings).Get(ctx, "collected", metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		var typed controlv1alpha1.Binding
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(b.Object, &typed))
		if c := controlv1alpha1.FindCondition(typed.Status.Conditions, controlv1alpha1.TypeStatusCollectorsAvailable); c != nil {
			return string(c.Status) + " " + string(c.Reason) + " " + c.Message
		}
		return "none"
	}
	require.Eventually(t, func() bool {
		return collectors() == "False ReconcileError Missing StatusCollector(s) [absent replicas]"
	},
		30*time.Second, 50*time.Millisecond, "both missing: %s", collectors())
	for _, name := range []string{"replicas", "absent"} {
		_, err = wds.Resource(propagate.StatusCollectors).Create(ctx, mustObject(t, `{apiVersion: control.kubestellar.io/v1alpha1, kind: StatusCollector, metadata: {name: `+name+`}, spec: {combinedFields: [{name: count, type: COUNT}], limit: 10}}`), metav1.CreateOptions{})
		require.NoError(t, err)
		if name == "replicas" {
			require.Eventually(t, func() bool { return collectors() == "False ReconcileError Missing StatusCollector(s) [absent]" },
				10*time.Second, 50*time.Millisecond, "one missing: %s", collectors())
		}
	}
	require.Eventually(t, func() bool { return collectors() == "True ReconcileSuccess All StatusCollector(s) are available" },
		10*time.Second, 50*time.Millisecond, "all there: %s", collectors())
}

// policyStatus is a BindingPolicy's conditions, "Type=Status" in their
// order, and errors.
func policyStatus(t *testing.T, wds dynamic.Interface, name string) (string, []string) {
	t.Helper()
	u, err := wds.Resource(bind.BindingPolicies).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return err.Error(), nil
	}
	var bp controlv1alpha1.BindingPolicy
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &bp))
	var conds []string
	for _, c := range bp.Status.Conditions {
		conds = append(conds, string(c.Type)+"="+string(c.Status))
	}
	return strings.Join(conds, " "), bp.Status.Errors
}

// bindingConditions is "Synced=S Ready=R" of a Binding's status.
func bindingConditions(t *testing.T, wds dynamic.Interface, name string) string {
	t.Helper()
	b, err := wds.Resource(bind.Bindings).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		return "no Binding: " + err.Error()
	}
	var b2 controlv1alpha1.Binding
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(b.Object, &b2))
	var parts []string
	for _, ty := range []controlv1alpha1.ConditionType{controlv1alpha1.TypeSynced, controlv1alpha1.TypeReady} {
		if c := controlv1alpha1.FindCondition(b2.Status.Conditions, ty); c != nil {
			parts = append(parts, string(ty)+"="+string(c.Status))
		}
	}
	return strings.Join(parts, " ")
}

// startHub installs the CRDs, declares WorkloadCluster cluster1 (site:
// edge), writes ConfigMaps app/a and app/b (policy: kept) and app/c
// (policy: plain) into the WDS, with Namespace app in the WDS and the WEC,
// and runs the bind controller and the transport of wds1.
func startHub(ctx context.Context, t *testing.T, env *devenvtest.Env) (wds, its dynamic.Interface, wec *kubernetes.Clientset) {
	t.Helper()
	return startHubOf(ctx, t, env, "")
}

// startHubOf is startHub with a transport that marks its Deliveries as
// the source's.
func startHubOf(ctx context.Context, t *testing.T, env *devenvtest.Env, source string) (wds, its dynamic.Interface, wec *kubernetes.Clientset) {
	t.Helper()
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	_, err := crds.Install(ctx, wdsCfg, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	_, err = crds.Install(ctx, itsCfg, crds.RoleITS, crds.InstallOptions{})
	require.NoError(t, err)
	wds, its = dynamic.NewForConfigOrDie(wdsCfg), dynamic.NewForConfigOrDie(itsCfg)
	wdsCore, wec := kubernetes.NewForConfigOrDie(wdsCfg), kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	_, err = its.Resource(propagate.WorkloadClusters).Create(ctx, mustObject(t, `{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster1, labels: {site: edge}}, spec: {its: its1}}`), metav1.CreateOptions{})
	require.NoError(t, err)
	for _, cs := range []*kubernetes.Clientset{wdsCore, wec} { // the WEC has it already: not delivered
		_, err = cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	for name, policy := range map[string]string{"a": "kept", "b": "kept", "c": "plain"} {
		_, err = wdsCore.CoreV1().ConfigMaps("app").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"policy": policy}},
			Data:       map[string]string{"from": "wds1"}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	binder, err := bind.NewController(bind.Options{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	transport, err := propagate.NewTransport(propagate.TransportOptions{WDS: "wds1", Source: source, WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	go func() { _ = binder.Run(ctx) }()
	go func() { _ = transport.Run(ctx) }()
	return wds, its, wec
}

func startAgent(ctx context.Context, t *testing.T, env *devenvtest.Env, resync time.Duration) *propagate.Agent {
	t.Helper()
	agent, err := propagate.NewAgent(propagate.AgentOptions{Cluster: "cluster1", ITSConfig: env.Config("its1"), WECConfig: env.Config("cluster1"), Resync: resync})
	require.NoError(t, err)
	go func() { _ = agent.Run(ctx) }()
	return agent
}

// createPolicy binds the ConfigMaps labelled policy: NAME to the edge.
func createPolicy(ctx context.Context, t *testing.T, wds dynamic.Interface, name string) {
	t.Helper()
	_, err := wds.Resource(bind.BindingPolicies).Create(ctx, mustObject(t, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: `+name+`}
spec:
  clusterSelectors: [{matchLabels: {site: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {policy: `+name+`}}]}]`), metav1.CreateOptions{})
	require.NoError(t, err)
}
