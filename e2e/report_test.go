package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// TestReport follows the example repository into WECs with controllers:
// once nginx is Available in both edge WECs, the CombinedStatus in the WDS
// counts it in both, the status branch says 2/2 ready for the commit
// synced, and `gitstellar status` reads it (exit 0); scaling the singleton
// Deployment in Git makes its WDS status follow.
func TestReport(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, true)})
	ctx := context.Background()
	_, repo, head := serveExample(t, "fleet")
	cache := t.TempDir()
	once := func() result {
		t.Helper()
		r := run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", cache, "--timeout", "3m")
		require.Equal(t, 0, r.code, r.stdout)
		return r
	}
	first := once()
	assert.Contains(t, first.stdout, "status branch gitstellar-status: committed the status of "+head[:12])
	// The agents `run` ran registered: the WorkloadClusters said so.
	its := dynamic.NewForConfigOrDie(env.Config("its1"))
	for _, wec := range []string{"cluster1", "cluster2"} {
		u, err := its.Resource(schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "workloadclusters"}).Get(ctx, wec, metav1.GetOptions{})
		require.NoError(t, err)
		conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
		require.Len(t, conds, 1, "%s: %v", wec, u.Object["status"])
		assert.Equal(t, "AgentConnected", conds[0].(map[string]any)["reason"], wec)
	}

	// The CombinedStatus of nginx-deployment for nginx-bpolicy.
	wds := dynamic.NewForConfigOrDie(env.Config("wds1"))
	deployments := wds.Resource(schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"})
	nginx, err := deployments.Namespace("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	policy, err := wds.Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "bindingpolicies"}).Get(ctx, "nginx-bpolicy", metav1.GetOptions{})
	require.NoError(t, err)
	replicas, _, _ := unstructured.NestedInt64(nginx.Object, "spec", "replicas")
	cs, err := wds.Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "combinedstatuses"}).
		Namespace("nginx").Get(ctx, string(nginx.GetUID())+"."+string(policy.GetUID()), metav1.GetOptions{})
	require.NoError(t, err, "the CombinedStatus of nginx-deployment and nginx-bpolicy")
	results, _, _ := unstructured.NestedSlice(cs.Object, "results")
	require.Len(t, results, 1)
	rows, _, _ := unstructured.NestedSlice(results[0].(map[string]any), "rows")
	require.Len(t, rows, 1, "%v", results)
	columns := rows[0].(map[string]any)["columns"].([]any)
	assert.Equal(t, strconv.FormatInt(2*replicas, 10), columns[0].(map[string]any)["float"], "availableReplicas summed over both WECs")
	assert.Equal(t, "2", columns[1].(map[string]any)["float"], "both WECs reported")

	// The status branch.
	summary := statusSummary(t, repo)
	assert.Equal(t, head, summary.SourceCommit)
	assert.Empty(t, summary.Errors)
	found := false
	for _, sp := range summary.Spaces {
		for _, o := range sp.Objects {
			if o.Kind != "Deployment" || o.Name != "nginx-deployment" {
				continue
			}
			found = true
			require.Len(t, o.WECs, 2)
			for _, w := range o.WECs {
				assert.True(t, w.Synced && w.Ready, "nginx-deployment ready in %s: %+v", w.WEC, w)
			}
		}
	}
	assert.True(t, found, "nginx-deployment is in summary.yaml")
	readme := repo.Git(t, "show", "origin/gitstellar-status:README.md")
	assert.Contains(t, readme, "2/2 ready")
	assert.Contains(t, readme, "```mermaid")
	status := run(t, bin, "status", "--repo", repo.URL)
	assert.Equal(t, 0, status.code, "everything ready: %s", status.stdout)
	assert.Contains(t, status.stdout, "nginx-deployment")

	// Scale the singleton in Git: its WDS status follows.
	path := filepath.Join(repo.Work, "wds1/nginx-singleton/workload.yaml")
	workload, err := os.ReadFile(path)
	require.NoError(t, err)
	repo.Write(t, map[string]string{"wds1/nginx-singleton/workload.yaml": strings.Replace(string(workload), "replicas: 1", "replicas: 2", 1)})
	scaled := repo.Commit(t, "two singletons")
	repo.Push(t, "main")
	second := once()
	assert.Contains(t, second.stdout, "committed the status of "+scaled[:12])
	require.Eventually(t, func() bool {
		d, err := deployments.Namespace("nginx-singleton").Get(ctx, "nginx-singleton-deployment", metav1.GetOptions{})
		if err != nil {
			return false
		}
		available, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
		return available == 2 && d.GetLabels()["managed-by.kubestellar.io/singletonstatus"] == "true"
	}, time.Minute, 200*time.Millisecond, "the singleton's WDS status follows its scale in Git")
	assert.Equal(t, scaled, statusSummary(t, repo).SourceCommit)
}

// statusSummary reads summary.yaml from the status branch on the server.
func statusSummary(t *testing.T, repo *gittest.Repo) report.Summary {
	t.Helper()
	s, err := readStatusSummary(repo)
	require.NoError(t, err)
	return s
}

// readStatusSummary fetches the status branch and reads its summary.yaml;
// an error when there is none yet.
func readStatusSummary(repo *gittest.Repo) (report.Summary, error) {
	var s report.Summary
	if out, err := exec.Command("git", "-C", repo.Work, "fetch", "-q", "origin", "+gitstellar-status:refs/remotes/origin/gitstellar-status").CombinedOutput(); err != nil {
		return s, fmt.Errorf("fetch: %v: %s", err, out)
	}
	out, err := exec.Command("git", "-C", repo.Work, "show", "origin/gitstellar-status:summary.yaml").Output()
	if err != nil {
		return s, err
	}
	return s, yaml.Unmarshal(out, &s)
}
