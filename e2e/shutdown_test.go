package e2e

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// TestGracefulShutdown: SIGTERM while a sync hangs (the git server stops
// answering) abandons that sync after --shutdown-timeout and exits 0;
// SIGTERM between syncs exits at once.
func TestGracefulShutdown(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{WECs: 0, Bare: true})
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, "stalling")
	repo.CopyDir(t, "../examples/repo-layout", ".")
	repo.Commit(t, "the example")
	repo.Push(t, "main")
	secret := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(secret, []byte("hook-secret"), 0o600))
	wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))

	start := func() (*exec.Cmd, *lockedBuffer, string, chan error) {
		hook := freeAddr(t)
		cmd := exec.Command(bin, "run", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir(),
			"--interval", "0", "--webhook-addr", hook, "--webhook-secret-file", secret, "--status-branch", "",
			"--log-format", "json", "--shutdown-timeout", "2s")
		logs := &lockedBuffer{}
		cmd.Stdout, cmd.Stderr = logs, logs
		require.NoError(t, cmd.Start())
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		t.Cleanup(func() {
			_ = cmd.Process.Kill()
			if t.Failed() {
				t.Logf("gitstellar run:\n%s", logs.String())
			}
		})
		require.Eventually(t, func() bool {
			return strings.Contains(logs.String(), `"msg":"applied","space":"wds1"`)
		}, time.Minute, 50*time.Millisecond, "the first sync")
		_, err := wds.AppsV1().Deployments("nginx").Get(context.Background(), "nginx-deployment", metav1.GetOptions{})
		require.NoError(t, err, "the first sync applied the example")
		return cmd, logs, hook, exited
	}
	waitExit := func(exited chan error, within time.Duration) time.Duration {
		t.Helper()
		began := time.Now()
		select {
		case err := <-exited:
			require.NoError(t, err, "exit 0 after SIGTERM")
		case <-time.After(within):
			t.Fatalf("still running %s after SIGTERM", within)
		}
		return time.Since(began)
	}

	// Between syncs.
	first, firstLogs, _, firstExited := start()
	require.NoError(t, first.Process.Signal(syscall.SIGTERM))
	took := waitExit(firstExited, 30*time.Second)
	assert.Contains(t, firstLogs.String(), "stopped: no sync is running")
	t.Logf("SIGTERM between syncs → exit in %s", took.Round(time.Millisecond))

	// During a sync that hangs in the fetch.
	cmd, logs, hook, exited := start()
	srv.Stall.Store(true)
	body := []byte(`{"ref":"refs/heads/main"}`)
	requests := srv.Requests.Load()
	postHook(t, hook, body, "X-Hub-Signature-256", source.Sign([]byte("hook-secret"), body))
	require.Eventually(t, func() bool { return srv.Requests.Load() > requests }, 10*time.Second, 20*time.Millisecond, "the fetch hangs")
	require.NoError(t, cmd.Process.Signal(syscall.SIGTERM))
	took = waitExit(exited, 30*time.Second)
	assert.Contains(t, logs.String(), "abandoning the running sync")
	assert.GreaterOrEqual(t, took, 2*time.Second, "the sync had --shutdown-timeout to finish")
	t.Logf("SIGTERM during a hanging sync → abandoned and exited in %s (--shutdown-timeout 2s)", took.Round(time.Millisecond))
	srv.Stall.Store(false)
}
