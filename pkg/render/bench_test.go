package render_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// BenchmarkRenderCommit renders 10,000 ConfigMaps in 200 directories of a
// commit, read from the object store.
func BenchmarkRenderCommit(b *testing.B) {
	entries := append([]gittest.Entry(nil), spaces...)
	for i := range 200 {
		var s strings.Builder
		for j := range 50 {
			fmt.Fprintf(&s, "---\n%s", configMap(fmt.Sprintf("cm-%d-%d", i, j)))
		}
		entries = append(entries, gittest.File(fmt.Sprintf("wds1/d%d/cms.yaml", i), s.String()))
	}
	dir := b.TempDir()
	gittest.Craft(b, dir, "main", entries...)
	tree, _, err := source.OpenRevision(dir, "main")
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		res, err := render.Render(context.Background(), tree, render.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if n := len(res.Space("wds1").Objects); n != 10001 {
			b.Fatalf("%d objects", n)
		}
	}
	b.ReportMetric(float64(10000*b.N)/b.Elapsed().Seconds(), "objects/s")
}
