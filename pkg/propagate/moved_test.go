package propagate_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestObjectMovesBetweenBindings: an object that leaves one Binding while
// another Binding of the WDS binds it to the same WEC is not removed from
// the WEC (same uid, no removal listed); once no Binding binds it, it is.
func TestObjectMovesBetweenBindings(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, its, wec := startHub(ctx, t, env)
	startAgent(ctx, t, env, time.Hour)
	bindings := wds.Resource(bind.Bindings)
	binding := func(name string, objects ...string) *unstructured.Unstructured {
		var entries string
		for _, o := range objects {
			entries += fmt.Sprintf("{group: '', version: v1, resource: configmaps, namespace: app, name: %s, resourceVersion: '1'},", o)
		}
		return mustObject(t, fmt.Sprintf(`{apiVersion: control.kubestellar.io/v1alpha1, kind: Binding, metadata: {name: %s},
spec: {destinations: [{clusterId: cluster1}], workload: {namespaceScope: [%s]}}}`, name, entries))
	}
	synced := func(name string, generation int64) bool {
		b, err := bindings.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false
		}
		observed, _, _ := unstructured.NestedInt64(b.Object, "status", "observedGeneration")
		return b.GetGeneration() == generation && observed == generation
	}
	uid := func(name string) types.UID {
		cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return cm.UID
	}

	_, err := bindings.Create(ctx, binding("first", "a"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return uid("a") != "" && mailboxApplied(t, its) }, time.Minute, 50*time.Millisecond, "a applied")
	first := uid("a")
	_, err = bindings.Create(ctx, binding("second", "a"), metav1.CreateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return synced("second", 1) && mailboxApplied(t, its) }, time.Minute, 50*time.Millisecond, "second delivered")

	moved := binding("first", "b")
	current, err := bindings.Get(ctx, "first", metav1.GetOptions{})
	require.NoError(t, err)
	moved.SetResourceVersion(current.GetResourceVersion())
	_, err = bindings.Update(ctx, moved, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return synced("first", 2) && uid("b") != "" && mailboxApplied(t, its) }, time.Minute, 50*time.Millisecond, "b applied")
	part0, err := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1").Get(ctx, propagate.DeliveryName("wds1", "first", 0), metav1.GetOptions{})
	require.NoError(t, err)
	removed, _, _ := unstructured.NestedSlice(part0.Object, "spec", "removed")
	assert.Empty(t, removed, "a moved to the other Binding: not removed")
	assert.Never(t, func() bool { return uid("a") != first }, 2*time.Second, 100*time.Millisecond, "a stays, the same object")

	require.NoError(t, bindings.Delete(ctx, "second", metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, time.Minute, 50*time.Millisecond, "bound nowhere, a leaves the WEC")
	assert.NotEmpty(t, uid("b"), "b stays")
}
