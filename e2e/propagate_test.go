package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// TestPropagate follows the example repository into real WECs (with
// controllers and kwok nodes) through `gitstellar run --once`: nginx lands
// in both edge WECs and becomes Available, the singleton only in cluster1;
// a hand edit in a WEC is corrected; a pre-existing foreign object is
// reported, not overwritten; a CustomTransform change re-applies; createOnly
// objects are not updated; a relabelled WEC loses its objects; a deleted
// policy takes its objects from every WEC.
func TestPropagate(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, true)})
	ctx := context.Background()
	_, repo, _ := serveExample(t, "fleet")
	cache := t.TempDir()
	once := func() result {
		t.Helper()
		r := run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", cache, "--timeout", "2m")
		return r
	}
	push := func(msg string, files map[string]string) {
		t.Helper()
		repo.Write(t, files)
		repo.Commit(t, msg)
		repo.Push(t, "main")
	}
	c1 := kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	c2 := kubernetes.NewForConfigOrDie(env.Config("cluster2"))

	// A foreign object already in cluster2, with the name of one we deliver.
	_, err := c2.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = c2.CoreV1().ConfigMaps("nginx").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "hello-config"}, Data: map[string]string{"greeting": "theirs"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	first := once()
	require.Equal(t, 1, first.code, "the foreign objects are conflicts: %s", first.stdout)
	assert.Contains(t, first.stdout, "WECs converged: 1/2", "cluster1 converged, cluster2 has conflicts")
	for name, cs := range map[string]*kubernetes.Clientset{"cluster1": c1, "cluster2": c2} {
		var last *appsv1.Deployment
		require.Eventually(t, func() bool {
			d, err := cs.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
			last = d
			return err == nil && available(d)
		}, time.Minute, 200*time.Millisecond, "nginx Available in %s: %+v", name, func() any {
			if last == nil {
				return nil
			}
			return last.Status
		}())
	}
	require.Eventually(t, func() bool {
		d, err := c1.AppsV1().Deployments("nginx-singleton").Get(ctx, "nginx-singleton-deployment", metav1.GetOptions{})
		return err == nil && available(d)
	}, time.Minute, 200*time.Millisecond, "the singleton Available in cluster1")
	_, err = c2.AppsV1().Deployments("nginx-singleton").Get(ctx, "nginx-singleton-deployment", metav1.GetOptions{})
	assert.Error(t, err, "the singleton is not in cluster2")
	cm, err := c2.CoreV1().ConfigMaps("nginx").Get(ctx, "hello-config", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "theirs", cm.Data["greeting"], "a foreign object is not overwritten")
	cm, err = c1.CoreV1().ConfigMaps("nginx").Get(ctx, "hello-config", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "hello from the edge", cm.Data["greeting"])
	assert.NotContains(t, cm.Labels, "gitstellar.io/source", "gitstellar's source label stays in the WDS")

	// Hand edit in cluster1: corrected on the next sync.
	dep, err := c1.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	dep.Spec.Replicas = ptr(int32(5))
	_, err = c1.AppsV1().Deployments("nginx").Update(ctx, dep, metav1.UpdateOptions{FieldManager: "kubectl-edit"})
	require.NoError(t, err)
	// cluster2's Namespace and ConfigMap stay foreign: drop them from the
	// WDS so the rest converges.
	repo.Remove(t, "wds1/hello")
	cr := `apiVersion: control.kubestellar.io/v1alpha1
kind: CustomTransform
metadata: {name: no-greeting}
spec: {apiGroup: "", resource: configmaps, remove: ["$.data.greeting"]}
`
	push("drop hello; a CustomTransform", map[string]string{
		"wds1/control/transform.yaml": cr,
		"wds1/nginx/settings.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\ndata: {greeting: hi, other: kept}\n",
		"wds1/nginx/once.yaml":        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once, namespace: nginx-singleton, labels: {app.kubernetes.io/name: nginx-singleton}}\ndata: {v: \"1\"}\n",
	})
	policy, err := os.ReadFile(filepath.Join(repo.Work, "wds1/nginx-singleton/bindingpolicy.yaml"))
	require.NoError(t, err)
	push("createOnly", map[string]string{"wds1/nginx-singleton/bindingpolicy.yaml": strings.Replace(string(policy), "wantSingletonReportedState: true", "wantSingletonReportedState: true\n    createOnly: true", 1)})
	second := once()
	t.Logf("%s", second.stdout)
	dep, err = c1.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(2), *dep.Spec.Replicas, "the hand edit is corrected")
	settings, err := c1.CoreV1().ConfigMaps("nginx").Get(ctx, "settings", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"other": "kept"}, settings.Data, "the CustomTransform removed the greeting")
	_, err = c2.CoreV1().ConfigMaps("nginx").Get(ctx, "hello-config", metav1.GetOptions{})
	assert.NoError(t, err, "a foreign object is never deleted")

	// The CustomTransform changes: re-applied to what was propagated.
	push("transform other", map[string]string{"wds1/control/transform.yaml": strings.Replace(cr, "$.data.greeting", "$.data.other", 1)})
	once()
	settings, err = c1.CoreV1().ConfigMaps("nginx").Get(ctx, "settings", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, map[string]string{"greeting": "hi"}, settings.Data, "the changed CustomTransform re-applied")

	// createOnly: a change in Git does not reach the WEC.
	push("change once", map[string]string{"wds1/nginx/once.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: once, namespace: nginx-singleton, labels: {app.kubernetes.io/name: nginx-singleton}}\ndata: {v: \"2\"}\n"})
	once()
	onceCM, err := c1.CoreV1().ConfigMaps("nginx-singleton").Get(ctx, "once", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "1", onceCM.Data["v"], "createOnly objects are not updated")

	// cluster2 leaves the edge: its nginx objects go (not the foreign ones).
	cluster2, err := os.ReadFile(filepath.Join(repo.Work, "clusters/cluster2.yaml"))
	require.NoError(t, err)
	push("cluster2 to the core", map[string]string{"clusters/cluster2.yaml": strings.Replace(string(cluster2), "location-group: edge", "location-group: core", 1)})
	once()
	require.Eventually(t, func() bool {
		_, err := c2.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		return err != nil
	}, time.Minute, 200*time.Millisecond, "nginx removed from cluster2")
	_, err = c2.CoreV1().Namespaces().Get(ctx, "nginx", metav1.GetOptions{})
	assert.NoError(t, err, "the pre-existing Namespace stays")

	// The nginx policy is deleted: its objects leave cluster1.
	repo.Remove(t, "wds1/nginx/bindingpolicy.yaml")
	repo.Commit(t, "no more nginx policy")
	repo.Push(t, "main")
	last := once()
	assert.Equal(t, 0, last.code, last.stdout)
	require.Eventually(t, func() bool {
		_, err := c1.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		return err != nil
	}, time.Minute, 200*time.Millisecond, "nginx removed from cluster1")
	_, err = c1.AppsV1().Deployments("nginx-singleton").Get(ctx, "nginx-singleton-deployment", metav1.GetOptions{})
	assert.NoError(t, err, "the singleton's own policy still holds it")

	// wds2 leaves the repository: by the time `run --once` returns, what
	// it delivered has left the WEC whose agent this process runs.
	_, err = c1.AppsV1().Deployments("redis").Get(ctx, "redis", metav1.GetOptions{})
	require.NoError(t, err, "wds2's redis is in cluster1")
	repo.Remove(t, "spaces/wds2.yaml", "wds2")
	repo.Commit(t, "no more wds2")
	repo.Push(t, "main")
	removed := once()
	assert.Equal(t, 0, removed.code, removed.stdout)
	redis, err := c1.AppsV1().Deployments("redis").Get(ctx, "redis", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err) || redis.DeletionTimestamp != nil, "wds2's redis left cluster1 before --once returned: %v", err)
	_, err = c1.AppsV1().Deployments("nginx-singleton").Get(ctx, "nginx-singleton-deployment", metav1.GetOptions{})
	assert.NoError(t, err, "wds1's objects stay")
}

func ptr[T any](v T) *T { return &v }
