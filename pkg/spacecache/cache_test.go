package spacecache_test

import (
	"context"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
)

// TestSharedInformers, on a real apiserver: components asking for the
// same objects share one informer, whose indexes add up; an informer asked
// for after Start runs at once; a handler leaves when its component's
// context ends, while the informer goes on for the others; and the
// informers stop with the Cache's context.
func TestSharedInformers(t *testing.T) {
	env := devenvtest.Start(t, devenvtest.Options{Bare: true})
	cfg := env.Config("wds1")
	kube := kubernetes.NewForConfigOrDie(cfg)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	c, err := spacecache.New(cfg)
	require.NoError(t, err)
	configMaps := corev1.SchemeGroupVersion.WithResource("configmaps")
	byData := func(o any) ([]string, error) { return []string{"x"}, nil }

	a, err := c.Informer(configMaps, spacecache.Filter{Labels: "app=shared"}, cache.Indexers{"a": byData})
	require.NoError(t, err)
	b, err := c.Informer(configMaps, spacecache.Filter{Labels: "app=shared"}, cache.Indexers{"b": byData, "a": byData})
	require.NoError(t, err)
	assert.Same(t, a, b, "the same resource and filter: one informer")
	other, err := c.Informer(configMaps, spacecache.Filter{Namespace: "default"}, nil)
	require.NoError(t, err)
	assert.NotSame(t, a, other)
	assert.Equal(t, 2, c.Informers())
	assert.Contains(t, a.GetIndexer().GetIndexers(), "a")
	assert.Contains(t, a.GetIndexer().GetIndexers(), "b")
	assert.Contains(t, a.GetIndexer().GetIndexers(), cache.NamespaceIndex)

	_, err = kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "one", Labels: map[string]string{"app": "shared"}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = kube.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "two"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	var first, second atomic.Int32
	count := func(n *atomic.Int32) cache.ResourceEventHandler {
		return cache.ResourceEventHandlerFuncs{AddFunc: func(any) { n.Add(1) }, UpdateFunc: func(any, any) { n.Add(1) }}
	}
	componentCtx, stopComponent := context.WithCancel(ctx)
	_, err = spacecache.Handle(componentCtx, a, count(&first))
	require.NoError(t, err)
	_, err = spacecache.Handle(ctx, b, count(&second))
	require.NoError(t, err)
	c.Start(ctx)
	c.Start(context.Background()) // only the first Start counts
	require.True(t, spacecache.WaitForSync(ctx, a, other))
	assert.Len(t, a.GetStore().List(), 1, "the label selector holds")
	assert.Empty(t, a.GetStore().List()[0].(*unstructured.Unstructured).GetManagedFields(), "the cache holds no field ownership")
	assert.Len(t, other.GetStore().List(), 2)
	late, err := c.Informer(configMaps, spacecache.Filter{}, nil)
	require.NoError(t, err)
	require.True(t, spacecache.WaitForSync(ctx, late), "asked for after Start: running")
	assert.GreaterOrEqual(t, len(late.GetStore().List()), 2)
	require.Eventually(t, func() bool { return first.Load() == 1 && second.Load() == 1 }, 10*time.Second, 10*time.Millisecond)

	stopComponent()
	time.Sleep(100 * time.Millisecond) // the handler's removal is asynchronous
	one, err := kube.CoreV1().ConfigMaps("default").Get(ctx, "one", metav1.GetOptions{})
	require.NoError(t, err)
	one.Data = map[string]string{"k": "v"}
	_, err = kube.CoreV1().ConfigMaps("default").Update(ctx, one, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return second.Load() == 2 }, 10*time.Second, 10*time.Millisecond,
		"the informer goes on for the other handler")
	assert.Equal(t, int32(1), first.Load(), "the stopped component's handler is gone")

	stop()
	require.Eventually(t, a.IsStopped, 10*time.Second, 10*time.Millisecond, "the informers end with the Cache's context")
	assert.True(t, late.IsStopped())
}

// TestCaches: a component uses the shared cache it was given, and makes
// its own only without one.
func TestCaches(t *testing.T) {
	var caches spacecache.Caches
	shared := spacecache.NewForClient(nil)
	assert.Same(t, shared, caches.Use(shared, nil))
	own := caches.Use(nil, nil)
	require.NotNil(t, own)
	assert.NotSame(t, shared, own)
	assert.NotSame(t, own, caches.Use(nil, nil), "one per space")
}
