package propagate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestDeletionOnlyByDecision: a WEC object is deleted only when the hub
// removed it. A Delivery or a Binding deleted by hand is written again
// and the WEC keeps its objects (same uids); an object unbound in the WDS,
// and a deleted policy's objects, leave the WEC; the tombstone the policy
// leaves goes once the agent has acknowledged it.
func TestDeletionOnlyByDecision(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	wds, its, wec := startHub(ctx, t, env)
	startAgent(ctx, t, env, time.Hour)
	wdsCore := kubernetes.NewForConfigOrDie(env.Config("wds1"))
	for _, ns := range []string{"team", "quiet"} { // bound Namespaces, each with a ConfigMap
		kept := map[string]string{"policy": "kept"}
		_, err := wdsCore.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: kept}}, metav1.CreateOptions{})
		require.NoError(t, err)
		_, err = wdsCore.CoreV1().ConfigMaps(ns).Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Labels: kept}}, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	createPolicy(ctx, t, wds, "kept")
	uids := func() map[string]types.UID {
		out := map[string]types.UID{}
		for _, name := range []string{"a", "b"} {
			if cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, name, metav1.GetOptions{}); err == nil {
				out[name] = cm.UID
			}
		}
		return out
	}
	require.Eventually(t, func() bool {
		_, err := wec.CoreV1().ConfigMaps("quiet").Get(ctx, "x", metav1.GetOptions{})
		done, problems := applied(t, its, "cluster1")
		return err == nil && len(uids()) == 2 && done && len(problems) == 0
	}, time.Minute, 50*time.Millisecond, "applied")
	before := uids()
	mailbox := its.Resource(propagate.Deliveries).Namespace("mailbox-cluster1")
	delivery := propagate.DeliveryName("wds1", "kept", 0)
	deliveryUID := func(name string) types.UID {
		d, err := mailbox.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return ""
		}
		return d.GetUID()
	}

	t.Run("a Delivery deleted by hand", func(t *testing.T) {
		first := deliveryUID(delivery)
		require.NoError(t, mailbox.Delete(ctx, delivery, metav1.DeleteOptions{}))
		require.Eventually(t, func() bool { u := deliveryUID(delivery); return u != "" && u != first }, 30*time.Second, 50*time.Millisecond,
			"the transport writes the Delivery again")
		require.Eventually(t, func() bool { return mailboxApplied(t, its) }, 30*time.Second, 50*time.Millisecond)
		assert.Equal(t, before, uids(), "the WEC objects were neither deleted nor recreated")
	})

	t.Run("a Binding deleted by hand", func(t *testing.T) {
		b, err := wds.Resource(bind.Bindings).Get(ctx, "kept", metav1.GetOptions{})
		require.NoError(t, err)
		require.NoError(t, wds.Resource(bind.Bindings).Delete(ctx, "kept", metav1.DeleteOptions{}))
		require.Eventually(t, func() bool {
			again, err := wds.Resource(bind.Bindings).Get(ctx, "kept", metav1.GetOptions{})
			return err == nil && again.GetUID() != b.GetUID()
		}, 30*time.Second, 50*time.Millisecond, "the bind controller writes the Binding again")
		time.Sleep(2 * time.Second) // what the transport and the agent would do meanwhile
		require.Eventually(t, func() bool { return mailboxApplied(t, its) }, 30*time.Second, 50*time.Millisecond)
		assert.Equal(t, before, uids(), "the WEC objects were neither deleted nor recreated")
	})

	t.Run("an object moving to another Binding is not removed", func(t *testing.T) {
		// e is bound by plain and by extra; plain lets it go while extra
		// still delivers it: plain's part 0 lists no removal of e; then
		// extra's Delivery is deleted by hand.
		createPolicy(ctx, t, wds, "plain")
		_, err := wds.Resource(bind.BindingPolicies).Create(ctx, mustObject(t, `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: extra}
spec:
  clusterSelectors: [{matchLabels: {site: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {extra: "yes"}}]}]`), metav1.CreateOptions{})
		require.NoError(t, err)
		for _, name := range []string{"d", "e"} { // d keeps plain's part 0 alive
			labels := map[string]string{"policy": "plain"}
			if name == "e" {
				labels["extra"] = "yes"
			}
			_, err := wdsCore.CoreV1().ConfigMaps("app").Create(ctx, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels}}, metav1.CreateOptions{})
			require.NoError(t, err)
		}
		extra := propagate.DeliveryName("wds1", "extra", 0)
		var uid types.UID
		require.Eventually(t, func() bool {
			cm, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "e", metav1.GetOptions{})
			if err != nil {
				return false
			}
			uid = cm.UID
			_, errD := wec.CoreV1().ConfigMaps("app").Get(ctx, "d", metav1.GetOptions{})
			_, errX := mailbox.Get(ctx, extra, metav1.GetOptions{})
			return errD == nil && errX == nil && mailboxApplied(t, its)
		}, 30*time.Second, 50*time.Millisecond)
		cm, err := wdsCore.CoreV1().ConfigMaps("app").Get(ctx, "e", metav1.GetOptions{})
		require.NoError(t, err)
		cm.Labels = map[string]string{"extra": "yes"} // plain lets it go
		_, err = wdsCore.CoreV1().ConfigMaps("app").Update(ctx, cm, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			b, err := wds.Resource(bind.Bindings).Get(ctx, "plain", metav1.GetOptions{})
			if err != nil {
				return false
			}
			gen, _, _ := unstructured.NestedInt64(b.Object, "status", "observedGeneration")
			return !strings.Contains(fmt.Sprint(b.Object["spec"]), "name:e ") && gen == b.GetGeneration() && mailboxApplied(t, its)
		}, 30*time.Second, 50*time.Millisecond, "plain lets e go, its Deliveries written and applied")
		p, err := mailbox.Get(ctx, propagate.DeliveryName("wds1", "plain", 0), metav1.GetOptions{})
		require.NoError(t, err)
		removed, _, _ := unstructured.NestedSlice(p.Object, "spec", "removed")
		assert.Empty(t, removed, "extra still delivers e: plain does not remove it")
		first := deliveryUID(extra)
		require.NoError(t, mailbox.Delete(ctx, extra, metav1.DeleteOptions{}))
		require.Eventually(t, func() bool { u := deliveryUID(extra); return u != "" && u != first }, 30*time.Second, 50*time.Millisecond,
			"the transport writes extra's Delivery again")
		require.Eventually(t, func() bool { return mailboxApplied(t, its) }, 30*time.Second, 50*time.Millisecond)
		got, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "e", metav1.GetOptions{})
		require.NoError(t, err, "e stays in the WEC")
		assert.Equal(t, uid, got.UID)
	})

	t.Run("an object unbound in the WDS leaves the WEC", func(t *testing.T) {
		cm, err := wdsCore.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
		require.NoError(t, err)
		cm.Labels = map[string]string{"policy": "none"}
		_, err = wdsCore.CoreV1().ConfigMaps("app").Update(ctx, cm, metav1.UpdateOptions{})
		require.NoError(t, err)
		require.Eventually(t, func() bool {
			_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "b", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}, 30*time.Second, 50*time.Millisecond, "the hub removed it: the agent deletes it")
		assert.Equal(t, before["a"], uids()["a"], "the other object stays")
		require.Eventually(t, func() bool {
			return hasEvent(ctx, t, env, "Normal", "Deleted", "ConfigMap app/b deleted from WEC cluster1: the hub removed it")
		}, 10*time.Second, 50*time.Millisecond, "the removal is an Event on the Delivery that listed it")
	})

	t.Run("a deleted policy's objects leave, and its tombstone goes", func(t *testing.T) {
		bystander := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "by-hand"}}
		_, err := wec.CoreV1().ConfigMaps("team").Create(ctx, bystander, metav1.CreateOptions{})
		require.NoError(t, err)
		require.NoError(t, wds.Resource(bind.BindingPolicies).Delete(ctx, "kept", metav1.DeleteOptions{}))
		require.Eventually(t, func() bool {
			_, err := wec.CoreV1().ConfigMaps("app").Get(ctx, "a", metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}, 30*time.Second, 50*time.Millisecond, "the policy's object leaves the WEC")
		require.Eventually(t, func() bool {
			_, err := mailbox.Get(ctx, delivery, metav1.GetOptions{})
			return apierrors.IsNotFound(err)
		}, 30*time.Second, 50*time.Millisecond, "the acknowledged tombstone goes")
		require.Eventually(t, func() bool {
			ns, err := wec.CoreV1().Namespaces().Get(ctx, "quiet", metav1.GetOptions{})
			return apierrors.IsNotFound(err) || (err == nil && ns.DeletionTimestamp != nil)
		}, 30*time.Second, 50*time.Millisecond, "a bound Namespace holding only what was delivered goes")
		ns, err := wec.CoreV1().Namespaces().Get(ctx, "team", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Nil(t, ns.DeletionTimestamp, "a bound Namespace holding an object nobody delivered stays")
		_, err = wec.CoreV1().ConfigMaps("team").Get(ctx, "by-hand", metav1.GetOptions{})
		assert.NoError(t, err, "and so does that object")
		_, err = wec.CoreV1().ConfigMaps("team").Get(ctx, "x", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the delivered object in it leaves: %v", err)
		assert.True(t, hasEvent(ctx, t, env, "Warning", "Kept", "Namespace team kept in WEC cluster1"), "the kept Namespace is an Event")
	})
}

// hasEvent tells whether an Event about a Delivery in cluster1's mailbox
// has the type and reason, and a message starting with prefix.
func hasEvent(ctx context.Context, t *testing.T, env *devenvtest.Env, eventType, reason, prefix string) bool {
	t.Helper()
	list, err := kubernetes.NewForConfigOrDie(env.Config("its1")).CoreV1().Events("mailbox-cluster1").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	for _, e := range list.Items {
		if e.InvolvedObject.Kind == "Delivery" && e.Type == eventType && e.Reason == reason && strings.HasPrefix(e.Message, prefix) {
			return true
		}
	}
	return false
}

// mailboxApplied tells whether cluster1's agent applied its whole mailbox.
func mailboxApplied(t *testing.T, its dynamic.Interface) bool {
	done, _ := applied(t, its, "cluster1")
	return done
}
