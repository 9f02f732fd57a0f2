package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// baselineKubectl: `kubectl apply --server-side` of the rendered objects
// to each WEC in turn, as a script would.
func (b *bench) baselineKubectl(ctx context.Context) error {
	const ns = "bench-kubectl"
	file := filepath.Join(b.opts.Dir, "kubectl-objects.yaml")
	if err := os.WriteFile(file, []byte(objectsYAML(b.opts.Objects, ns)), 0o644); err != nil {
		return err
	}
	start := time.Now()
	var applied atomic.Int64
	s := newSampler(func() int { return int(applied.Load()) })
	for i := range b.opts.WECs {
		out, err := exec.CommandContext(ctx, b.kubectl, "--kubeconfig", b.env.KubeconfigPath(), "--context", b.wecName(i),
			"apply", "--server-side", "--field-manager", "bench-kubectl", "-f", file).CombinedOutput()
		if err != nil {
			return fmt.Errorf("kubectl apply to %s: %v: %s", b.wecName(i), err, lastLine(out))
		}
		applied.Add(int64(b.opts.Objects))
	}
	b.res.KubectlSeconds = time.Since(start).Seconds()
	b.res.Samples["kubectl apply --server-side, WEC after WEC"] = s.finish(b.opts.Objects * b.opts.WECs)
	b.logf("baseline (a) kubectl apply --server-side, WEC after WEC: %.1fs", b.res.KubectlSeconds)
	return nil
}

func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	return lines[len(lines)-1]
}

// baselineRaw: the raw limit, every object server-side applied into every
// WEC at once from one Go process, nothing in between.
func (b *bench) baselineRaw(ctx context.Context) error {
	const ns = "bench-raw"
	var objects []*unstructured.Unstructured
	for _, doc := range strings.Split(objectsYAML(b.opts.Objects, ns), "\n---\n") {
		var m map[string]any
		if err := yaml.Unmarshal([]byte(doc), &m); err != nil {
			return err
		}
		objects = append(objects, &unstructured.Unstructured{Object: m})
	}
	clients := make([]dynamic.Interface, b.opts.WECs)
	for i := range clients {
		cfg, err := b.config(b.wecName(i))
		if err != nil {
			return err
		}
		clients[i] = dynamic.NewForConfigOrDie(cfg)
	}
	apply := func(c dynamic.Interface, u *unstructured.Unstructured) error {
		gv, _ := schema.ParseGroupVersion(u.GetAPIVersion())
		gvr := gv.WithResource(strings.ToLower(u.GetKind()) + "s")
		var r dynamic.ResourceInterface = c.Resource(gvr)
		if u.GetNamespace() != "" {
			r = c.Resource(gvr).Namespace(u.GetNamespace())
		}
		_, err := r.Apply(ctx, u.GetName(), u, metav1.ApplyOptions{FieldManager: "bench-raw", Force: true})
		return err
	}
	var applied atomic.Int64
	s := newSampler(func() int { return int(applied.Load()) })
	start := time.Now()
	var g errgroup.Group
	for _, c := range clients {
		g.Go(func() error { // the Namespace first, then the rest 16 at a time
			if err := apply(c, objects[0]); err != nil {
				return err
			}
			applied.Add(1)
			var inner errgroup.Group
			inner.SetLimit(16)
			for _, u := range objects[1:] {
				inner.Go(func() error {
					if err := apply(c, u); err != nil {
						return err
					}
					applied.Add(1)
					return nil
				})
			}
			return inner.Wait()
		})
	}
	if err := g.Wait(); err != nil {
		return fmt.Errorf("raw apply: %w", err)
	}
	b.res.RawSeconds = time.Since(start).Seconds()
	b.res.Samples["raw: concurrent server-side apply from one process"] = s.finish(b.opts.Objects * b.opts.WECs)
	b.logf("baseline (b) raw concurrent server-side apply: %.1fs", b.res.RawSeconds)

	// One object into every WEC, the raw way: the floor of warm latency.
	one := objects[1].DeepCopy()
	one.Object["data"] = map[string]any{"v": "raw-change"}
	start = time.Now()
	var og errgroup.Group
	for _, c := range clients {
		og.Go(func() error { return apply(c, one) })
	}
	if err := og.Wait(); err != nil {
		return err
	}
	b.res.RawOneSeconds = time.Since(start).Seconds()
	return nil
}
