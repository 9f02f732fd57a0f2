package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// process is a gitstellar command running in the background for a test.
type process struct {
	cmd  *exec.Cmd
	logs *lockedBuffer
	done chan struct{} // closed when it has exited, with err set
	err  error
}

// startProcess starts bin with args. When the test ends it is interrupted
// (killed after 30 s) and, if the test failed, its output is logged.
func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{cmd: exec.Command(bin, args...), logs: &lockedBuffer{}, done: make(chan struct{})}
	p.cmd.Stdout, p.cmd.Stderr = p.logs, p.logs
	require.NoError(t, p.cmd.Start())
	go func() { p.err = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Signal(os.Interrupt)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			_ = p.cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("%s:\n%s", name, p.logs.String())
		}
	})
	return p
}

// stop signals the process and waits for it to exit 0, at most within;
// it returns how long that took.
func (p *process) stop(t *testing.T, sig os.Signal, within time.Duration) time.Duration {
	t.Helper()
	began := time.Now()
	require.NoError(t, p.cmd.Process.Signal(sig))
	select {
	case <-p.done:
		require.NoError(t, p.err, "exit 0 after %s", sig)
	case <-time.After(within):
		t.Fatalf("still running %s after %s", within, sig)
	}
	return time.Since(began)
}

// hookSecret is the webhook secret of the tests that send push webhooks.
const hookSecret = "hook-secret"

// writeHookSecret writes hookSecret into a file for --webhook-secret-file.
func writeHookSecret(t *testing.T) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "secret")
	require.NoError(t, os.WriteFile(file, []byte(hookSecret), 0o600))
	return file
}

// sendHook posts a push event of main, signed with hookSecret, to a
// webhook receiver, which must accept it.
func sendHook(t *testing.T, addr string) {
	t.Helper()
	body := []byte(`{"ref":"refs/heads/main"}`)
	assert.Equal(t, http.StatusAccepted, postHook(t, addr, body, "X-Hub-Signature-256", source.Sign([]byte(hookSecret), body)))
}

// serveExample serves, on a git server on 127.0.0.1, a repository holding
// examples/repo-layout in one pushed commit; it returns the server, the
// repository and that commit.
func serveExample(t *testing.T, name string) (*gittest.Server, *gittest.Repo, string) {
	t.Helper()
	srv := gittest.NewHTTPServer(t, nil)
	repo := srv.NewRepo(t, name)
	repo.CopyDir(t, "../examples/repo-layout", ".")
	head := repo.Commit(t, "the example")
	repo.Push(t, "main")
	return srv, repo, head
}

// exampleLayout is the spaces examples/repo-layout declares (its1, wds1,
// wds2, and with wecs its WECs cluster1 and cluster2), read as `gitstellar
// dev up --repo` reads them.
func exampleLayout(t *testing.T, wecs bool) *devenv.Layout {
	t.Helper()
	layout, err := devenv.ReadLayout(context.Background(), "../examples/repo-layout", "")
	require.NoError(t, err)
	if !wecs {
		layout.Spaces = slices.DeleteFunc(layout.Spaces, func(sp devenv.LayoutSpace) bool { return sp.Role == devenv.RoleWEC })
	}
	return &layout
}
