package propagate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestCustomTransformStatus: the transport writes the paths of a
// CustomTransform that do not parse into its status.errors, with
// observedGeneration, clears them when fixed, and writes nothing more once
// the status says so.
func TestCustomTransformStatus(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, _, _ := startHub(ctx, t, env)
	cts := wds.Resource(propagate.CustomTransforms)
	ct, err := cts.Create(ctx, mustObject(t, `
apiVersion: control.kubestellar.io/v1alpha1
kind: CustomTransform
metadata: {name: cm}
spec: {apiGroup: "", resource: configmaps, remove: ["$.data.from", "$.metadata", "$.data[?(@.a == 1 & @.b)]"]}`), metav1.CreateOptions{})
	require.NoError(t, err)
	status := func() (int64, []string) {
		u, err := cts.Get(ctx, "cm", metav1.GetOptions{})
		require.NoError(t, err)
		gen, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
		errs, _, _ := unstructured.NestedStringSlice(u.Object, "status", "errors")
		return gen, errs
	}
	want := []string{
		`spec.remove[1]: path "$.metadata": it would remove metadata, which is not allowed (apiVersion, kind, metadata, metadata.name and metadata.namespace stay)`,
		`spec.remove[2]: path "$.data[?(@.a == 1 & @.b)]": column 19: unexpected '&', want ')', && or ||`,
	}
	require.Eventually(t, func() bool {
		gen, errs := status()
		return gen == 1 && assert.ObjectsAreEqual(want, errs)
	}, time.Minute, 50*time.Millisecond, "the errors reach the status")
	assert.Equal(t, want, propagate.CheckCustomTransform(ct), "the same words offline")

	ct, err = cts.Get(ctx, "cm", metav1.GetOptions{}) // with its status
	require.NoError(t, err)
	require.NoError(t, unstructured.SetNestedStringSlice(ct.Object, []string{"$.data.from"}, "spec", "remove"))
	_, err = cts.Update(ctx, ct, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		gen, errs := status()
		return gen == 2 && len(errs) == 0
	}, time.Minute, 50*time.Millisecond, "fixed, the errors go")
	settled, err := cts.Get(ctx, "cm", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Never(t, func() bool {
		u, err := cts.Get(ctx, "cm", metav1.GetOptions{})
		return err != nil || u.GetResourceVersion() != settled.GetResourceVersion()
	}, time.Second, 100*time.Millisecond, "no write once the status is right")
}
