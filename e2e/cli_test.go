package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

// The binary under test, built once for the whole package.
var (
	binaryOnce sync.Once
	binaryPath string
	binaryErr  error
)

// gitstellar returns the binary under test, building it on first use.
func gitstellar(t *testing.T) string {
	t.Helper()
	binaryOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gitstellar-e2e-")
		if err != nil {
			binaryErr = err
			return
		}
		binaryPath = filepath.Join(dir, "gitstellar")
		if out, err := exec.Command("go", "build", "-o", binaryPath, "../cmd/gitstellar").CombinedOutput(); err != nil {
			binaryErr = fmt.Errorf("go build: %w: %s", err, out)
		}
	})
	require.NoError(t, binaryErr)
	return binaryPath
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binaryPath != "" {
		_ = os.RemoveAll(filepath.Dir(binaryPath))
	}
	os.Exit(code)
}

// kubectl finds kubectl, or builds it like the apiservers.
func kubectl(t *testing.T) string {
	t.Helper()
	set, err := k8sbinaries.Ensure(context.Background(), k8sbinaries.Options{Need: []k8sbinaries.Name{k8sbinaries.Kubectl}, Progress: os.Stderr})
	require.NoError(t, err)
	return set.Path(k8sbinaries.Kubectl)
}

type result struct {
	stdout, stderr string
	code           int
}

func run(t *testing.T, name string, args ...string) result {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := result{stdout: stdout.String(), stderr: stderr.String()}
	if ee, ok := err.(*exec.ExitError); ok {
		r.code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	t.Logf("$ %s %s (exit %d)\n%s%s", filepath.Base(name), strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// TestDevQuickstart runs the dev environment's life cycle through the CLI:
// up, kubectl against a WEC, CRDs into the hub, status, a crash and its
// repair, and down leaving no process behind.
func TestDevQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin, kubectl := gitstellar(t), kubectl(t)
	dir := filepath.Join(t.TempDir(), "dev")
	kubeconfig := filepath.Join(dir, "kubeconfig")
	pids := func() map[string]int {
		out := map[string]int{}
		files, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
			out[strings.TrimSuffix(filepath.Base(f), ".pid")] = pid
		}
		return out
	}
	var seen map[string]int
	t.Cleanup(func() {
		run(t, bin, "dev", "down", "--state-dir", dir)
		for name, pid := range seen {
			if devenvtest.Alive(pid, dir) {
				t.Errorf("%s (pid %d) still running after dev down", name, pid)
				_ = syscall.Kill(pid, syscall.SIGKILL)
			}
		}
	})

	up := run(t, bin, "dev", "up", "--wecs", "2", "--state-dir", dir)
	require.Equal(t, 0, up.code)
	assert.Contains(t, up.stdout, "dev environment ready")
	seen = pids()
	// etcd; 4 apiservers; a controller-manager per space; a scheduler and
	// kwok per WEC.
	require.Len(t, seen, 1+4+4+2*2)

	ns := run(t, kubectl, "--kubeconfig", kubeconfig, "--context", "cluster2", "get", "ns")
	require.Equal(t, 0, ns.code)
	assert.Contains(t, ns.stdout, "kube-system")

	install := run(t, bin, "crds", "install", "--kubeconfig", kubeconfig, "--its", "its1", "--wds", "wds1")
	require.Equal(t, 0, install.code)
	assert.Contains(t, install.stdout, "wds1: customresourcedefinition/bindingpolicies.control.kubestellar.io created")
	assert.Contains(t, install.stdout, "its1: customresourcedefinition/workloadclusters.gitstellar.io created")

	crd := run(t, kubectl, "--kubeconfig", kubeconfig, "--context", "wds1", "get", "crd", "bindingpolicies.control.kubestellar.io")
	assert.Equal(t, 0, crd.code)
	short := run(t, kubectl, "--kubeconfig", kubeconfig, "--context", "its1", "get", "wec")
	assert.Equal(t, 0, short.code, "the wec short name is served")

	again := run(t, bin, "dev", "up", "--wecs", "2", "--state-dir", dir)
	require.Equal(t, 0, again.code)
	assert.Contains(t, again.stdout, "already running")
	assert.Equal(t, seen, pids(), "a second up starts nothing")

	status := run(t, bin, "dev", "status", "--state-dir", dir)
	assert.Equal(t, 0, status.code)
	assert.Equal(t, 1+len(seen), strings.Count(status.stdout, "\n")-1, "a header, a line per process and the kubeconfig")

	// A process that dies shows in status, and up restarts it.
	require.True(t, devenvtest.Alive(seen["cluster1-scheduler"], dir))
	require.NoError(t, syscall.Kill(seen["cluster1-scheduler"], syscall.SIGKILL))
	waitDead(t, seen["cluster1-scheduler"], dir)
	status = run(t, bin, "dev", "status", "--state-dir", dir)
	assert.Equal(t, 1, status.code)
	assert.Regexp(t, `cluster1-scheduler\s+-\s+not running`, status.stdout)
	repaired := run(t, bin, "dev", "up", "--wecs", "2", "--state-dir", dir)
	require.Equal(t, 0, repaired.code)
	assert.Contains(t, repaired.stdout, "starting cluster1-scheduler")
	assert.NotContains(t, repaired.stdout, "starting cluster1-apiserver")
	now := pids()
	assert.NotEqual(t, seen["cluster1-scheduler"], now["cluster1-scheduler"])
	seen["restarted-scheduler"] = now["cluster1-scheduler"]

	down := run(t, bin, "dev", "down", "--state-dir", dir)
	require.Equal(t, 0, down.code)
	for name, pid := range seen {
		assert.False(t, devenvtest.Alive(pid, dir), "%s (pid %d) still running", name, pid)
	}
	_, err := os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "state directory removed")
}

// TestDevUpWithoutBinaries: when the programs can be neither found nor
// built, dev up says what it tried and how to point at existing binaries,
// and leaves nothing running.
func TestDevUpWithoutBinaries(t *testing.T) {
	bin := gitstellar(t)
	dir := filepath.Join(t.TempDir(), "dev")
	empty := t.TempDir()
	cmd := exec.Command(bin, "dev", "up", "--bare", "--state-dir", dir)
	cmd.Env = append(os.Environ(),
		"KUBEBUILDER_ASSETS="+empty,
		"PATH="+empty,                                   // no etcd on PATH, and no go to build with
		"XDG_CACHE_HOME="+filepath.Join(empty, "cache"), // an empty cache
		"HOME="+empty,
	)
	out, err := cmd.CombinedOutput()
	require.Error(t, err)
	t.Logf("%s", out)
	msg := string(out)
	assert.Contains(t, msg, "etcd: not found")
	assert.Contains(t, msg, "KUBEBUILDER_ASSETS="+empty)
	assert.Contains(t, msg, "Point KUBEBUILDER_ASSETS at a directory")
	files, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
	assert.Empty(t, files, "nothing was started")
}

func waitDead(t *testing.T, pid int, dir string) {
	t.Helper()
	require.Eventually(t, func() bool { return !devenvtest.Alive(pid, dir) }, 10e9, 50e6)
}

// TestValidate: the example is valid; a copy with a broken YAML file or a
// typo in a BindingPolicy fails, naming the file and line.
func TestValidate(t *testing.T) {
	bin := gitstellar(t)
	ok := run(t, bin, "validate", "../examples/repo-layout")
	assert.Equal(t, 0, ok.code)
	assert.Contains(t, ok.stdout, "valid")

	repo := copyTree(t, "../examples/repo-layout")
	broken := filepath.Join(repo, "wds1", "nginx", "deployment.yaml")
	b, err := os.ReadFile(broken)
	require.NoError(t, err)
	// An unclosed flow sequence on line 9: a YAML syntax error.
	lines := strings.Split(string(b), "\n")
	require.Equal(t, "spec:", lines[7])
	lines[8] = "  replicas: [2"
	require.NoError(t, os.WriteFile(broken, []byte(strings.Join(lines, "\n")), 0o644))
	bad := run(t, bin, "validate", repo)
	assert.Equal(t, 1, bad.code)
	assert.Contains(t, bad.stdout, filepath.Join(repo, "wds1/nginx/deployment.yaml")+":9: ")

	repo = copyTree(t, "../examples/repo-layout")
	policy := filepath.Join(repo, "wds1", "nginx", "bindingpolicy.yaml")
	b, err = os.ReadFile(policy)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(policy, []byte(strings.Replace(string(b), "clusterSelectors:", "clusterSelector:", 1)), 0o644))
	typo := run(t, bin, "validate", repo)
	assert.Equal(t, 1, typo.code)
	assert.Contains(t, typo.stdout, filepath.Join(repo, "wds1/nginx/bindingpolicy.yaml")+`:3: BindingPolicy.control.kubestellar.io nginx-bpolicy: unknown field "spec.clusterSelector"`)
}

func copyTree(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "repo")
	out, err := exec.Command("cp", "-r", src, dst).CombinedOutput()
	require.NoError(t, err, "%s", out)
	return dst
}
