package e2e

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

// replica is one `gitstellar run --leader-elect` process.
type replica struct {
	*process
	metrics, hook string
}

// scrape reads one metric's value from the replica's /metrics; -1 when the
// process does not answer or does not have it.
func (r *replica) scrape(metric string) float64 {
	resp, err := http.Get("http://" + r.metrics + "/metrics")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(metric) + ` (\S+)$`).FindSubmatch(b)
	if m == nil {
		return -1
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

const syncs = `gitstellar_sync_duration_seconds_count{result="success",source="gitstellar"}`

// TestLeaderElection runs two replicas of `gitstellar run --leader-elect`:
// only the one holding the Lease syncs, a webhook that reaches the standby
// is passed on to it; when it is killed the other takes over after the
// lease duration, and when a leader is stopped with SIGTERM it releases the
// Lease so that a standby takes over at once.
func TestLeaderElection(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, false), Bare: true})
	ctx := context.Background()
	_, repo, _ := serveExample(t, "replicated")
	const lease = 4 * time.Second
	secret := writeHookSecret(t)
	hook := func(r *replica) { sendHook(t, r.hook) }

	start := func(name string) *replica {
		r := &replica{metrics: freeAddr(t), hook: freeAddr(t)}
		r.process = startProcess(t, name, bin, "run", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir(),
			"--interval", "0", "--webhook-addr", r.hook, "--webhook-secret-file", secret,
			"--status-branch", "", "--log-format", "json", "--metrics-addr", r.metrics,
			"--leader-elect", "--leader-election-namespace", "default", "--leader-election-lease-duration", lease.String(),
			"--shutdown-timeout", "20s")
		return r
	}
	a := start("a")
	require.Eventually(t, func() bool { return a.scrape("gitstellar_leader") == 1 }, time.Minute, 100*time.Millisecond, "a leads")
	b := start("b")
	require.Eventually(t, func() bool { return b.scrape("gitstellar_leader") == 0 }, time.Minute, 100*time.Millisecond, "b stands by")

	wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))
	landed := func(name string) func() bool {
		return func() bool {
			_, err := wds.CoreV1().ConfigMaps("nginx").Get(ctx, name, metav1.GetOptions{})
			return err == nil
		}
	}
	push := func(name string) {
		repo.Write(t, map[string]string{"wds1/" + name + ".yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: nginx}\n"})
		repo.Commit(t, name)
		repo.Push(t, "main")
	}
	push("first")
	hook(b) // the webhook reaches the standby, which passes it on
	require.Eventually(t, landed("first"), time.Minute, 100*time.Millisecond, "the leader applies a push whose webhook reached the standby")
	assert.Contains(t, b.logs.String(), "fetch request passed on to the leader")
	assert.GreaterOrEqual(t, a.scrape(syncs), float64(1))
	assert.Equal(t, float64(-1), b.scrape(syncs), "the standby never synced")
	assert.Equal(t, float64(0), b.scrape("gitstellar_leader"))
	code := func(r *replica) int {
		resp, err := http.Get("http://" + r.metrics + "/readyz")
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusOK, code(b), "a standby is ready")

	// The leader is killed: b takes over once the Lease expires.
	killed := time.Now()
	require.NoError(t, a.cmd.Process.Signal(syscall.SIGKILL))
	<-a.done
	require.Eventually(t, func() bool { return b.scrape("gitstellar_leader") == 1 }, lease+30*time.Second, 50*time.Millisecond, "b takes over")
	t.Logf("SIGKILL of the leader → the standby leads in %s (lease duration %s)", time.Since(killed).Round(time.Millisecond), lease)
	push("second")
	hook(b)
	require.Eventually(t, landed("second"), time.Minute, 100*time.Millisecond, "the new leader applies a push")

	// A leader stopped with SIGTERM releases the Lease: c takes over
	// without waiting for it to expire.
	c := start("c")
	require.Eventually(t, func() bool { return c.scrape("gitstellar_leader") == 0 }, time.Minute, 100*time.Millisecond, "c stands by")
	stopped := time.Now()
	b.stop(t, syscall.SIGTERM, time.Minute) // a leader stopped by SIGTERM exits 0
	require.Eventually(t, func() bool { return c.scrape("gitstellar_leader") == 1 }, lease+30*time.Second, 50*time.Millisecond, "c takes over")
	t.Logf("SIGTERM of the leader → the standby leads in %s", time.Since(stopped).Round(time.Millisecond))
	assert.Contains(t, b.logs.String(), "stopped")
	// The Lease is in the kubeconfig's current context (wds1), held by c.
	l, err := wds.CoordinationV1().Leases("default").Get(ctx, "gitstellar-gitstellar", metav1.GetOptions{})
	require.NoError(t, err)
	require.NotNil(t, l.Spec.HolderIdentity)
	assert.Contains(t, c.logs.String(), `"identity":"`+*l.Spec.HolderIdentity+`"`)
	push("third")
	hook(c)
	require.Eventually(t, landed("third"), time.Minute, 100*time.Millisecond, "the third leader applies a push")
}
