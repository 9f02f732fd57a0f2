package plan_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitstellar/gitstellar/pkg/plan"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// writeFleet writes a repository of 5,000 objects in 100 namespaces, 200
// WECs in 20 groups and 100 policies, each binding 50 objects to the 10
// WECs of one group. shift moves WEC groups and edits objects, for a head
// revision.
func writeFleet(tb testing.TB, dir string, shift bool) {
	tb.Helper()
	write := func(path, content string) {
		p := filepath.Join(dir, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	write("spaces/spaces.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\napiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n")
	var wecs strings.Builder
	for i := range 200 {
		group := i % 20
		if shift && i < 10 {
			group = (group + 1) % 20
		}
		fmt.Fprintf(&wecs, "---\napiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: wec%03d, labels: {group: g%d, region: r%d}}\nspec: {its: its1}\n", i, group, i%7)
	}
	write("clusters/wecs.yaml", wecs.String())
	for p := range 100 {
		var b strings.Builder
		fmt.Fprintf(&b, "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: p%03d}\nspec:\n  clusterSelectors: [{matchLabels: {group: g%d}}]\n  downsync: [{objectSelectors: [{matchLabels: {app: a%03d}}]}]\n", p, p%20, p)
		fmt.Fprintf(&b, "---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns%03d}\n", p)
		for o := range 50 {
			replicas := 2
			if shift && o == 0 && p < 20 {
				replicas = 3
			}
			if o%2 == 0 {
				fmt.Fprintf(&b, "---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d%02d, namespace: ns%03d, labels: {app: a%03d}}\nspec:\n  replicas: %d\n  selector: {matchLabels: {app: a%03d}}\n  template:\n    metadata: {labels: {app: a%03d}}\n    spec: {containers: [{name: c, image: \"nginx:1.27\", ports: [{containerPort: 80}]}]}\n", o, p, p, replicas, p, p)
			} else {
				fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%02d, namespace: ns%03d, labels: {app: a%03d}}\ndata: {key: value-%d, other: \"%s\"}\n", o, p, p, o, strings.Repeat("x", 200))
			}
		}
		write(fmt.Sprintf("wds1/p%03d.yaml", p), b.String())
	}
}

// BenchmarkPlan: a repository of 5,000 objects, 200 WECs and 100 policies,
// planned between two revisions (10 WECs change groups, 20 Deployments
// scale). Reports the time of one plan (both renders included) and the
// peak RSS of the process.
func BenchmarkPlan(b *testing.B) {
	base, head := b.TempDir(), b.TempDir()
	writeFleet(b, base, false)
	writeFleet(b, head, true)
	var changed int
	var renderTime time.Duration
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		br, err := render.Directory(context.Background(), base, render.Options{})
		if err != nil {
			b.Fatal(err)
		}
		hr, err := render.Directory(context.Background(), head, render.Options{})
		if err != nil {
			b.Fatal(err)
		}
		renderTime += time.Since(start)
		p := plan.Compute(plan.Revision{Name: "base", Result: br}, plan.Revision{Name: "head", Result: hr}, nil)
		changed = 0
		for _, w := range p.WECs {
			changed += len(w.Created) + len(w.Updated) + len(w.Deleted)
		}
	}
	b.StopTimer()
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/plan")
	b.ReportMetric(renderTime.Seconds()/float64(b.N), "render-s/plan")
	b.ReportMetric(float64(ru.Maxrss)/1024, "peak-RSS-MiB")
	b.ReportMetric(float64(changed), "WEC-changes")
}
