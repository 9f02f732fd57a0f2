package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// TestExternalAgent: a WorkloadCluster without a kubeconfig is served by a
// `gitstellar agent` process that only reaches out to the ITS; killed and
// restarted, it resumes without conflicts or duplicates, also when killed
// in the middle of applying.
func TestExternalAgent(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "edge")
	repo.Write(t, map[string]string{
		"spaces/spaces.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\napiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n",
		"clusters/edge.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: cluster1, labels: {site: edge}}\nspec: {its: its1}\n",
		"wds1/app.yaml":      "apiVersion: v1\nkind: Namespace\nmetadata: {name: app, labels: {ship: \"yes\"}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: app, labels: {ship: \"yes\"}}\ndata: {a: b}\n",
		"wds1/policy.yaml":   "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: ship}\nspec:\n  clusterSelectors: [{matchLabels: {site: edge}}]\n  downsync: [{objectSelectors: [{matchLabels: {ship: \"yes\"}}]}]\n",
	})
	repo.Commit(t, "an edge app")
	repo.Push(t, "main")
	synced := run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir())
	require.Equal(t, 0, synced.code)
	assert.Contains(t, synced.stdout, "cluster1: no agent reports from it (none installed, or not running); not waited for",
		"no agent is run for a WEC without a kubeconfig, and none reports from it")

	startAgent := func() *exec.Cmd {
		cmd := exec.Command(bin, "agent", "--cluster", "cluster1",
			"--its-kubeconfig", filepath.Join(env.Dir(), "kubeconfigs", "its1.kubeconfig"),
			"--wec-kubeconfig", filepath.Join(env.Dir(), "kubeconfigs", "cluster1.kubeconfig"))
		logs := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			_, _ = cmd.Process.Wait()
			if t.Failed() {
				t.Logf("agent:\n%s", logs.String())
			}
		})
		return cmd
	}
	wec := kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	deliveries := dynamic.NewForConfigOrDie(env.Config("its1")).Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	want := 2 // entries over the Deliveries of the mailbox
	applied := func() bool {
		l, err := deliveries.List(ctx, metav1.ListOptions{})
		if err != nil {
			return false
		}
		n := 0
		for _, d := range l.Items {
			entries, _, _ := unstructured.NestedSlice(d.Object, "status", "entries")
			specEntries, err := propagate.DeliveryEntries(&d)
			if err != nil {
				return false
			}
			if len(entries) != len(specEntries) {
				return false
			}
			for _, e := range entries {
				if e.(map[string]any)["result"] != "Applied" {
					return false
				}
			}
			n += len(entries)
		}
		return n == want
	}

	agent := startAgent()
	require.Eventually(t, applied, time.Minute, 100*time.Millisecond, "the agent applies the mailbox and reports")
	cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "settings", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "b", cm.Data["a"])
	uid := cm.UID

	require.NoError(t, agent.Process.Signal(os.Kill))
	_, _ = agent.Process.Wait()
	_, err = deliveries.Patch(ctx, "wds1.ship.0", "application/merge-patch+json", []byte(`{"status":null}`), metav1.PatchOptions{}, "status")
	require.NoError(t, err)
	agent = startAgent()
	require.Eventually(t, applied, time.Minute, 100*time.Millisecond, "a restarted agent resumes: no conflict with what it created")
	cm, err = wec.CoreV1().ConfigMaps("app").Get(ctx, "settings", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, uid, cm.UID, "nothing re-created")

	// Killed in the middle of applying 1,000 more objects, then restarted:
	// everything converges, nothing is re-created or lost.
	require.NoError(t, agent.Process.Signal(os.Kill))
	_, _ = agent.Process.Wait()
	const many = 1000
	var manifests strings.Builder
	for i := range many {
		fmt.Fprintf(&manifests, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: m%04d, namespace: app, labels: {ship: \"yes\"}}\ndata: {i: \"%d\"}\n", i, i)
	}
	repo.Write(t, map[string]string{"wds1/many.yaml": manifests.String()})
	repo.Commit(t, "many more")
	repo.Push(t, "main")
	synced = run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir())
	require.Equal(t, 0, synced.code, synced.stdout)
	want = 2 + many
	agent = startAgent()
	var before []corev1.ConfigMap
	require.Eventually(t, func() bool {
		l, err := wec.CoreV1().ConfigMaps("app").List(ctx, metav1.ListOptions{LabelSelector: "ship=yes"})
		if err != nil || len(l.Items) < 2 { // settings alone, or not there yet
			return false
		}
		require.NoError(t, agent.Process.Signal(os.Kill))
		_, _ = agent.Process.Wait()
		before = l.Items
		return true
	}, time.Minute, 5*time.Millisecond, "the agent starts applying")
	require.Less(t, len(before), many+1, "killed before it applied everything")
	t.Logf("agent killed with %d of %d ConfigMaps applied", len(before)-1, many)
	startAgent()
	require.Eventually(t, applied, 2*time.Minute, 100*time.Millisecond, "a restarted agent converges")
	after, err := wec.CoreV1().ConfigMaps("app").List(ctx, metav1.ListOptions{LabelSelector: "ship=yes"})
	require.NoError(t, err)
	assert.Len(t, after.Items, many+1, "every ConfigMap, once")
	uids := map[string]string{}
	for _, cm := range after.Items {
		uids[cm.Name] = string(cm.UID)
	}
	for _, cm := range before {
		assert.Equal(t, string(cm.UID), uids[cm.Name], "%s applied before the kill is not re-created", cm.Name)
	}
	inventory, err := wec.CoreV1().ConfigMaps("gitstellar-system").Get(ctx, propagate.InventoryName, metav1.GetOptions{})
	require.NoError(t, err)
	var recorded apply.Inventory
	require.NoError(t, json.Unmarshal([]byte(inventory.Data["inventory.json"]), &recorded))
	assert.Len(t, recorded.Entries, many+2, "the inventory holds every object, the ones applied before the kill too")

	// The WEC goes away: the Delivery says so; it comes back: applied again.
	require.NoError(t, env.Kill("cluster1-apiserver"))
	require.Eventually(t, func() bool {
		d, err := deliveries.Get(ctx, "wds1.ship.0", metav1.GetOptions{})
		if err != nil {
			return false
		}
		entries, _, _ := unstructured.NestedSlice(d.Object, "status", "entries")
		return len(entries) > 0 && strings.Contains(fmt.Sprint(entries[0].(map[string]any)["message"]), "the WEC cannot be reached")
	}, 2*time.Minute, 200*time.Millisecond, "an unreachable WEC is reported")
	_, err = devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), WECs: 1, Bare: true, StopWithParent: true})
	require.NoError(t, err)
	require.Eventually(t, applied, 2*time.Minute, 200*time.Millisecond, "applied again once the WEC is back")
}
