package report

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/go-logr/logr"

	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// benchSummary is objects Deployments and ConfigMaps of one WDS, each
// bound to wecs WECs, with a message that round stamps into every
// placement of the objects up to changed.
func benchSummary(objects, wecs, changed, round int) Summary {
	var names []string
	for w := range wecs {
		names = append(names, fmt.Sprintf("wec%02d", w+1))
	}
	space := SpaceSummary{Name: "wds1", Policies: []PolicySummary{{Name: "bench", WECs: names}}}
	for i := range objects {
		o := ObjectSummary{Version: "v1", Kind: "ConfigMap", Namespace: "bench", Name: fmt.Sprintf("o%04d", i), Policies: []string{"bench"}}
		if i%5 == 0 {
			o.Group, o.Kind = "apps", "Deployment"
		}
		for _, wec := range names {
			st := WECObjectStatus{WEC: wec, Synced: true, Ready: true}
			if i < changed {
				st.Ready, st.Message = false, fmt.Sprintf("round %d: 0 of 1 replicas available", round)
			}
			o.WECs = append(o.WECs, st)
		}
		space.Objects = append(space.Objects, o)
		space.Policies[0].Objects = append(space.Policies[0].Objects, o.Key())
	}
	return Summary{SourceCommit: "85db9ab2eef6dc83054432bbcf798ed8199d3cd4", Spaces: []SpaceSummary{space}}
}

// BenchmarkStatusBranchWrite measures a write of the status branch of
// 1,000 objects in 10 WECs to a repository served over HTTP on 127.0.0.1
// by git-http-backend: one object changed, and every object changed (the
// writes of a cold sync).
func BenchmarkStatusBranchWrite(b *testing.B) {
	for _, changed := range []int{1, 1000} {
		b.Run(fmt.Sprintf("changed=%d", changed), func(b *testing.B) {
			ctx := context.Background()
			srv := gittest.NewHTTPServer(b, nil)
			repo := srv.NewRepo(b, "config")
			repo.Write(b, map[string]string{"wds1/cm.yaml": "kind: ConfigMap\n"})
			repo.Commit(b, "the source")
			repo.Push(b, "main")
			w, err := NewStatusBranchWriter(StatusBranchOptions{URL: repo.URL, Writer: "bench",
				Log: logr.Discard(), Attempts: 1, Backoff: time.Millisecond})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := w.Write(ctx, benchSummary(1000, 10, 0, 0)); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				pushed, err := w.Write(ctx, benchSummary(1000, 10, changed, i+1))
				if err != nil || !pushed {
					b.Fatalf("write %d: pushed %v, %v", i, pushed, err)
				}
			}
		})
	}
}
