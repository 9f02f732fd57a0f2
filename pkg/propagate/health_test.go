package propagate_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
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

	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestStatusWrittenInTheWEC: a controller of the WEC writing the status of
// an object the agent applied (here, a Deployment becoming available in a
// WEC without controllers) is seen by the agent's watch, not applied or
// read again: the Delivery's status shows the new health and the agent
// sends the WEC no write and no read of the object.
func TestStatusWrittenInTheWEC(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	itsCfg := env.Config("its1")
	_, err := crds.Install(ctx, itsCfg, crds.RoleITS, crds.InstallOptions{})
	require.NoError(t, err)
	its := dynamic.NewForConfigOrDie(itsCfg)
	itsCore, wec := kubernetes.NewForConfigOrDie(itsCfg), kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	_, err = itsCore.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "mailbox-cluster1"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = wec.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "app"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	mailbox := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	_, err = mailbox.Create(ctx, mustObject(t, `
apiVersion: gitstellar.io/v1alpha1
kind: Delivery
metadata: {name: wds1.web.0, labels: {gitstellar.io/wds: wds1, gitstellar.io/binding: web, gitstellar.io/cluster: cluster1}}
spec:
  source: {wds: wds1, binding: web}
  parts: 1
  entries:
  - object:
      apiVersion: apps/v1
      kind: Deployment
      metadata: {name: web, namespace: app}
      spec:
        replicas: 1
        selector: {matchLabels: {app: web}}
        template:
          metadata: {labels: {app: web}}
          spec: {containers: [{name: web, image: nginx}]}`), metav1.CreateOptions{})
	require.NoError(t, err)

	wecCfg, writes := devenvtest.CountWrites(env.Config("cluster1"))
	var reads atomic.Int64 // GETs of the Deployment itself
	wecCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
		return roundTrip(func(r *http.Request) (*http.Response, error) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/deployments/web") {
				reads.Add(1)
			}
			return rt.RoundTrip(r)
		})
	})
	agent, err := propagate.NewAgent(propagate.AgentOptions{Cluster: "cluster1", ITSConfig: itsCfg, WECConfig: wecCfg, Resync: time.Hour})
	require.NoError(t, err)
	go func() { _ = agent.Run(ctx) }()
	health := func() string {
		d, err := mailbox.Get(ctx, "wds1.web.0", metav1.GetOptions{})
		if err != nil {
			return ""
		}
		entries, _, _ := unstructured.NestedSlice(d.Object, "status", "entries")
		if len(entries) != 1 {
			return ""
		}
		h, _, _ := unstructured.NestedString(entries[0].(map[string]any), "health")
		return h
	}
	require.Eventually(t, func() bool { return health() == "InProgress" }, time.Minute, 50*time.Millisecond,
		"applied, not available: no controller runs in the WEC (%q)", health())
	time.Sleep(time.Second) // the watch of Deployments started, the agent idle
	before, readsBefore := writes.Load(), reads.Load()

	d, err := wec.AppsV1().Deployments("app").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	generation, rv := d.Generation, d.ResourceVersion
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, UpdatedReplicas: 1, ReadyReplicas: 1, AvailableReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionTrue, Reason: "MinimumReplicasAvailable"},
			{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionTrue, Reason: "NewReplicaSetAvailable"},
		}}
	_, err = wec.AppsV1().Deployments("app").UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "deployment-controller"})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return health() == "Current" }, 10*time.Second, 50*time.Millisecond,
		"the status the WEC's controller wrote is reported (%q)", health())
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, before, writes.Load(), "a status written in the WEC is not applied again")
	assert.Equal(t, readsBefore, reads.Load(), "the status comes with the watch: the object is not read")
	d, err = wec.AppsV1().Deployments("app").Get(ctx, "web", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, generation, d.Generation)
	assert.NotEqual(t, rv, d.ResourceVersion)
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
