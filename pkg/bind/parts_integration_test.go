package bind_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// TestPolicyOverOneBinding: a policy binding more objects than one Binding
// can list (past etcd's request limit) is written as parts: part 0 named
// like the policy and counting the parts, the others labelled with it;
// every object in one part; the transport writes the Deliveries of each,
// and the status shows the policy once.
// An object that goes rewrites only the part that listed it; the policy
// gone, every part goes.
func TestPolicyOverOneBinding(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	const objects = 10000
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wdsCfg, itsCfg, wds, its := startSpaces(t)
	fast := rest.CopyConfig(wdsCfg)
	fast.QPS, fast.Burst = 2000, 2000
	core := kubernetes.NewForConfigOrDie(fast)
	_, err := core.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "big"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	var g errgroup.Group
	g.SetLimit(32)
	for i := range objects {
		g.Go(func() error {
			_, err := core.CoreV1().ConfigMaps("big").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{
				Name: fmt.Sprintf("a-configmap-whose-name-is-long-enough-to-pass-the-limit-%05d", i), Labels: map[string]string{"app": "big"}}}, metav1.CreateOptions{})
			return err
		})
	}
	require.NoError(t, g.Wait())
	its.apply(`{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster1, labels: {site: edge}}, spec: {its: its1}}`)
	startController(t, wdsCfg, itsCfg)
	transport, err := propagate.NewTransport(propagate.TransportOptions{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	go func() { _ = transport.Run(ctx) }()
	status, err := report.NewStatusController(report.StatusOptions{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	require.NoError(t, err)
	go func() { _ = status.Run(ctx) }()
	wds.apply(`
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: big}
spec:
  clusterSelectors: [{matchLabels: {site: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app: big}}]}]`)

	bindings := wds.dyn.Resource(bind.Bindings)
	parts := func() []unstructured.Unstructured {
		list, err := bindings.List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		return list.Items
	}
	listed := func(u unstructured.Unstructured) int {
		namespaced, _, _ := unstructured.NestedSlice(u.Object, "spec", "workload", "namespaceScope")
		cluster, _, _ := unstructured.NestedSlice(u.Object, "spec", "workload", "clusterScope")
		return len(namespaced) + len(cluster)
	}
	total := func(items []unstructured.Unstructured) int {
		n := 0
		for _, u := range items {
			n += listed(u)
		}
		return n
	}
	assert.Eventually(t, func() bool { return total(parts()) == objects }, 2*time.Minute, 200*time.Millisecond)
	require.Equal(t, objects, total(parts()), "every object in one part")
	items := parts()
	require.GreaterOrEqual(t, len(items), 2, "more than one Binding holds")
	size := 0
	for _, u := range items {
		raw, err := json.Marshal(u.Object["spec"])
		require.NoError(t, err)
		size += len(raw)
	}
	assert.Greater(t, size, 3<<19, "the list is past what etcd stores in one object (1.5 MiB)")
	generations := map[string]int64{}
	for _, u := range items {
		generations[u.GetName()] = u.GetGeneration()
		assert.Positive(t, listed(u), "%s lists objects", u.GetName())
		if u.GetName() == "big" {
			assert.Equal(t, strconv.Itoa(len(items)), u.GetAnnotations()[gitstellarv1alpha1.AnnotationBindingParts])
			continue
		}
		policy, _, ok := gitstellarv1alpha1.BindingPartOf(u.GetName())
		assert.True(t, ok && policy == "big", "a part's name: %s", u.GetName())
		assert.Equal(t, "big", u.GetLabels()[gitstellarv1alpha1.LabelBindingPolicy])
		dests, _, _ := unstructured.NestedSlice(u.Object, "spec", "destinations")
		assert.Equal(t, []any{map[string]any{"clusterId": "cluster1"}}, dests)
	}
	require.Eventually(t, func() bool {
		for _, u := range parts() {
			observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
			if observed != u.GetGeneration() {
				return false
			}
		}
		return true
	}, 2*time.Minute, 200*time.Millisecond, "the transport wrote the Deliveries of every part")
	require.Eventually(t, func() bool {
		policies := status.Summary().Policies
		return len(policies) == 1 && policies[0].Name == "big" && len(policies[0].Objects) == objects
	}, time.Minute, 200*time.Millisecond, "the status shows the policy once, with the objects of every part")
	for _, u := range items {
		list, err := its.dyn.Resource(propagate.Deliveries).Namespace("mailbox-cluster1").List(ctx,
			metav1.ListOptions{LabelSelector: gitstellarv1alpha1.LabelBinding + "=" + u.GetName()})
		require.NoError(t, err)
		assert.NotEmpty(t, list.Items, "Deliveries of %s", u.GetName())
	}

	require.NoError(t, core.CoreV1().ConfigMaps("big").Delete(ctx, "a-configmap-whose-name-is-long-enough-to-pass-the-limit-09999", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return total(parts()) == objects-1 }, time.Minute, 100*time.Millisecond, "the object leaves its part")
	changed := 0
	for _, u := range parts() {
		if u.GetGeneration() != generations[u.GetName()] {
			changed++
		}
	}
	assert.Equal(t, 1, changed, "one part rewritten")

	require.NoError(t, wds.dyn.Resource(bind.BindingPolicies).Delete(ctx, "big", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return len(parts()) == 0 }, time.Minute, 100*time.Millisecond, "every part goes with the policy")
	_, err = bindings.Get(ctx, "big", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err))
}
