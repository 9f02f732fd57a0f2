package e2e

import (
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

var workloadClusters = schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "workloadclusters"}

// TestRunOnce follows a repository on a git server on loopback with
// `gitstellar run --once`: the example lands in wds1 and its1; a removed
// file is pruned; a broken push changes nothing and names file:line; the
// next good push recovers; an object another manager owns is not
// overwritten.
func TestRunOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, false), Bare: true})
	ctx := context.Background()
	srv := gittest.NewHTTPServer(t, &gittest.BasicAuth{Username: "ci", Password: "pw-for-tests"})
	repo := srv.NewRepo(t, "fleet")
	repo.CopyDir(t, "../examples/repo-layout", "deploy")
	repo.Commit(t, "the example")
	repo.Push(t, "main")
	pwFile := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pwFile, []byte("pw-for-tests\n"), 0o600))
	cache := t.TempDir()
	once := func() result {
		return run(t, bin, "run", "--once", "--repo", repo.URL, "--path", "deploy", "--kubeconfig", env.KubeconfigPath(),
			"--username", "ci", "--password-file", pwFile, "--cache-dir", cache, "--name", "fleet")
	}
	wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))

	first := once()
	require.Equal(t, 0, first.code)
	assert.Contains(t, first.stdout, "its1 (ITS): 3 created")
	assert.Contains(t, first.stdout, "wds1 (WDS): 9 created")
	assert.Contains(t, first.stdout, "wds1: binding nginx-bpolicy: 3 objects → cluster1, cluster2")
	assert.Contains(t, first.stdout, "wds1: binding nginx-singleton-bpolicy: 2 objects → cluster1")
	assert.Contains(t, first.stdout, "wds2 (WDS): 4 created", "the example's second WDS")
	assert.Contains(t, first.stdout, "wds2: binding redis-bpolicy: 2 objects → cluster1, cluster2")
	assert.NotContains(t, first.stdout+first.stderr, "pw-for-tests")
	wecs, err := dynamic.NewForConfigOrDie(env.Config("its1")).Resource(workloadClusters).List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	assert.Len(t, wecs.Items, 2)
	dep, err := wds.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "fleet", dep.Labels["gitstellar.io/source"])

	// plan against the live inventory: a label changed in the working tree
	// but not yet in the ITS changes nothing there; against the repository,
	// it does.
	cluster2File := filepath.Join(repo.Work, "deploy/clusters/cluster2.yaml")
	original, err := os.ReadFile(cluster2File)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(cluster2File, []byte(strings.Replace(string(original), "location-group: edge", "location-group: core", 1)), 0o644))
	live := run(t, bin, "plan", "--repo", repo.Work, "--path", "deploy", "--inventory-from", "its1", "--kubeconfig", env.KubeconfigPath())
	assert.Equal(t, 0, live.code)
	assert.Contains(t, live.stdout, "No change to any WEC or BindingPolicy.")
	fromRepo := run(t, bin, "plan", "--repo", repo.Work, "--path", "deploy")
	assert.Contains(t, fromRepo.stdout, "WEC cluster2: 5 deleted", "wds1's three objects and wds2's two")
	require.NoError(t, os.WriteFile(cluster2File, original, 0o644))

	// The same credentials from a Secret of the cluster gitstellar runs in
	// (here: the kubeconfig's current context, wds1).
	_, err = wds.CoreV1().Secrets("default").Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: "git-creds"},
		Data:       map[string][]byte{"username": []byte("ci"), "password": []byte("pw-for-tests")},
	}, metav1.CreateOptions{})
	require.NoError(t, err)
	again := run(t, bin, "run", "--once", "--repo", repo.URL, "--path", "deploy", "--kubeconfig", env.KubeconfigPath(),
		"--credentials-secret", "default/git-creds", "--cache-dir", t.TempDir(), "--name", "fleet")
	require.Equal(t, 0, again.code)
	assert.Contains(t, again.stdout, "wds1 (WDS): 9 unchanged")
	// A local path (the working clone) works the same.
	local := run(t, bin, "run", "--once", "--repo", repo.Work, "--path", "deploy", "--kubeconfig", env.KubeconfigPath(),
		"--cache-dir", t.TempDir(), "--name", "fleet")
	require.Equal(t, 0, local.code)
	assert.Contains(t, local.stdout, "wds1 (WDS): 9 unchanged")

	// A change lands.
	deployment, err := os.ReadFile(filepath.Join(repo.Work, "deploy/wds1/nginx/deployment.yaml"))
	require.NoError(t, err)
	repo.Write(t, map[string]string{"deploy/wds1/nginx/deployment.yaml": strings.Replace(string(deployment), "replicas: 2", "replicas: 4", 1)})
	repo.Commit(t, "scale nginx")
	repo.Push(t, "main")
	scaled := once()
	require.Equal(t, 0, scaled.code)
	assert.Contains(t, scaled.stdout, "wds1 (WDS): 1 configured, 8 unchanged")
	dep, err = wds.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, int32(4), *dep.Spec.Replicas)

	// Relabelling cluster2 in Git takes it out of the nginx Binding.
	cluster2, err := os.ReadFile(filepath.Join(repo.Work, "deploy/clusters/cluster2.yaml"))
	require.NoError(t, err)
	repo.Write(t, map[string]string{"deploy/clusters/cluster2.yaml": strings.Replace(string(cluster2), "location-group: edge", "location-group: core", 1)})
	repo.Commit(t, "cluster2 moves to the core")
	repo.Push(t, "main")
	relabelled := once()
	require.Equal(t, 0, relabelled.code)
	assert.Contains(t, relabelled.stdout, "its1 (ITS): 1 configured, 2 unchanged")
	assert.Contains(t, relabelled.stdout, "wds1: binding nginx-bpolicy: 3 objects → cluster1\n")
	binding, err := dynamic.NewForConfigOrDie(env.Config("wds1")).Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "bindings"}).
		Get(ctx, "nginx-bpolicy", metav1.GetOptions{})
	require.NoError(t, err)
	dests, _, _ := unstructured.NestedSlice(binding.Object, "spec", "destinations")
	assert.Equal(t, []any{map[string]any{"clusterId": "cluster1"}}, dests)

	missing := run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--credentials-secret", "default/nope")
	assert.Equal(t, 1, missing.code)
	assert.Contains(t, missing.stderr, "secret default/nope not found")

	repo.Remove(t, "deploy/wds1/hello")
	repo.Commit(t, "drop hello")
	repo.Push(t, "main")
	pruned := once()
	require.Equal(t, 0, pruned.code)
	assert.Contains(t, pruned.stdout, "8 unchanged, 1 deleted")
	_, err = wds.CoreV1().ConfigMaps("nginx").Get(ctx, "hello-config", metav1.GetOptions{})
	assert.Error(t, err, "pruned")

	goodCommit := repo.Head(t)
	before, err := wds.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	repo.Write(t, map[string]string{
		"deploy/wds1/nginx/deployment.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: nginx-deployment\n  namespace: nginx\nspec:\n  replicas: [3\n",
		"deploy/wds1/extra.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: nginx}\n",
	})
	repo.Commit(t, "broken")
	repo.Push(t, "main")
	broken := once()
	assert.Equal(t, 1, broken.code)
	assert.Contains(t, broken.stdout, "nothing was applied")
	assert.Contains(t, broken.stdout, "wds1/nginx/deployment.yaml:7:")
	after, err := wds.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, before.ResourceVersion, after.ResourceVersion, "the last good state stays")
	_, err = wds.CoreV1().ConfigMaps("nginx").Get(ctx, "extra", metav1.GetOptions{})
	assert.Error(t, err, "nothing of the broken revision was applied")
	assert.Contains(t, broken.stdout, "status branch gitstellar-status: committed the revision's errors")
	status := statusSummary(t, repo)
	assert.Equal(t, goodCommit, status.SourceCommit, "the status branch still names the commit the spaces hold")
	require.NotEmpty(t, status.Errors)
	assert.Contains(t, status.Errors[0], "deploy/wds1/nginx/deployment.yaml:7:", "the status branch names file:line")
	gate := run(t, bin, "status", "--repo", repo.URL, "--username", "ci", "--password-file", pwFile)
	assert.Equal(t, 1, gate.code, "gitstellar status fails a CI gate on a revision with errors")

	repo.Git(t, "checkout", "--quiet", "HEAD~1", "--", "deploy/wds1/nginx/deployment.yaml")
	repo.Commit(t, "fixed")
	repo.Push(t, "main")
	// Meanwhile another tool takes a field of the extra ConfigMap.
	_, err = wds.CoreV1().ConfigMaps("nginx").Apply(ctx, applycorev1.ConfigMap("extra", "nginx").WithData(map[string]string{"k": "theirs"}),
		metav1.ApplyOptions{FieldManager: "kustomize-controller"})
	require.NoError(t, err)
	repo.Write(t, map[string]string{"deploy/wds1/extra.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: extra, namespace: nginx}\ndata: {k: ours}\n"})
	repo.Commit(t, "extra data")
	repo.Push(t, "main")
	recovered := once()
	assert.Equal(t, 1, recovered.code, "a conflict is a problem to report")
	assert.Contains(t, recovered.stdout, "1 conflict")
	assert.Contains(t, recovered.stdout, "wds1/extra.yaml:1: ConfigMap nginx/extra conflict")
	assert.Contains(t, recovered.stdout, "kustomize-controller")
	cm, err := wds.CoreV1().ConfigMaps("nginx").Get(ctx, "extra", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "theirs", cm.Data["k"])
}

// TestRunWebhook runs `gitstellar run` as a long-lived process: a push
// followed by a signed webhook lands at once, and in the status branch (in
// another repository) within the status interval; a badly signed webhook
// triggers no fetch.
func TestRunWebhook(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, false), Bare: true})
	ctx := context.Background()
	srv, repo, _ := serveExample(t, "hooked")

	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("hook-secret\n"), 0o600))
	addr, metricsAddr := freeAddr(t), freeAddr(t)
	// The status goes to a repository of its own, on another server.
	statusRepo := gittest.NewHTTPServer(t, nil).NewRepo(t, "status")
	cmd := exec.Command(bin, "run", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir(),
		"--interval", "0", "--webhook-addr", addr, "--webhook-secret-file", secret, "--log-format", "json",
		"--status-repo", statusRepo.URL, "--status-interval", "1s", "--metrics-addr", metricsAddr)
	logs := &lockedBuffer{}
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("gitstellar run:\n%s", logs.String())
		}
	})
	wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))
	require.Eventually(t, func() bool {
		_, err := wds.AppsV1().Deployments("nginx").Get(ctx, "nginx-deployment", metav1.GetOptions{})
		return err == nil
	}, time.Minute, 100*time.Millisecond, "the first sync")

	repo.Write(t, map[string]string{"wds1/pushed.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: pushed, namespace: nginx}\n"})
	pushed := repo.Commit(t, "pushed")
	repo.Push(t, "main")

	requests := srv.Requests.Load()
	status := postHook(t, addr, []byte(`{"ref":"refs/heads/main"}`), "X-Hub-Signature-256", source.Sign([]byte("wrong"), []byte(`{"ref":"refs/heads/main"}`)))
	assert.Equal(t, http.StatusUnauthorized, status)
	time.Sleep(500 * time.Millisecond)
	assert.Equal(t, requests, srv.Requests.Load(), "a rejected webhook fetches nothing")
	_, err := wds.CoreV1().ConfigMaps("nginx").Get(ctx, "pushed", metav1.GetOptions{})
	assert.Error(t, err)

	start := time.Now()
	body := []byte(`{"ref":"refs/heads/main"}`)
	status = postHook(t, addr, body, "X-Hub-Signature-256", source.Sign([]byte("hook-secret"), body))
	assert.Equal(t, http.StatusAccepted, status)
	require.Eventually(t, func() bool {
		_, err := wds.CoreV1().ConfigMaps("nginx").Get(ctx, "pushed", metav1.GetOptions{})
		return err == nil
	}, 30*time.Second, 50*time.Millisecond, "the pushed object lands after the webhook")
	t.Logf("webhook → applied in %s", time.Since(start).Round(time.Millisecond))
	assert.Contains(t, logs.String(), "webhook rejected")
	require.Eventually(t, func() bool {
		s, err := readStatusSummary(statusRepo)
		return err == nil && s.SourceCommit == pushed
	}, 30*time.Second, 200*time.Millisecond, "the status branch follows the pushed commit")
	t.Logf("webhook → status branch in %s", time.Since(start).Round(time.Millisecond))

	// Health, readiness and the named metrics.
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + metricsAddr + path)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, _ := get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, _ = get("/readyz")
	assert.Equal(t, http.StatusOK, code, "ready after the first sync")
	wants := []string{
		`gitstellar_sync_duration_seconds_count{result="success",source="gitstellar"} 2`,
		`gitstellar_last_applied_revision_info{commit="` + pushed + `",source="gitstellar"} 1`,
		`gitstellar_space_objects{space="wds1"} 10`,
		`gitstellar_binding_objects{policy="nginx-bpolicy",wds="wds1"} 3`,
		`gitstellar_binding_destinations{policy="nginx-bpolicy",wds="wds1"} 2`,
		`gitstellar_last_successful_sync_timestamp_seconds{source="gitstellar"}`,
		`gitstellar_status_branch_commits_total`,
		`gitstellar_status_branch_push_failures_total 0`,
	}
	missing := func() []string { // the controllers update their metrics on their own time
		_, scraped := get("/metrics")
		var out []string
		for _, want := range wants {
			if !strings.Contains(scraped, want) {
				out = append(out, want)
			}
		}
		return out
	}
	require.Eventually(t, func() bool { return len(missing()) == 0 }, 30*time.Second, 200*time.Millisecond, "missing metrics: %v", missing())
}

func postHook(t *testing.T, addr string, body []byte, header, value string) int {
	t.Helper()
	var status int
	require.Eventually(t, func() bool {
		req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/hook", strings.NewReader(string(body)))
		req.Header.Set(header, value)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		status = resp.StatusCode
		return true
	}, 30*time.Second, 50*time.Millisecond)
	return status
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().String()
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
