package report

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// TestEntriesCurrentAcrossGenerations: a Delivery written again for one
// changed object leaves the other objects it carries current while its
// agent has not reported the new generation, since the agent applied
// exactly them; the changed object is pending. Without the earlier
// generation seen, every object is pending until the agent reports.
func TestEntriesCurrentAcrossGenerations(t *testing.T) {
	configMap := func(name, value string) gitstellarv1alpha1.DeliveryEntry {
		raw := fmt.Sprintf(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":%q,"namespace":"app"},"data":{"v":%q}}`, name, value)
		return gitstellarv1alpha1.DeliveryEntry{Object: runtime.RawExtension{Raw: []byte(raw)}}
	}
	delivery := func(generation, observed int64, entries ...gitstellarv1alpha1.DeliveryEntry) *unstructured.Unstructured {
		payload, err := propagate.EncodeEntries(entries)
		require.NoError(t, err)
		var statusEntries []any
		for _, e := range entries {
			var o map[string]any
			require.NoError(t, json.Unmarshal(e.Object.Raw, &o))
			statusEntries = append(statusEntries, map[string]any{"version": "v1", "kind": "ConfigMap", "namespace": "app",
				"name": o["metadata"].(map[string]any)["name"], "result": "Applied", "health": "Current"})
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "gitstellar.io/v1alpha1", "kind": "Delivery",
			"metadata": map[string]any{"name": "wds1-app-0", "namespace": "mailbox-c1", "uid": "u1", "generation": generation,
				"resourceVersion": fmt.Sprint(generation*10 + observed),
				"labels":          map[string]any{gitstellarv1alpha1.LabelWDS: "wds1", gitstellarv1alpha1.LabelBinding: "app", gitstellarv1alpha1.LabelCluster: "c1"}},
			"spec":   map[string]any{"payload": base64.StdEncoding.EncodeToString(payload)},
			"status": map[string]any{"observedGeneration": observed, "entries": statusEntries},
		}}
	}
	newController := func() (*StatusController, cache.Indexer) {
		inf := cache.NewSharedIndexInformer(&cache.ListWatch{}, &unstructured.Unstructured{}, 0,
			cache.Indexers{propagate.DeliveriesByBinding: func(o any) ([]string, error) {
				l := o.(*unstructured.Unstructured).GetLabels()
				return []string{propagate.DeliveryBindingKey(l[gitstellarv1alpha1.LabelWDS], l[gitstellarv1alpha1.LabelBinding])}, nil
			}})
		return &StatusController{opts: StatusOptions{WDS: "wds1"}, deliveries: inf}, inf.GetIndexer()
	}
	current := func(c *StatusController) map[string]bool {
		out := map[string]bool{}
		entries := c.entriesOf("app")
		for _, key := range []string{"/app/a", "/app/b"} {
			e := entries.entry("c1", key)
			require.NotNil(t, e, key)
			out[key] = e.current
		}
		return out
	}

	c, store := newController()
	require.NoError(t, store.Add(delivery(1, 1, configMap("a", "1"), configMap("b", "1"))))
	assert.Equal(t, map[string]bool{"/app/a": true, "/app/b": true}, current(c), "generation 1, reported")
	require.NoError(t, store.Update(delivery(2, 1, configMap("a", "2"), configMap("b", "1"))))
	assert.Equal(t, map[string]bool{"/app/a": false, "/app/b": true}, current(c), "generation 2 changes a only; the agent reported generation 1")
	require.NoError(t, store.Update(delivery(2, 2, configMap("a", "2"), configMap("b", "1"))))
	assert.Equal(t, map[string]bool{"/app/a": true, "/app/b": true}, current(c), "generation 2, reported")

	c, store = newController()
	require.NoError(t, store.Add(delivery(2, 1, configMap("a", "2"), configMap("b", "1"))))
	assert.Equal(t, map[string]bool{"/app/a": false, "/app/b": false}, current(c), "generation 1 never seen: nothing is known current")
}
