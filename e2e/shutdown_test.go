package e2e

import (
	"context"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

// TestGracefulShutdown: SIGTERM while a sync hangs (the git server stops
// answering) abandons that sync after --shutdown-timeout and exits 0;
// SIGTERM between syncs exits at once.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, false), Bare: true})
	srv, repo, _ := serveExample(t, "stalling")
	secret := writeHookSecret(t)
	wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))

	start := func(name string) (*process, string) {
		hook := freeAddr(t)
		p := startProcess(t, name, bin, "run", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir(),
			"--interval", "0", "--webhook-addr", hook, "--webhook-secret-file", secret, "--status-branch", "",
			"--log-format", "json", "--shutdown-timeout", "2s")
		require.Eventually(t, func() bool {
			return strings.Contains(p.logs.String(), `"msg":"applied","space":"wds1"`)
		}, time.Minute, 50*time.Millisecond, "the first sync")
		_, err := wds.AppsV1().Deployments("nginx").Get(context.Background(), "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err, "the first sync applied the example")
		return p, hook
	}

	// Between syncs.
	idle, _ := start("idle")
	took := idle.stop(t, syscall.SIGTERM, 30*time.Second)
	assert.Contains(t, idle.logs.String(), "stopped: no sync is running")
	t.Logf("SIGTERM between syncs → exit in %s", took.Round(time.Millisecond))

	// During a sync that hangs in the fetch.
	busy, hook := start("busy")
	srv.Stall.Store(true)
	requests := srv.Requests.Load()
	sendHook(t, hook)
	require.Eventually(t, func() bool { return srv.Requests.Load() > requests }, 10*time.Second, 20*time.Millisecond, "the fetch hangs")
	took = busy.stop(t, syscall.SIGTERM, 30*time.Second)
	assert.Contains(t, busy.logs.String(), "abandoning the running sync")
	assert.GreaterOrEqual(t, took, 2*time.Second, "the sync had --shutdown-timeout to finish")
	t.Logf("SIGTERM during a hanging sync → abandoned and exited in %s (--shutdown-timeout 2s)", took.Round(time.Millisecond))
	srv.Stall.Store(false)
}
