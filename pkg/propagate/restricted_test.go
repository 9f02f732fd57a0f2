package propagate_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestRestrictedAgent runs an agent with least privilege on real
// apiservers with RBAC: in the ITS it acts as the ServiceAccount gitstellar
// makes in its mailbox, which may only read the mailbox's Deliveries and
// write their status and its Lease; in the WEC only
// ConfigMaps in namespaces app and agent-home (its inventory). A bound
// object in another namespace is reported as not allowed; the rest is
// applied. The agent registers through its Lease: the WorkloadCluster says
// AgentNotRegistered, then AgentConnected, then AgentLost when the agent
// stops, with an Event at each change.
func TestRestrictedAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, its, wec := startHub(ctx, t, env)
	itsCore, wdsCore := kubernetes.NewForConfigOrDie(env.Config("its1")), kubernetes.NewForConfigOrDie(env.Config("wds1"))
	monitor, err := propagate.NewClusterMonitor(propagate.ClusterMonitorOptions{ITS: "its1", ITSConfig: env.Config("its1"), Interval: 200 * time.Millisecond})
	require.NoError(t, err)
	go func() { _ = monitor.Run(ctx) }()

	ready := func() metav1.Condition {
		u, err := its.Resource(propagate.WorkloadClusters).Get(ctx, "cluster1", metav1.GetOptions{})
		if err != nil {
			return metav1.Condition{Message: err.Error()}
		}
		var w gitstellarv1alpha1.WorkloadCluster
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &w))
		for _, c := range w.Status.Conditions {
			if c.Type == "Ready" {
				return c
			}
		}
		return metav1.Condition{}
	}
	eventReasons := func(cs *kubernetes.Clientset, kind, name string) []string {
		list, err := cs.CoreV1().Events("default").List(ctx, metav1.ListOptions{})
		require.NoError(t, err)
		var reasons []string
		for _, e := range list.Items {
			if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons
	}
	require.Eventually(t, func() bool { return ready().Reason == propagate.ReasonAgentNotRegistered }, time.Minute, 50*time.Millisecond,
		"no agent yet: %v", ready())
	require.Eventually(t, func() bool {
		return slices.Contains(eventReasons(itsCore, "WorkloadCluster", "cluster1"), propagate.ReasonAgentNotRegistered)
	}, 10*time.Second, 50*time.Millisecond)
	_, err = itsCore.CoreV1().Namespaces().Get(ctx, "mailbox-cluster1", metav1.GetOptions{})
	require.NoError(t, err, "the mailbox exists before anything is delivered, for the agent to register in")

	// Least privilege. In the ITS: the identity gitstellar made in the
	// mailbox. In the WEC: ConfigMaps in two namespaces.
	configMaps := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}}}
	for _, ns := range []string{"agent-home", "other"} {
		_, err = wec.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	grant(ctx, t, wec, "app", "wec-agent", configMaps)
	grant(ctx, t, wec, "agent-home", "wec-agent", configMaps)

	// A bound object in a namespace the agent may not write.
	_, err = wdsCore.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = wdsCore.CoreV1().ConfigMaps("other").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "d", Labels: map[string]string{"policy": "kept"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	createPolicy(ctx, t, wds, "kept")

	as := func(cfg *rest.Config, user string) *rest.Config {
		cfg = rest.CopyConfig(cfg)
		cfg.Impersonate = rest.ImpersonationConfig{UserName: user}
		return cfg
	}
	agentITS := as(env.Config("its1"), "system:serviceaccount:mailbox-cluster1:"+propagate.AgentIdentity)
	asAgent := dynamic.NewForConfigOrDie(agentITS)
	_, err = asAgent.Resource(propagate.Deliveries).Namespace("mailbox-cluster2").List(ctx, metav1.ListOptions{})
	assert.True(t, apierrors.IsForbidden(err), "another mailbox is out of reach: %v", err)
	_, err = asAgent.Resource(propagate.Deliveries).Namespace("mailbox-cluster1").Create(ctx, mustObject(t,
		`{apiVersion: gitstellar.io/v1alpha1, kind: Delivery, metadata: {name: forged}, spec: {source: {wds: x, binding: y}, parts: 1, entries: []}}`), metav1.CreateOptions{})
	assert.True(t, apierrors.IsForbidden(err), "an agent cannot write Deliveries: %v", err)
	agentCtx, stopAgent := context.WithCancel(ctx)
	defer stopAgent()
	agent, err := propagate.NewAgent(propagate.AgentOptions{Cluster: "cluster1",
		ITSConfig: agentITS, WECConfig: as(env.Config("cluster1"), "wec-agent"),
		InventoryNamespace: "agent-home", Heartbeat: 200 * time.Millisecond, Resync: time.Hour})
	require.NoError(t, err)
	go func() { _ = agent.Run(agentCtx) }()

	const notAllowed = "cluster1: ConfigMap other/d: Error: not allowed: the agent's role in the WEC does not permit this object"
	require.Eventually(t, func() bool {
		errs := bindingErrors(t, wds, "kept")
		return len(errs) == 1 && strings.HasPrefix(errs[0], notAllowed)
	}, time.Minute, 100*time.Millisecond, "the forbidden object is reported in the Binding: %v", bindingErrors(t, wds, "kept"))
	for _, name := range []string{"a", "b"} {
		_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{})
		assert.NoError(t, err, "ConfigMap app/%s is applied beside the forbidden one", name)
	}
	_, problems := applied(t, its, "cluster1")
	require.Len(t, problems, 1)
	assert.Contains(t, problems[0], "ConfigMap other/d: Error: not allowed")
	_, err = wec.CoreV1().ConfigMaps("agent-home").Get(ctx, propagate.InventoryName, metav1.GetOptions{})
	assert.NoError(t, err, "the inventory is kept in the namespace the agent was given")
	_, err = wec.CoreV1().Namespaces().Get(ctx, propagate.DefaultInventoryNamespace, metav1.GetOptions{})
	assert.Error(t, err, "an agent given an inventory namespace creates no other")
	// Without the forbidden object the Delivery applies: its propagation
	// latency is observed.
	before := latencySamples(t, "cluster1")
	require.NoError(t, wdsCore.CoreV1().ConfigMaps("other").Delete(ctx, "d", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool { return len(bindingErrors(t, wds, "kept")) == 0 }, time.Minute, 100*time.Millisecond,
		"the Binding has no error left: %v", bindingErrors(t, wds, "kept"))
	require.Eventually(t, func() bool { return latencySamples(t, "cluster1") > before }, 10*time.Second, 50*time.Millisecond,
		"the latency of the applied Delivery is observed")

	require.Eventually(t, func() bool { return ready().Reason == propagate.ReasonAgentConnected }, time.Minute, 50*time.Millisecond,
		"the agent registered: %v", ready())
	assert.Equal(t, metav1.ConditionTrue, ready().Status)
	assert.Contains(t, ready().Message, "; the WEC runs Kubernetes v")

	stopAgent()
	require.Eventually(t, func() bool { return ready().Reason == propagate.ReasonAgentLost }, time.Minute, 50*time.Millisecond,
		"the heartbeats stop: %v", ready())
	require.Eventually(t, func() bool {
		r := eventReasons(itsCore, "WorkloadCluster", "cluster1")
		return slices.Contains(r, propagate.ReasonAgentConnected) && slices.Contains(r, propagate.ReasonAgentLost)
	}, 10*time.Second, 50*time.Millisecond, "an Event at each change: %v", eventReasons(itsCore, "WorkloadCluster", "cluster1"))
	assert.Contains(t, eventReasons(wdsCore, "BindingPolicy", "kept"), "Bound", "the policy's Event")
}

// grant binds rules in a namespace to a user.
func grant(ctx context.Context, t *testing.T, cs *kubernetes.Clientset, ns, user string, rules []rbacv1.PolicyRule) {
	t.Helper()
	_, err := cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: user}, Rules: rules}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: user},
		RoleRef:  rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "Role", Name: user},
		Subjects: []rbacv1.Subject{{APIGroup: "rbac.authorization.k8s.io", Kind: "User", Name: user}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	// The authorizer sees new Roles through its informers: wait for it.
	r := rules[0]
	require.Eventually(t, func() bool {
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, ResourceAttributes: &authorizationv1.ResourceAttributes{Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0], Namespace: ns},
		}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed
	}, 30*time.Second, 50*time.Millisecond, "the Role of %s in %s reaches the authorizer", user, ns)
}

// latencySamples counts the observations of the propagation latency of a
// WEC.
func latencySamples(t *testing.T, cluster string) uint64 {
	t.Helper()
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)
	for _, f := range families {
		if f.GetName() != "gitstellar_propagation_latency_seconds" {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "cluster" && l.GetValue() == cluster {
					return m.GetHistogram().GetSampleCount()
				}
			}
		}
	}
	return 0
}
