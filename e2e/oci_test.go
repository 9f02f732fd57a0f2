package e2e

import (
	"context"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// pushLayout pushes a repository layout as `flux push artifact` does.
func pushLayout(t *testing.T, ref string, files map[string]string) {
	t.Helper()
	var entries []ocitest.File
	for _, n := range slices.Sorted(maps.Keys(files)) {
		entries = append(entries, ocitest.File{Name: n, Body: files[n]})
	}
	ocitest.Push(t, ref, ocitest.FluxConfig, ocitest.FluxContent, ocitest.TarGz(t, entries), map[string]string{"org.opencontainers.image.revision": "main@sha1:e2e"})
}

// TestOCIArtifactSourceSyncs follows a repository layout pushed as an OCI
// artifact to a registry on 127.0.0.1: the first artifact is applied and
// delivered to the WEC; a second one pushed to the same tag is applied on
// a webhook (the poll interval is an hour); the status branch is off,
// saying why.
func TestOCIArtifactSourceSyncs(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1})
	ref := ocitest.Registry(t) + "/fleet/layout:latest"
	layout := func(version string) map[string]string {
		return map[string]string{
			"spaces/spaces.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\napiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n",
			"clusters/wecs.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: cluster1, labels: {name: cluster1}}\nspec: {its: its1, kubeconfig: {context: cluster1}}\n",
			"wds1/app/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: default, labels: {app: oci}}\ndata: {version: \"" + version + "\"}\n---\n" +
				"apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: oci}\nspec:\n  clusterSelectors: [{matchLabels: {name: cluster1}}]\n  downsync: [{objectSelectors: [{matchLabels: {app: oci}}]}]\n",
		}
	}
	pushLayout(t, ref, layout("1"))

	secret := []byte("oci-secret")
	secretFile := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secretFile, secret, 0o600))
	hook, cache := freeAddr(t), t.TempDir()
	logPath := filepath.Join(t.TempDir(), "run.log")
	log, err := os.Create(logPath)
	require.NoError(t, err)
	readLog := func() string { b, _ := os.ReadFile(logPath); return string(b) }
	cmd := exec.Command(bin, "run", "--repo", "oci://"+ref, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", cache, "--chart-cache", filepath.Join(cache, "charts"),
		"--name", "oci", "--interval", "1h", "--webhook-addr", hook, "--webhook-secret-file", secretFile, "--metrics-addr", freeAddr(t))
	cmd.Stdout, cmd.Stderr = log, log
	require.NoError(t, cmd.Start())
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_, _ = cmd.Process.Wait()
		if t.Failed() {
			t.Logf("gitstellar run:\n%s", readLog())
		}
	})

	wec := kubernetes.NewForConfigOrDie(env.Config("cluster1"))
	versionInWEC := func() string {
		cm, err := wec.CoreV1().ConfigMaps("default").Get(context.Background(), "settings", metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return cm.Data["version"]
	}
	require.Eventually(t, func() bool { return versionInWEC() == "1" }, 2*time.Minute, 200*time.Millisecond, "the first artifact reaches the WEC")

	pushLayout(t, ref, layout("2"))
	body := []byte(`{"ref":"refs/heads/main"}`)
	postHook(t, hook, body, "X-Hub-Signature-256", source.Sign(secret, body))
	require.Eventually(t, func() bool { return versionInWEC() == "2" }, time.Minute, 200*time.Millisecond, "the second artifact, on the webhook")
	require.Contains(t, readLog(), "no status branch: the source is an OCI artifact")
}
