package bind_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

// BenchmarkControllerChange: a WDS holds 10,000 objects, a policy binds
// the 100 labelled ones; one object gains the label, and the time until
// its Binding shows it is measured (p50 and max over the iterations).
func BenchmarkControllerChange(b *testing.B) {
	const objects, selected = 10000, 100
	env := devenvtest.Start(b, devenvtest.Options{WECs: 0, Bare: true})
	ctx := context.Background()
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	if _, err := crds.Install(ctx, wdsCfg, crds.RoleWDS, crds.InstallOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := crds.Install(ctx, itsCfg, crds.RoleITS, crds.InstallOptions{}); err != nil {
		b.Fatal(err)
	}
	fast := *wdsCfg
	fast.QPS, fast.Burst = 1000, 2000
	cs := kubernetes.NewForConfigOrDie(&fast)
	start := time.Now()
	var g errgroup.Group
	g.SetLimit(32)
	for i := range objects {
		g.Go(func() error {
			cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("cm-%05d", i), Namespace: "default"}}
			if i < selected {
				cm.Labels = map[string]string{"bench": "yes"}
			}
			_, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	b.Logf("%d ConfigMaps created in %s", objects, time.Since(start).Round(time.Millisecond))
	dyn := dynamic.NewForConfigOrDie(wdsCfg)
	if _, err := dyn.Resource(bind.BindingPolicies).Create(ctx, mustUnstructured(b, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: bench}
spec:
  clusterSelectors: [{}]
  downsync: [{objectSelectors: [{matchLabels: {bench: "yes"}}]}]`), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	c, err := bind.NewController(bind.Options{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	if err != nil {
		b.Fatal(err)
	}
	start = time.Now()
	go func() { _ = c.Run(runCtx) }()
	for !c.Idle() {
		time.Sleep(50 * time.Millisecond)
	}
	b.Logf("controller synced %d objects in %s", objects, time.Since(start).Round(time.Millisecond))

	var latencies []time.Duration
	b.ResetTimer()
	for i := range b.N {
		w, err := dyn.Resource(bind.Bindings).Watch(ctx, metav1.ListOptions{FieldSelector: "metadata.name=bench"})
		if err != nil {
			b.Fatal(err)
		}
		name := fmt.Sprintf("cm-%05d", selected+i)
		changed := time.Now()
		if _, err := cs.CoreV1().ConfigMaps("default").Patch(ctx, name, "application/merge-patch+json",
			[]byte(`{"metadata":{"labels":{"bench":"yes"}}}`), metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		want := selected + i + 1
		for ev := range w.ResultChan() {
			if ev.Type != watch.Modified && ev.Type != watch.Added {
				continue
			}
			items, _, _ := unstructuredNestedSliceLen(ev.Object)
			if items == want {
				latencies = append(latencies, time.Since(changed))
				break
			}
		}
		w.Stop()
	}
	b.StopTimer()
	slices.Sort(latencies)
	if len(latencies) > 0 {
		b.ReportMetric(float64(latencies[len(latencies)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(latencies[len(latencies)-1].Microseconds())/1000, "max-ms")
	}
}
