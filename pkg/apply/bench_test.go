package apply_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// writeRepo writes a repository whose wds1 holds n objects in namespace
// ns, in the mix of a typical application set: 60% ConfigMaps, 20%
// Services, the rest Deployments, and the Namespace.
func writeRepo(b *testing.B, dir, ns string, n int) {
	b.Helper()
	files := map[string]string{
		"spaces/spaces.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\n" +
			"apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n",
	}
	var docs []string
	docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Namespace\nmetadata: {name: %s}\n", ns))
	for i := 1; i < n; i++ {
		switch {
		case i < n*6/10:
			docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d, namespace: %s}\ndata: {key: value-%d}\n", i, ns, i))
		case i < n*8/10:
			docs = append(docs, fmt.Sprintf("apiVersion: v1\nkind: Service\nmetadata: {name: svc-%d, namespace: %s}\nspec: {selector: {app: a%d}, ports: [{port: 80}]}\n", i, ns, i))
		default:
			docs = append(docs, fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: dep-%d, namespace: %s}\nspec:\n  replicas: 1\n  selector: {matchLabels: {app: a%d}}\n  template:\n    metadata: {labels: {app: a%d}}\n    spec: {containers: [{name: c, image: nginx}]}\n", i, ns, i, i))
		}
	}
	for f := 0; f*100 < len(docs); f++ {
		end := min((f+1)*100, len(docs))
		files[fmt.Sprintf("wds1/part-%02d.yaml", f)] = strings.Join(docs[f*100:end], "---\n")
	}
	for path, content := range files {
		full := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRenderApply renders a repository of 2,000 objects and applies it
// into one WDS (cold), then re-syncs it unchanged (warm), and reports
// objects/s of each and the writes of the unchanged re-sync.
func BenchmarkRenderApply(b *testing.B) {
	const objects = 2000
	env := devenvtest.Start(b, devenvtest.Options{WECs: 0, Bare: true})
	ctx := context.Background()
	cfg, writes := devenvtest.CountWrites(env.Config("wds1"))
	if _, err := crds.Install(ctx, cfg, crds.RoleWDS, crds.InstallOptions{}); err != nil {
		b.Fatal(err)
	}
	var renderTime, coldTime, warmTime time.Duration
	var warmWrites int64
	b.ResetTimer()
	for i := range b.N {
		b.StopTimer()
		dir := b.TempDir()
		writeRepo(b, dir, fmt.Sprintf("bench-%d", i), objects)
		a, err := apply.NewApplier(cfg, "wds1", apply.Options{Source: fmt.Sprintf("bench-%d", i), Concurrency: 16})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()

		start := time.Now()
		res, err := render.Directory(context.Background(), dir, render.Options{})
		if err != nil {
			b.Fatal(err)
		}
		objs := res.Space("wds1").Objects
		renderTime += time.Since(start)

		start = time.Now()
		cold, err := a.Apply(ctx, objs, "r1")
		if err != nil {
			b.Fatal(err)
		}
		coldTime += time.Since(start)
		if p := cold.Problems(); len(p) > 0 {
			b.Fatalf("cold apply: %v", p[0])
		}

		before := writes.Load()
		start = time.Now()
		warm, err := a.Apply(ctx, objs, "r1")
		if err != nil {
			b.Fatal(err)
		}
		warmTime += time.Since(start)
		warmWrites += writes.Load() - before
		if warm.Count(apply.Unchanged) != len(objs) {
			b.Fatalf("warm re-sync: %s", warm.Summary())
		}
	}
	n := float64(b.N)
	total := float64(objects + 1) // and the Space
	b.ReportMetric(total*n/renderTime.Seconds(), "rendered-objects/s")
	b.ReportMetric(total*n/coldTime.Seconds(), "applied-objects/s")
	b.ReportMetric(total*n/warmTime.Seconds(), "resynced-objects/s")
	b.ReportMetric(float64(warmWrites)/n, "resync-writes")
}
