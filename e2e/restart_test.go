package e2e

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestNothingDeletedOnAGuess: gitstellar run killed five times in a row in
// the middle of delivering 300 objects to two WECs, then a Binding and a
// Delivery deleted by hand, then a WEC stopped for a minute while a change
// is pushed: every object arrives, the change reaches both WECs, and no
// WEC object is ever deleted (or so recreated) on the way, as watches of
// both WECs see from the start.
func TestNothingDeletedOnAGuess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	const objects = 300
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, true), Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, repo, _ := serveExample(t, "restarts")
	var bulk strings.Builder
	for i := range objects {
		fmt.Fprintf(&bulk, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: bulk-%03d, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\ndata: {v: \"1\"}\n", i)
	}
	repo.Write(t, map[string]string{"wds1/bulk/objects.yaml": bulk.String()})
	repo.Commit(t, "300 objects")
	repo.Push(t, "main")

	wecs := map[string]*kubernetes.Clientset{}
	deleted := &eventLog{}
	for _, name := range []string{"cluster1", "cluster2"} {
		wecs[name] = kubernetes.NewForConfigOrDie(env.Config(name))
		for _, kind := range []string{"configmaps", "namespaces", "deployments"} {
			watchDeletions(ctx, t, env, name, kind, deleted)
		}
	}
	inWEC := func(name string) int {
		l, err := wecs[name].CoreV1().ConfigMaps("nginx").List(ctx, metav1.ListOptions{})
		if err != nil {
			return -1
		}
		n := 0
		for _, cm := range l.Items {
			if strings.HasPrefix(cm.Name, "bulk-") && cm.Data["v"] == "1" {
				n++
			}
		}
		return n
	}
	cache := t.TempDir()
	start := func(name string) *process {
		return startProcess(t, name, bin, "run", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", cache,
			"--interval", "2s", "--status-branch", "", "--log-format", "json")
	}

	// Killed five times in a row, each time after some more objects arrived.
	for i := 1; i <= 5; i++ {
		target := min(objects, max(0, inWEC("cluster1"))+objects/8)
		p := start(fmt.Sprintf("run-%d", i))
		require.Eventually(t, func() bool { return inWEC("cluster1") >= target },
			2*time.Minute, 20*time.Millisecond, "run %d delivers some more objects", i)
		require.NoError(t, p.cmd.Process.Kill())
		<-p.done
		t.Logf("run %d killed with %d objects in cluster1, %d in cluster2", i, inWEC("cluster1"), inWEC("cluster2"))
	}
	final := start("run-final")
	converged := func() bool { return inWEC("cluster1") == objects && inWEC("cluster2") == objects }
	require.Eventually(t, converged, 3*time.Minute, 100*time.Millisecond, "every object in both WECs: %d, %d", inWEC("cluster1"), inWEC("cluster2"))
	assert.Empty(t, deleted.list(), "no WEC object deleted across five hub restarts")

	// A Binding and a Delivery deleted by hand come back; the WECs keep
	// their objects.
	wds := dynamic.NewForConfigOrDie(env.Config("wds1"))
	its := dynamic.NewForConfigOrDie(env.Config("its1"))
	binding, err := wds.Resource(bind.Bindings).Get(ctx, "nginx-bpolicy", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, wds.Resource(bind.Bindings).Delete(ctx, "nginx-bpolicy", metav1.DeleteOptions{}))
	mailbox := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	delivery, err := mailbox.Get(ctx, "wds1.nginx-bpolicy.0", metav1.GetOptions{})
	require.NoError(t, err)
	require.NoError(t, mailbox.Delete(ctx, "wds1.nginx-bpolicy.0", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		b, err := wds.Resource(bind.Bindings).Get(ctx, "nginx-bpolicy", metav1.GetOptions{})
		d, err2 := mailbox.Get(ctx, "wds1.nginx-bpolicy.0", metav1.GetOptions{})
		return err == nil && err2 == nil && b.GetUID() != binding.GetUID() && d.GetUID() != delivery.GetUID()
	}, time.Minute, 50*time.Millisecond, "the Binding and the Delivery are written again")
	time.Sleep(3 * time.Second) // what an agent would do with a missing Delivery, it would have done
	assert.True(t, converged())
	assert.Empty(t, deleted.list(), "no WEC object deleted for a Binding or a Delivery deleted by hand")

	// cluster2 stopped for a minute while a change is pushed: cluster1 gets
	// it at once, cluster2 when it is back; nothing is deleted in either.
	require.NoError(t, env.Kill("cluster2-apiserver"))
	repo.Write(t, map[string]string{"wds1/bulk/objects.yaml": strings.Replace(bulk.String(), "name: bulk-007, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\ndata: {v: \"1\"}", "name: bulk-007, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\ndata: {v: \"2\"}", 1)})
	repo.Commit(t, "change bulk-007")
	repo.Push(t, "main")
	changed := func(name string) bool {
		cm, err := wecs[name].CoreV1().ConfigMaps("nginx").Get(ctx, "bulk-007", metav1.GetOptions{})
		return err == nil && cm.Data["v"] == "2"
	}
	require.Eventually(t, func() bool { return changed("cluster1") }, time.Minute, 50*time.Millisecond, "cluster1 gets the change")
	time.Sleep(time.Minute)
	_, err = devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), Layout: exampleLayout(t, true), Bare: true, StopWithParent: true})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return changed("cluster2") }, 2*time.Minute, 100*time.Millisecond, "cluster2 gets it when back")
	assert.Empty(t, deleted.list(), "no WEC object deleted for a WEC stopped a minute")
	assert.Equal(t, objects-1, inWEC("cluster2"))
	final.stop(t, os.Interrupt, 30*time.Second)
}

// eventLog collects what the watches saw deleted.
type eventLog struct {
	mu      sync.Mutex
	entries []string
}

func (l *eventLog) add(s string) {
	l.mu.Lock()
	l.entries = append(l.entries, s)
	l.mu.Unlock()
}

func (l *eventLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.entries...)
}

// watchDeletions records every deletion of a resource in a WEC from now
// on, across the WEC's apiserver restarts (the watch resumes from the
// last resourceVersion it saw, which etcd keeps).
func watchDeletions(ctx context.Context, t *testing.T, env *devenvtest.Env, wec, resource string, log *eventLog) {
	t.Helper()
	gvr := schema.GroupVersionResource{Version: "v1", Resource: resource}
	if resource == "deployments" {
		gvr.Group = "apps"
	}
	client := dynamic.NewForConfigOrDie(env.Config(wec)).Resource(gvr)
	list, err := client.List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.GetResourceVersion(), &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) { return client.Watch(ctx, o) },
	})
	require.NoError(t, err)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			if ev.Type != watch.Deleted {
				continue
			}
			if m, err := meta.Accessor(ev.Object); err == nil {
				log.add(fmt.Sprintf("%s: %s %s/%s", wec, resource, m.GetNamespace(), m.GetName()))
			}
		}
	}()
}
