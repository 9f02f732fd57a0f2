package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/gitstellar/gitstellar/pkg/report"
)

const benchNamespace = "bench"

// gitstellar measures gitstellar itself.
func (b *bench) gitstellar(ctx context.Context) error {
	dir := b.opts.Dir
	bare, work := filepath.Join(dir, "fleet.git"), filepath.Join(dir, "work")
	_ = os.RemoveAll(bare)
	_ = os.RemoveAll(work)
	if _, err := git(dir, "init", "-q", "--bare", "-b", "main", bare); err != nil {
		return err
	}
	if _, err := git(dir, "clone", "-q", bare, work); err != nil {
		return err
	}
	write := func(path, content string) error {
		p := filepath.Join(work, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, []byte(content), 0o644)
	}
	commit := func(msg string) (string, error) {
		if _, err := git(work, "add", "-A"); err != nil {
			return "", err
		}
		if _, err := git(work, "commit", "-qm", msg); err != nil {
			return "", err
		}
		if _, err := git(work, "push", "-q", "origin", "HEAD:main"); err != nil {
			return "", err
		}
		return git(work, "rev-parse", "HEAD")
	}
	var wecs strings.Builder
	for i := range b.opts.WECs {
		fmt.Fprintf(&wecs, "---\napiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: %s, labels: {bench: \"yes\"}}\nspec: {its: its1, kubeconfig: {context: %s}}\n", b.wecName(i), b.wecName(i))
	}
	if err := write("spaces/spaces.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\napiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n"); err != nil {
		return err
	}
	if err := write("clusters/wecs.yaml", wecs.String()); err != nil {
		return err
	}
	if err := write("wds1/policy.yaml", "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: bench}\nspec:\n  clusterSelectors: [{matchLabels: {bench: \"yes\"}}]\n  downsync: [{objectSelectors: [{matchLabels: {bench: \"yes\"}}]}]\n"); err != nil {
		return err
	}
	first, err := commit("spaces, WECs and the policy")
	if err != nil {
		return err
	}

	// gitstellar run, as users run it.
	addr, err := freePort()
	if err != nil {
		return err
	}
	secret := []byte("bench-secret")
	secretFile := filepath.Join(dir, "hook-secret")
	if err := os.WriteFile(secretFile, secret, 0o600); err != nil {
		return err
	}
	logFile, err := os.Create(filepath.Join(dir, "gitstellar-run.log"))
	if err != nil {
		return err
	}
	defer logFile.Close()
	args := append([]string{"run", "--repo", bare, "--kubeconfig", b.env.KubeconfigPath(), "--name", "bench",
		"--cache-dir", filepath.Join(dir, "cache"), "--interval", "0", "--webhook-addr", addr, "--webhook-secret-file", secretFile,
		"--status-interval", "1s", "--log-format", "json"}, b.opts.RunArgs...)
	run := exec.CommandContext(ctx, b.opts.Gitstellar, args...)
	run.Stdout, run.Stderr = logFile, logFile
	if err := run.Start(); err != nil {
		return err
	}
	defer func() {
		_ = run.Process.Signal(os.Interrupt)
		_, _ = run.Process.Wait()
	}()
	if _, err := b.waitStatus(ctx, bare, first, 0, 5*time.Minute); err != nil {
		return fmt.Errorf("the first sync: %w", err)
	}
	b.logf("gitstellar run is up and synced (%s)", first[:12])

	clients := make([]*kubernetes.Clientset, b.opts.WECs)
	for i := range clients {
		cfg, err := b.config(b.wecName(i))
		if err != nil {
			return err
		}
		clients[i] = kubernetes.NewForConfigOrDie(cfg)
	}
	stubDeploymentStatus(ctx, clients, benchNamespace)

	// Cold convergence: push → every object in every WEC.
	if err := write("wds1/objects.yaml", objectsYAML(b.opts.Objects, benchNamespace)); err != nil {
		return err
	}
	coldCommit, err := commit(fmt.Sprintf("%d objects", b.opts.Objects))
	if err != nil {
		return err
	}
	total := b.opts.Objects * b.opts.WECs
	groups := b.cpuGroups(ctx, run.Process.Pid)
	cpuBefore := cpuSeconds(groups)
	applied := watchApplied(ctx, clients, benchNamespace)
	s := newSampler(applied.count)
	if err := hook(addr, secret); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Minute)
	for applied.count() < total {
		if time.Now().After(deadline) {
			return fmt.Errorf("cold convergence: not every object arrived in 20 minutes")
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.res.ColdSeconds = time.Since(s.start).Seconds()
	b.res.ColdCPUSeconds = cpuBetween(cpuBefore, cpuSeconds(groups))
	b.res.Samples["gitstellar"] = s.finish(total)
	converged := time.Now()
	b.logf("cold convergence: %d objects in %d WECs in %.1fs", b.opts.Objects, b.opts.WECs, b.res.ColdSeconds)
	b.logf("  CPU during it: %s", cpuLine(b.res.ColdCPUSeconds))
	for applied.deploymentsBehind() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	ready := time.Now()
	b.res.ReadySeconds = ready.Sub(converged).Seconds()
	lagAt, err := b.waitStatus(ctx, bare, coldCommit, b.opts.Objects, 5*time.Minute)
	if err != nil {
		return fmt.Errorf("status lag: %w", err)
	}
	b.res.StatusLagSeconds = max(0, lagAt.Sub(ready).Seconds())
	b.logf("status lag: %.1fs (counted from every Deployment available in its WEC at %s, %.1fs after every object arrived)",
		b.res.StatusLagSeconds, ready.UTC().Format("15:04:05.000"), b.res.ReadySeconds)

	// Warm latency: one object changed, applied in every WEC.
	itsCfg, err := b.config("its1")
	if err != nil {
		return err
	}
	its := kubernetes.NewForConfigOrDie(itsCfg)
	var latencies []float64
	var itsWrites, wecWrites float64
	b.res.ITSWritesByRequest = map[string]float64{}
	warmCPU := map[string]float64{}
	for i := range b.opts.Changes {
		value := fmt.Sprintf("change-%d", i)
		if err := write("wds1/objects.yaml", strings.Replace(objectsYAML(b.opts.Objects, benchNamespace), "name: o0001, namespace: bench, labels: {bench: \"yes\"}}\ndata: {v: \"1\"", "name: o0001, namespace: bench, labels: {bench: \"yes\"}}\ndata: {v: \""+value+"\"", 1)); err != nil {
			return err
		}
		if _, err := commit(value); err != nil {
			return err
		}
		time.Sleep(time.Second) // let the status writes of the last change land
		itsBefore, wecBefore := writesBy(ctx, its), 0.0
		for _, c := range clients {
			wecBefore += writes(ctx, c)
		}
		cpuBefore := cpuSeconds(groups)
		start := time.Now()
		if err := hook(addr, secret); err != nil {
			return err
		}
		for i := range clients {
			for applied.configMapValue(i, benchNamespace, "o0001") != value && time.Since(start) < 5*time.Minute {
				time.Sleep(5 * time.Millisecond)
			}
		}
		latencies = append(latencies, time.Since(start).Seconds())
		for name, v := range cpuBetween(cpuBefore, cpuSeconds(groups)) {
			warmCPU[name] += v
		}
		time.Sleep(2 * time.Second) // the agents' status writes
		for k, v := range writesBy(ctx, its) {
			if d := v - itsBefore[k]; d > 0 {
				itsWrites += d
				b.res.ITSWritesByRequest[k] += d / float64(b.opts.Changes)
			}
		}
		wecAfter := 0.0
		for _, c := range clients {
			wecAfter += writes(ctx, c)
		}
		wecWrites += wecAfter - wecBefore
	}
	slices.Sort(latencies)
	b.res.WarmP50Seconds = percentile(latencies, 50)
	b.res.WarmP95Seconds = percentile(latencies, 95)
	b.res.ITSWritesPerChange = itsWrites / float64(b.opts.Changes)
	b.res.WECWritesPerChange = wecWrites / float64(b.opts.Changes)
	b.res.PeakRSSMiB = peakRSS(run.Process.Pid)
	b.res.WarmCPUSeconds = warmCPU
	b.logf("warm latency over %d changes: p50 %.2fs, p95 %.2fs; writes per change: ITS %.1f, WECs %.1f; peak RSS %.0f MiB",
		b.opts.Changes, b.res.WarmP50Seconds, b.res.WarmP95Seconds, b.res.ITSWritesPerChange, b.res.WECWritesPerChange, b.res.PeakRSSMiB)
	b.logf("  CPU from push to every WEC, all changes: %s", cpuLine(warmCPU))
	return nil
}

func percentile(sorted []float64, p int) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := (len(sorted)*p + 99) / 100
	return sorted[min(max(i-1, 0), len(sorted)-1)]
}

// writes sums an apiserver's write requests so far (apiserver_request_total
// for create, update, patch, apply and delete), leases and events aside.
func writes(ctx context.Context, c *kubernetes.Clientset) float64 {
	total := 0.0
	for _, v := range writesBy(ctx, c) {
		total += v
	}
	return total
}

// writesBy is writes by "resource[/subresource] VERB".
func writesBy(ctx context.Context, c *kubernetes.Clientset) map[string]float64 {
	out := map[string]float64{}
	raw, err := c.RESTClient().Get().AbsPath("/metrics").DoRaw(ctx)
	if err != nil {
		return out
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") {
			continue
		}
		labels, value, ok := strings.Cut(line, "} ")
		if !ok {
			continue
		}
		verb := labelValue(labels, "verb")
		resource := labelValue(labels, "resource")
		switch {
		case resource == "leases" || resource == "events", labelValue(labels, "dry_run") != "":
			continue // heartbeats, Events, and dry runs (which write nothing)
		case verb == "POST" || verb == "PUT" || verb == "PATCH" || verb == "APPLY" || verb == "DELETE":
			v, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
			if sub := labelValue(labels, "subresource"); sub != "" {
				resource += "/" + sub
			}
			out[resource+" "+verb] += v
		}
	}
	return out
}

func labelValue(labels, name string) string {
	_, rest, ok := strings.Cut(labels, name+`="`)
	if !ok {
		return ""
	}
	v, _, _ := strings.Cut(rest, `"`)
	return v
}

// waitStatus waits until the status branch shows a commit with at least
// objects objects, every one synced and ready everywhere, and returns
// when it saw it.
func (b *bench) waitStatus(ctx context.Context, bare, commit string, objects int, timeout time.Duration) (time.Time, error) {
	deadline := time.Now().Add(timeout)
	seen := ""
	for time.Now().Before(deadline) {
		// The summary is read and decoded only when the branch moved:
		// decoding 10,000 placements ten times a second would take CPU
		// from what is measured.
		head, err := exec.CommandContext(ctx, "git", "--git-dir", bare, "rev-parse", "--verify", "-q", "gitstellar-status").Output()
		if err == nil && string(head) != seen {
			seen = string(head)
			at := time.Now()
			if out, err := exec.CommandContext(ctx, "git", "--git-dir", bare, "show", strings.TrimSpace(seen)+":summary.yaml").Output(); err == nil {
				if s, err := report.DecodeStatusSummary(out); err == nil && s.SourceCommit == commit && allReady(s, objects) {
					return at, nil // when the commit was seen, not when it was decoded
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("the status branch did not show %s ready in %s", commit[:12], timeout)
}

func allReady(s report.Summary, objects int) bool {
	n := 0
	for _, sp := range s.Spaces {
		for _, o := range sp.Objects {
			n++
			for _, w := range o.WECs {
				if !w.Synced || !w.Ready {
					return false
				}
			}
		}
	}
	return n >= objects
}

// appliedWatch counts the benchmark's objects present in the WECs, and
// reads them, from watches: measuring costs the apiservers one watch per
// kind and WEC, not a list of every object at every look, which would
// take a large share of the CPU being measured.
type appliedWatch struct {
	namespaces, configMaps, services, deployments []cache.SharedIndexInformer
}

func watchApplied(ctx context.Context, clients []*kubernetes.Clientset, namespace string) *appliedWatch {
	w := &appliedWatch{}
	var synced []cache.InformerSynced
	for _, c := range clients {
		objects := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "bench=yes" }))
		namespaces := informers.NewSharedInformerFactoryWithOptions(c, 0,
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.FieldSelector = "metadata.name=" + namespace }))
		w.namespaces = append(w.namespaces, namespaces.Core().V1().Namespaces().Informer())
		w.configMaps = append(w.configMaps, objects.Core().V1().ConfigMaps().Informer())
		w.services = append(w.services, objects.Core().V1().Services().Informer())
		w.deployments = append(w.deployments, objects.Apps().V1().Deployments().Informer())
		objects.Start(ctx.Done())
		namespaces.Start(ctx.Done())
		for _, i := range []cache.SharedIndexInformer{w.namespaces[len(w.namespaces)-1], w.configMaps[len(w.configMaps)-1], w.services[len(w.services)-1], w.deployments[len(w.deployments)-1]} {
			synced = append(synced, i.HasSynced)
		}
	}
	cache.WaitForCacheSync(ctx.Done(), synced...)
	return w
}

// count is how many of the benchmark's objects the WECs hold.
func (w *appliedWatch) count() int {
	n := 0
	for _, group := range [][]cache.SharedIndexInformer{w.namespaces, w.configMaps, w.services, w.deployments} {
		for _, i := range group {
			n += len(i.GetStore().ListKeys())
		}
	}
	return n
}

// deploymentsBehind is how many of the benchmark's Deployments in the WECs
// do not have the status of their generation with every replica available.
func (w *appliedWatch) deploymentsBehind() int {
	n := 0
	for _, i := range w.deployments {
		for _, o := range i.GetStore().List() {
			d := o.(*appsv1.Deployment)
			want := int32(1)
			if d.Spec.Replicas != nil {
				want = *d.Spec.Replicas
			}
			if d.Status.ObservedGeneration != d.Generation || d.Status.AvailableReplicas < want {
				n++
			}
		}
	}
	return n
}

// configMapValue is data.v of a ConfigMap in WEC i, "" when absent.
func (w *appliedWatch) configMapValue(i int, namespace, name string) string {
	o, ok, err := w.configMaps[i].GetStore().GetByKey(namespace + "/" + name)
	if err != nil || !ok {
		return ""
	}
	return o.(*corev1.ConfigMap).Data["v"]
}
