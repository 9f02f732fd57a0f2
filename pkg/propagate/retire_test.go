package propagate_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestRetirer: a WDS that left its ITS has its Deliveries retired — its
// objects leave the WEC, except those marked orphan — and nothing else
// is touched: not the Deliveries of a WDS that stays, not those of
// another source.
func TestRetirer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hubCtx, stopHub := context.WithCancel(ctx)
	wds, its, wec := startHubOf(hubCtx, t, env, "demo")
	startAgent(ctx, t, env, time.Hour)
	_, err := kubernetes.NewForConfigOrDie(env.Config("wds1")).CoreV1().ConfigMaps("app").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "kept-in-wec", Labels: map[string]string{"policy": "kept"},
			Annotations: map[string]string{gitstellarv1alpha1.AnnotationDeletion: gitstellarv1alpha1.DeletionOrphan}}}, metav1.CreateOptions{})
	require.NoError(t, err)
	createPolicy(ctx, t, wds, "kept")
	mailbox := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	inWEC := func(name string) bool {
		_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{})
		require.True(t, err == nil || apierrors.IsNotFound(err), "%v", err)
		return err == nil
	}
	require.Eventually(t, func() bool {
		done, problems := applied(t, its, "cluster1")
		return done && len(problems) == 0 && inWEC("a") && inWEC("b") && inWEC("kept-in-wec")
	}, time.Minute, 50*time.Millisecond, "delivered")
	// A Delivery of another source (another repository sharing the ITS).
	_, err = mailbox.Create(ctx, mustObject(t, `
apiVersion: gitstellar.io/v1alpha1
kind: Delivery
metadata:
  name: `+propagate.DeliveryName("wds9", "theirs", 0)+`
  labels: {gitstellar.io/source: other, gitstellar.io/wds: wds9, gitstellar.io/binding: theirs, gitstellar.io/cluster: cluster1}
spec: {source: {wds: wds9, binding: theirs}, part: 0, parts: 1}`), metav1.CreateOptions{})
	require.NoError(t, err)
	ours := func() int {
		list, err := mailbox.List(ctx, metav1.ListOptions{LabelSelector: apply.LabelSource + "=demo"})
		require.NoError(t, err)
		return len(list.Items)
	}
	require.Positive(t, ours(), "the transport marks its Deliveries with its source")

	retirer, err := propagate.NewRetirer(propagate.RetirerOptions{ITS: "its1", Source: "demo", ITSConfig: env.Config("its1")})
	require.NoError(t, err)
	go func() { _ = retirer.Run(ctx) }()
	retirer.Keep([]string{"wds1"})
	time.Sleep(2 * time.Second) // what it would do meanwhile
	require.Eventually(t, retirer.Idle, 10*time.Second, 50*time.Millisecond)
	assert.Positive(t, ours(), "the Deliveries of a WDS that stays are kept")
	assert.True(t, inWEC("a"))

	// wds1 leaves: its controllers stop, then the Retirer is told.
	assert.Empty(t, retirer.Retiring())
	stopHub()
	retirer.Keep(nil)
	assert.Equal(t, []string{"cluster1"}, retirer.Retiring(), "cluster1's mailbox holds Deliveries to retire")
	require.Eventually(t, func() bool { return ours() == 0 && !inWEC("a") && !inWEC("b") }, time.Minute, 100*time.Millisecond,
		"wds1's objects leave the WEC and its Deliveries the ITS")
	assert.True(t, inWEC("kept-in-wec"), "an object marked orphan stays in the WEC")
	assert.Empty(t, retirer.Retiring())
	_, err = mailbox.Get(ctx, propagate.DeliveryName("wds9", "theirs", 0), metav1.GetOptions{})
	assert.NoError(t, err, "another source's Delivery is not touched")
}
