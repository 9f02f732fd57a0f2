package propagate_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// BenchmarkPropagate: 1,000 objects bound to 10 WECs (bare apiservers on
// one etcd). Reports the time from the BindingPolicy's creation to all
// 10,000 objects applied (bind, transport and agents), and the writes to
// the ITS and to the WECs caused by changing one object.
func BenchmarkPropagate(b *testing.B) {
	objects, wecs := 1000, 10
	if scale := os.Getenv("GITSTELLAR_BENCH_SCALE"); scale != "" { // e.g. 400x5
		if _, err := fmt.Sscanf(scale, "%dx%d", &objects, &wecs); err != nil {
			b.Fatalf("GITSTELLAR_BENCH_SCALE=%s: want OBJECTSxWECS", scale)
		}
	}
	env := devenvtest.Start(b, devenvtest.Options{WECs: wecs, Bare: true})
	ctx := context.Background()
	wdsCfg, itsCfg := env.Config("wds1"), env.Config("its1")
	if _, err := crds.Install(ctx, wdsCfg, crds.RoleWDS, crds.InstallOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := crds.Install(ctx, itsCfg, crds.RoleITS, crds.InstallOptions{}); err != nil {
		b.Fatal(err)
	}
	fast := rest.CopyConfig(wdsCfg)
	fast.QPS, fast.Burst = 1000, 2000
	wds := kubernetes.NewForConfigOrDie(fast)
	its := dynamic.NewForConfigOrDie(itsCfg)
	for i := 1; i <= wecs; i++ {
		wec := mustObject(b, fmt.Sprintf("{apiVersion: gitstellar.io/v1alpha1, kind: WorkloadCluster, metadata: {name: cluster%d, labels: {bench: \"yes\"}}, spec: {its: its1}}", i))
		if _, err := its.Resource(propagate.WorkloadClusters).Create(ctx, wec, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	labels := map[string]string{"bench": "yes"}
	if _, err := wds.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "bench", Labels: labels}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	var g errgroup.Group
	g.SetLimit(32)
	for i := 1; i < objects; i++ {
		g.Go(func() error {
			meta := metav1.ObjectMeta{Name: fmt.Sprintf("o%04d", i), Namespace: "bench", Labels: labels}
			if i%5 == 0 {
				_, err := wds.CoreV1().Services("bench").Create(ctx, &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{
					Ports: []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}}}}, metav1.CreateOptions{})
				return err
			}
			_, err := wds.CoreV1().ConfigMaps("bench").Create(ctx, &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{"v": "1"}}, metav1.CreateOptions{})
			return err
		})
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	itsCounted, itsWrites := devenvtest.CountWrites(itsCfg)
	binder, err := bind.NewController(bind.Options{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCfg})
	if err != nil {
		b.Fatal(err)
	}
	transport, err := propagate.NewTransport(propagate.TransportOptions{WDS: "wds1", WDSConfig: wdsCfg, ITSConfig: itsCounted})
	if err != nil {
		b.Fatal(err)
	}
	go func() { _ = binder.Run(runCtx) }()
	go func() { _ = transport.Run(runCtx) }()
	var agents []*propagate.Agent
	var wecWrites []*atomic.Int64
	for i := 1; i <= wecs; i++ {
		wecCfg, n := devenvtest.CountWrites(env.Config(fmt.Sprintf("cluster%d", i)))
		a, err := propagate.NewAgent(propagate.AgentOptions{Cluster: fmt.Sprintf("cluster%d", i), ITSConfig: itsCounted, WECConfig: wecCfg, Resync: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		agents = append(agents, a)
		wecWrites = append(wecWrites, n)
		go func() { _ = a.Run(runCtx) }()
	}
	converged := func() bool {
		for i := range agents {
			if done, _ := applied(b, its, fmt.Sprintf("cluster%d", i+1)); !done {
				return false
			}
		}
		return true
	}

	start := time.Now()
	dyn := dynamic.NewForConfigOrDie(wdsCfg)
	if _, err := dyn.Resource(bind.BindingPolicies).Create(ctx, mustObject(b, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: bench}
spec:
  clusterSelectors: [{matchLabels: {bench: "yes"}}]
  downsync: [{objectSelectors: [{matchLabels: {bench: "yes"}}]}]`), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	last := fmt.Sprintf("o%04d", objects-1)
	for j := 1; j <= wecs; j++ { // every WEC holds the last object...
		wec := kubernetes.NewForConfigOrDie(env.Config(fmt.Sprintf("cluster%d", j)))
		for {
			if _, err := wec.CoreV1().ConfigMaps("bench").Get(ctx, last, metav1.GetOptions{}); err == nil {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	for !converged() { // ...and every agent has applied everything
		time.Sleep(100 * time.Millisecond) // a list of every mailbox
	}
	cold := time.Since(start)
	if _, p := applied(b, its, "cluster1"); len(p) > 0 {
		b.Logf("cluster1 problems: %d, first: %s", len(p), p[0])
	}

	b.ResetTimer()
	var change, toBinding, toDelivery time.Duration
	var itsPer, wecPer float64
	for i := range b.N {
		itsBefore := itsWrites.Load()
		wecBefore := int64(0)
		for _, n := range wecWrites {
			wecBefore += n.Load()
		}
		value := fmt.Sprintf("changed-%d", i)
		d0, _ := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1").Get(ctx, "wds1.bench.0", metav1.GetOptions{})
		b0, _ := dyn.Resource(bind.Bindings).Get(ctx, "bench", metav1.GetOptions{})
		start := time.Now()
		if _, err := wds.CoreV1().ConfigMaps("bench").Patch(ctx, "o0001", "application/merge-patch+json",
			[]byte(`{"data":{"v":"`+value+`"}}`), metav1.PatchOptions{}); err != nil {
			b.Fatal(err)
		}
		for {
			bb, _ := dyn.Resource(bind.Bindings).Get(ctx, "bench", metav1.GetOptions{})
			if bb != nil && bb.GetResourceVersion() != b0.GetResourceVersion() {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		bound := time.Since(start)
		for {
			dd, _ := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1").Get(ctx, "wds1.bench.0", metav1.GetOptions{})
			if dd != nil && dd.GetGeneration() != d0.GetGeneration() {
				break
			}
			time.Sleep(5 * time.Millisecond)
		}
		toBinding += bound
		toDelivery += time.Since(start)
		for j := 1; j <= wecs; j++ {
			wec := kubernetes.NewForConfigOrDie(env.Config(fmt.Sprintf("cluster%d", j)))
			for {
				cm, err := wec.CoreV1().ConfigMaps("bench").Get(ctx, "o0001", metav1.GetOptions{})
				if err == nil && cm.Data["v"] == value {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
		change += time.Since(start)
		time.Sleep(time.Second) // let the status writes land
		wecAfter := int64(0)
		for _, n := range wecWrites {
			wecAfter += n.Load()
		}
		itsPer += float64(itsWrites.Load() - itsBefore)
		wecPer += float64(wecAfter - wecBefore)
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(cold.Seconds(), "cold-s")
	b.ReportMetric(float64(objects*wecs)/cold.Seconds(), "cold-objects/s")
	b.ReportMetric(change.Seconds()*1000/n, "change-ms")
	b.ReportMetric(toBinding.Seconds()*1000/n, "to-binding-ms")
	b.ReportMetric(toDelivery.Seconds()*1000/n, "to-delivery-ms")
	b.ReportMetric(itsPer/n, "its-writes/change")
	b.ReportMetric(wecPer/n, "wec-writes/change")
}

func mustObject(t testing.TB, manifest string) *unstructured.Unstructured {
	t.Helper()
	var obj map[string]any
	if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: obj}
}
