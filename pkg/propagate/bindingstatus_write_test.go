package propagate_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"

	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestBindingStatusFromAStaleCache: the transport decides whether a
// Binding's status needs writing against the status it last wrote when
// its cache does not show that write yet. Compared with the cache alone,
// errors written and then gone would stay in the Binding.
func TestBindingStatusFromAStaleCache(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 0, Bare: true})
	ctx := context.Background()
	cfg := env.Config("wds1")
	_, err := crds.Install(ctx, cfg, crds.RoleWDS, crds.InstallOptions{})
	require.NoError(t, err)
	bindings := dynamic.NewForConfigOrDie(cfg).Resource(propagate.Bindings)
	created, err := bindings.Create(ctx, mustObject(t, `{apiVersion: control.kubestellar.io/v1alpha1, kind: Binding, metadata: {name: b}, spec: {}}`), metav1.CreateOptions{})
	require.NoError(t, err)
	transport, err := propagate.NewTransport(propagate.TransportOptions{WDS: "wds1", WDSConfig: cfg, ITSConfig: env.Config("its1")})
	require.NoError(t, err)
	store := transport.BindingStore() // not running: it shows what the test puts there
	require.NoError(t, store.Add(created))
	errorsOf := func() []string {
		u, err := bindings.Get(ctx, "b", metav1.GetOptions{})
		require.NoError(t, err)
		errs, _, _ := unstructured.NestedStringSlice(u.Object, "status", "errors")
		return errs
	}

	require.NoError(t, transport.WriteBindingStatusAfterSync(ctx, "b", created.GetGeneration(), nil))
	settled, err := bindings.Get(ctx, "b", metav1.GetOptions{})
	require.NoError(t, err)
	gen, _, _ := unstructured.NestedInt64(settled.Object, "status", "observedGeneration")
	require.Equal(t, created.GetGeneration(), gen)
	require.NoError(t, store.Update(settled)) // the cache shows that status, and no later one

	require.NoError(t, transport.WriteBindingStatusAfterSync(ctx, "b", created.GetGeneration(), []string{"cluster1: ConfigMap app/a: bad"}))
	assert.Equal(t, []string{"cluster1: ConfigMap app/a: bad"}, errorsOf())
	require.NoError(t, transport.WriteBindingStatusAfterSync(ctx, "b", created.GetGeneration(), nil))
	assert.Empty(t, errorsOf(), "the errors go, though the cache never showed them")
}
