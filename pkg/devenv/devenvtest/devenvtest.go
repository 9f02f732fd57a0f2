package devenvtest

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

// Options configures Start.
type Options struct {
	// WECs is the number of WECs (0: only the hub spaces).
	WECs int
	// Layout, instead of WECs, is the set of spaces to run.
	Layout *devenv.Layout
	// Bare runs only etcd and the apiservers.
	Bare bool
}

// Env is a running dev environment owned by a test.
type Env struct {
	*devenv.Environment
	t testing.TB
}

// Start starts a dev environment in a temporary directory, with processes
// that end when the test binary ends, and stops it when the test ends.
func Start(t testing.TB, opts Options) *Env {
	t.Helper()
	bins := binaries(t, opts.Bare)
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	start := time.Now()
	e, err := devenv.Up(ctx, devenv.Options{
		StateDir: dir, WECs: opts.WECs, Layout: opts.Layout, Bare: opts.Bare, Binaries: bins, StopWithParent: true,
		Progress: testWriter{t},
	})
	if err != nil {
		t.Fatalf("dev environment: %v", err)
	}
	var foreignCRDs []string
	if file := os.Getenv(ForeignWDSCRDsEnv); file != "" {
		if foreignCRDs, err = installForeignWDSCRDs(ctx, e, file); err != nil {
			_ = e.Down(context.Background())
			t.Fatalf("%s: %v", ForeignWDSCRDsEnv, err)
		}
		t.Logf("the CRDs of %s are installed in every WDS", file)
	}
	t.Logf("dev environment ready in %s: %s", time.Since(start).Round(time.Millisecond), dir)
	env := &Env{Environment: e, t: t}
	t.Cleanup(func() {
		// The state as it is now: a test may have added spaces since.
		if latest, err := devenv.Load(dir); err == nil {
			env.Environment = latest
		}
		if len(foreignCRDs) > 0 {
			taken, err := foreignCRDsTaken(context.Background(), env.Environment, foreignCRDs)
			switch {
			case err != nil:
				t.Errorf("%s: %v", ForeignWDSCRDsEnv, err)
			case len(taken) > 0:
				t.Errorf("%s: CRDs installed by another tool were changed: %v", ForeignWDSCRDsEnv, taken)
			}
		}
		if t.Failed() {
			env.dumpLogs()
		}
		if err := env.Down(context.Background()); err != nil {
			t.Errorf("dev environment down: %v", err)
		}
	})
	return env
}

// Config returns the admin client configuration of a space.
func (e *Env) Config(space string) *rest.Config {
	e.t.Helper()
	cfg, err := e.RESTConfig(space)
	if err != nil {
		e.t.Fatal(err)
	}
	return cfg
}

func (e *Env) dumpLogs() {
	for _, ps := range e.Status(context.Background()) {
		b, err := os.ReadFile(ps.Log)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
		if len(lines) > 30 {
			lines = lines[len(lines)-30:]
		}
		e.t.Logf("---- %s (pid %d, ready %t) log tail:\n%s", ps.Name, ps.PID, ps.Ready, strings.Join(lines, "\n"))
	}
}

var (
	binsOnce sync.Mutex
	bins     = map[bool]*k8sbinaries.Set{}
)

func binaries(t testing.TB, bare bool) *k8sbinaries.Set {
	binsOnce.Lock()
	defer binsOnce.Unlock()
	if s, ok := bins[bare]; ok {
		return s
	}
	need := k8sbinaries.All
	if bare {
		need = k8sbinaries.Hub
	}
	s, err := k8sbinaries.Ensure(context.Background(), k8sbinaries.Options{Need: need, Progress: testWriter{t}})
	if err != nil {
		t.Fatalf("k8s binaries: %v", err)
	}
	bins[bare] = s
	return s
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// Alive tells whether pid runs a program of the environment in dir: the
// pid is alive, not a zombie, and its command line names dir (so that a pid
// the system has given to another program since is not mistaken for one of
// the environment's).
func Alive(pid int, dir string) bool {
	if pid <= 0 || syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	if f := strings.Fields(string(stat)); len(f) < 3 || f[2] == "Z" {
		return false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	return err == nil && strings.Contains(string(cmdline), dir)
}

// CountWrites returns a copy of cfg whose requests that change something —
// not reads, not dry runs — are counted, for tests and benchmarks that
// assert or report writes.
func CountWrites(cfg *rest.Config) (*rest.Config, *atomic.Int64) {
	var n atomic.Int64
	c := rest.CopyConfig(cfg)
	c.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		return roundTripper(func(r *http.Request) (*http.Response, error) {
			switch r.Method {
			case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
				if !strings.Contains(r.URL.RawQuery, "dryRun=All") {
					n.Add(1)
				}
			}
			return rt.RoundTrip(r)
		})
	}
	return c, &n
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
