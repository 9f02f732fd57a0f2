// Package bench measures gitstellar the way users run it and against the
// baselines they would otherwise pick: `gitstellar bench`.
//
// It starts a dev environment whose WECs are bare apiservers on one etcd,
// a repository of generated objects, and `gitstellar run` as a separate
// process with a push webhook, then measures cold convergence (push → every
// object applied in every WEC), warm latency (a one-object change → applied
// in every WEC), status lag (convergence → the status branch showing it),
// the peak RSS of `gitstellar run` and the API writes per changed object.
// On the same objects and WECs it measures two baselines: (a) `kubectl
// apply --server-side` to each WEC in turn, and (b) the raw limit:
// concurrent server-side apply of every object into every WEC from one Go
// process. It writes a table, bench.json and bench.svg.
package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"k8s.io/client-go/rest"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

// Options configures a run of the benchmark.
type Options struct {
	Objects int // default 1000
	WECs    int // default 10
	Changes int // warm changes, default 20
	// Dir holds the environment, the repository and the outputs; default a
	// new temporary directory.
	Dir string
	// Gitstellar is the binary run as `gitstellar run`; default this
	// program.
	Gitstellar string
	// Out receives the table and progress.
	Out io.Writer
	// SkipBaselines measures gitstellar only (quicker, for iterating; the
	// ratios are then not computed).
	SkipBaselines bool
	// RunArgs are added to the `gitstellar run` command line (e.g.
	// --pprof-addr, to profile it while it is measured).
	RunArgs []string
}

// Sample is the number of objects applied across all WECs at a time since
// the start of a measurement.
type Sample struct {
	Seconds float64 `json:"s"`
	Applied int     `json:"applied"`
}

// Result is every figure of a run (bench.json).
type Result struct {
	Objects int    `json:"objects"`
	WECs    int    `json:"wecs"`
	Machine string `json:"machine"`
	// Cold convergence, in seconds, for gitstellar and the baselines.
	ColdSeconds    float64 `json:"coldSeconds"`
	KubectlSeconds float64 `json:"kubectlSeconds"`
	RawSeconds     float64 `json:"rawSeconds"`
	ColdRatio      float64 `json:"coldRatioToRaw"`
	KubectlRatio   float64 `json:"kubectlRatioToRaw"`
	WarmP50Seconds float64 `json:"warmP50Seconds"`
	WarmP95Seconds float64 `json:"warmP95Seconds"`
	WarmP50Ratio   float64 `json:"warmP50RatioToRaw"`
	RawOneSeconds  float64 `json:"rawOneObjectSeconds"`
	// ReadySeconds: from every object present in every WEC to every
	// Deployment there available (the status the WEC's controller, here
	// the stub, writes). StatusLagSeconds is counted from the later of
	// the two: the status branch cannot show a state before the WECs
	// reach it.
	ReadySeconds       float64 `json:"readySeconds"`
	StatusLagSeconds   float64 `json:"statusLagSeconds"`
	StatusInterval     float64 `json:"statusIntervalSeconds"`
	PeakRSSMiB         float64 `json:"peakRSSMiB"`
	ITSWritesPerChange float64 `json:"itsWritesPerChange"`
	// ITSWritesByRequest splits them by "resource[/subresource] VERB".
	ITSWritesByRequest map[string]float64 `json:"itsWritesByRequest"`
	WECWritesPerChange float64            `json:"wecWritesPerChange"`
	// ColdCPUSeconds and WarmCPUSeconds: CPU time (user + system) of
	// gitstellar run, etcd and each apiserver (the WECs' together) during
	// the cold convergence and over all warm changes.
	ColdCPUSeconds map[string]float64  `json:"coldCPUSeconds"`
	WarmCPUSeconds map[string]float64  `json:"warmCPUSeconds"`
	Samples        map[string][]Sample `json:"samples"`
}

func (o *Options) defaults() error {
	if o.Objects <= 0 {
		o.Objects = 1000
	}
	if o.WECs <= 0 {
		o.WECs = 10
	}
	if o.Changes <= 0 {
		o.Changes = 20
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	if o.Gitstellar == "" {
		self, err := os.Executable()
		if err != nil {
			return err
		}
		o.Gitstellar = self
	}
	if o.Dir == "" {
		dir, err := os.MkdirTemp("", "gitstellar-bench-")
		if err != nil {
			return err
		}
		o.Dir = dir
	}
	return os.MkdirAll(o.Dir, 0o755)
}

// Run runs the benchmark.
func Run(ctx context.Context, opts Options) (*Result, error) {
	if err := opts.defaults(); err != nil {
		return nil, err
	}
	b := &bench{opts: opts, res: &Result{Objects: opts.Objects, WECs: opts.WECs, Samples: map[string][]Sample{}, StatusInterval: 1}}
	b.res.Machine = machine()
	b.logf("benchmark in %s: %d objects, %d WECs", opts.Dir, opts.Objects, opts.WECs)
	bins, err := k8sbinaries.Ensure(ctx, k8sbinaries.Options{Need: append(append([]k8sbinaries.Name{}, k8sbinaries.Hub...), k8sbinaries.Kubectl), Progress: opts.Out})
	if err != nil {
		return nil, err
	}
	env, err := devenv.Up(ctx, devenv.Options{StateDir: filepath.Join(opts.Dir, "dev"), WECs: opts.WECs, Bare: true, Binaries: bins, StopWithParent: true})
	if err != nil {
		return nil, err
	}
	defer func() { _ = env.Down(context.Background()) }()
	b.env, b.kubectl = env, bins.Path(k8sbinaries.Kubectl)
	steps := []func(context.Context) error{b.gitstellar, b.baselineKubectl, b.baselineRaw}
	if opts.SkipBaselines {
		steps = steps[:1]
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return b.res, err
		}
	}
	r := b.res
	if r.RawSeconds > 0 {
		r.ColdRatio = r.ColdSeconds / r.RawSeconds
		r.KubectlRatio = r.KubectlSeconds / r.RawSeconds
	}
	if r.RawOneSeconds > 0 {
		r.WarmP50Ratio = r.WarmP50Seconds / r.RawOneSeconds
	}
	return r, nil
}

type bench struct {
	opts    Options
	res     *Result
	env     *devenv.Environment
	kubectl string
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.opts.Out, format+"\n", args...)
}

func (b *bench) wecName(i int) string { return fmt.Sprintf("cluster%d", i+1) }

func (b *bench) config(space string) (*rest.Config, error) {
	cfg, err := b.env.RESTConfig(space)
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	return cfg, nil
}

// objectsYAML renders the benchmark's n objects into a namespace, the mix
// of the side-by-side comparison with Flux: the Namespace, 60% ConfigMaps
// (o0001 first), 20% Services, the rest Deployments, labelled bench=yes.
func objectsYAML(n int, namespace string) string {
	configMaps, services := n*60/100, n*20/100
	var sb strings.Builder
	fmt.Fprintf(&sb, "apiVersion: v1\nkind: Namespace\nmetadata: {name: %s, labels: {bench: \"yes\"}}\n", namespace)
	for i := 1; i < n; i++ {
		switch {
		case i <= configMaps:
			fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: o%04d, namespace: %s, labels: {bench: \"yes\"}}\ndata: {v: \"1\", payload: %q}\n", i, namespace, strings.Repeat("x", 256))
		case i <= configMaps+services:
			fmt.Fprintf(&sb, "---\napiVersion: v1\nkind: Service\nmetadata: {name: o%04d, namespace: %s, labels: {bench: \"yes\"}}\nspec: {ports: [{port: 80, targetPort: 8080}], selector: {app: o%04d}}\n", i, namespace, i)
		default:
			fmt.Fprintf(&sb, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: o%04d, namespace: %s, labels: {bench: \"yes\"}}\n"+
				"spec: {replicas: 1, selector: {matchLabels: {app: o%04d}}, template: {metadata: {labels: {app: o%04d}}, spec: {containers: [{name: web, image: registry.example/web:1, ports: [{containerPort: 8080}]}]}}}\n",
				i, namespace, i, i)
		}
	}
	return sb.String()
}

// git runs git in dir.
func git(dir string, args ...string) (string, error) {
	cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=bench", "-c", "user.email=bench@example.com"}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

// hook tells gitstellar run that main moved, signed like GitHub.
func hook(addr string, secret []byte) error {
	body := []byte(`{"ref":"refs/heads/main"}`)
	mac := hmac.New(sha256.New, secret)
	mac.Write(body)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/hook", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("X-Hub-Signature-256", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	for range 100 {
		resp, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	return fmt.Errorf("webhook at %s: no answer", addr)
}

// peakRSS reads a process's peak resident set size (Linux), in MiB.
func peakRSS(pid int) float64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if rest, ok := strings.CutPrefix(s.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")), 64)
			return kb / 1024
		}
	}
	return 0
}

func machine() string {
	cpu := ""
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(l, "model name"); ok {
				cpu = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
				break
			}
		}
	}
	return fmt.Sprintf("%s, %d CPUs", cpu, runtime.NumCPU())
}

// sampler counts applied objects over time for a chart.
type sampler struct {
	start   time.Time
	applied atomic.Int64
	samples []Sample
	stop    chan struct{}
	done    chan struct{}
}

func newSampler(count func() int) *sampler {
	s := &sampler{start: time.Now(), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		t := time.NewTicker(200 * time.Millisecond)
		defer t.Stop()
		for {
			n := count()
			s.samples = append(s.samples, Sample{Seconds: time.Since(s.start).Seconds(), Applied: n})
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *sampler) finish(final int) []Sample {
	close(s.stop)
	<-s.done
	return append(s.samples, Sample{Seconds: time.Since(s.start).Seconds(), Applied: final})
}
