package propagate_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

// TestAdoptUnmanaged: objects already in the WEC that gitstellar did not
// create are conflicts by default; a policy annotated gitstellar.io/adopt:
// unmanaged takes over those that no other GitOps tool manages
// (KubeStellar's behaviour), not one Flux manages; the WDS object's own
// gitstellar.io/adopt: "true" takes over that one too.
func TestAdoptUnmanaged(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, _, wec := startHub(ctx, t, env)
	for name, labels := range map[string]map[string]string{"a": nil, "b": {"kustomize.toolkit.fluxcd.io/name": "apps"}} {
		_, err := wec.CoreV1().ConfigMaps("app").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
			Data: map[string]string{"from": "by hand"}}, metav1.CreateOptions{FieldManager: "kubectl-create"})
		require.NoError(t, err)
	}
	startAgent(ctx, t, env, time.Hour)
	from := func(name string) string {
		cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err.Error()
		}
		return cm.Data["from"]
	}
	createPolicy(ctx, t, wds, "kept")
	require.Eventually(t, func() bool { return len(bindingErrors(t, wds, "kept")) == 2 }, time.Minute, 50*time.Millisecond,
		"both are conflicts by default: %v", bindingErrors(t, wds, "kept"))
	assert.Equal(t, "by hand", from("a"))

	policy, err := wds.Resource(bind.BindingPolicies).Get(ctx, "kept", metav1.GetOptions{})
	require.NoError(t, err)
	policy.SetAnnotations(map[string]string{"gitstellar.io/adopt": "unmanaged"})
	_, err = wds.Resource(bind.BindingPolicies).Update(ctx, policy, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return from("a") == "wds1" }, time.Minute, 50*time.Millisecond, "the unmanaged object is taken over")
	require.Eventually(t, func() bool {
		errs := bindingErrors(t, wds, "kept")
		return len(errs) == 1 && strings.Contains(errs[0], "ConfigMap app/b: Conflict: managed in the WEC by Flux (kustomize.toolkit.fluxcd.io/name=apps)")
	}, time.Minute, 50*time.Millisecond, "Flux's object stays a conflict: %v", bindingErrors(t, wds, "kept"))
	assert.Equal(t, "by hand", from("b"))

	wdsCore := kubernetes.NewForConfigOrDie(env.Config("wds1"))
	b, err := wdsCore.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
	require.NoError(t, err)
	b.Annotations = map[string]string{"gitstellar.io/adopt": "true"}
	_, err = wdsCore.CoreV1().ConfigMaps("app").Update(ctx, b, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool { return from("b") == "wds1" && len(bindingErrors(t, wds, "kept")) == 0 }, time.Minute, 50*time.Millisecond,
		"the object's own annotation takes it over from Flux: %v", bindingErrors(t, wds, "kept"))
}
