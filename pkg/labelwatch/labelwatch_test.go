package labelwatch_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"
	"k8s.io/utils/ptr"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/labelwatch"
)

var (
	deployments = schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}
	configMaps  = schema.GroupVersionKind{Version: "v1", Kind: "ConfigMap"}
)

// TestLiveWithStatus: a kind watched with its status gives, from the
// watch alone, the status a controller wrote and the spec fields health
// is computed from, not the rest of the spec; a kind watched by metadata
// alone gives its metadata and nothing of its content; a status write is
// told apart from other changes; objects without the label are not seen.
func TestLiveWithStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := env.Config("cluster1")
	cs := kubernetes.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	var (
		mu      sync.Mutex
		changes []string
	)
	w, err := labelwatch.New(cfg, mapper, labelwatch.Options{Selector: "writer=test",
		WithStatus: func(gvk schema.GroupVersionKind) bool { return gvk != configMaps },
		Changed: func(gvk schema.GroupVersionKind, namespace, name, _ string, statusOnly bool) {
			mu.Lock()
			defer mu.Unlock()
			what := gvk.Kind + " " + name
			if statusOnly {
				what += " status"
			}
			changes = append(changes, what)
		}})
	require.NoError(t, err)
	w.Start(ctx)
	w.Ensure(deployments)
	w.Ensure(configMaps)

	labels := map[string]string{"writer": "test", "app": "web"}
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "cm", Labels: labels},
		Data: map[string]string{"secret-ish": "value"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = cs.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "other"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	d, err := cs.AppsV1().Deployments("default").Create(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](3), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "nginx"}}}}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 3, ReadyReplicas: 2}
	d, err = cs.AppsV1().Deployments("default").UpdateStatus(ctx, d, metav1.UpdateOptions{})
	require.NoError(t, err)

	var live *unstructured.Unstructured
	require.Eventually(t, func() bool {
		live, _ = w.Live(deployments, "default", "web")
		return live != nil && live.GetResourceVersion() == d.ResourceVersion
	}, 30*time.Second, 20*time.Millisecond, "the status write reaches the watch")
	ready, _, _ := unstructured.NestedInt64(live.Object, "status", "readyReplicas")
	assert.Equal(t, int64(2), ready)
	replicas, _, _ := unstructured.NestedInt64(live.Object, "spec", "replicas")
	assert.Equal(t, int64(3), replicas)
	_, hasTemplate, _ := unstructured.NestedFieldNoCopy(live.Object, "spec", "template")
	assert.False(t, hasTemplate, "the pod template is not held")
	assert.Equal(t, d.Generation, live.GetGeneration())

	var cm *unstructured.Unstructured
	require.Eventually(t, func() bool {
		cm, _ = w.Live(configMaps, "default", "cm")
		return cm != nil
	}, 30*time.Second, 20*time.Millisecond)
	assert.NotContains(t, cm.Object, "data", "a kind watched by metadata holds none of its content")
	other, watched := w.Live(configMaps, "default", "other")
	assert.True(t, watched)
	assert.Nil(t, other, "an object without the label is not seen")
	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, changes, "Deployment web status")
	assert.Contains(t, changes, "ConfigMap cm")
}
