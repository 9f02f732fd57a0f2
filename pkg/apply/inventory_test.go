package apply_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/gitstellar/gitstellar/pkg/apply"
)

// TestInventoryEarlierAgentFormat: an agent's inventory written before
// every applier kept the same format (a map "objects") is read, so that an
// upgraded agent still knows what it created; the next save writes the
// one format.
func TestInventoryEarlierAgentFormat(t *testing.T) {
	ctx := context.Background()
	old := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "gitstellar-system", Name: "agent-inventory"},
		Data: map[string]string{"inventory.json": `{"objects":{` +
			`"apps/Deployment/web/front":{"apiVersion":"apps/v1","kind":"Deployment","namespace":"web","name":"front"},` +
			`"/Namespace//web":{"apiVersion":"v1","kind":"Namespace","name":"web","orphan":true}}}`}}
	c := fake.NewClientBuilder().WithObjects(old).Build()
	store := apply.InventoryStore{Client: c, Namespace: "gitstellar-system", Name: "agent-inventory"}
	inv, err := store.Load(ctx, "cluster1")
	require.NoError(t, err)
	assert.Equal(t, "cluster1", inv.Source)
	assert.Equal(t, []apply.InventoryEntry{
		{ID: "_web__Namespace", Version: "v1", Orphan: true},
		{ID: "web_front_apps_Deployment", Version: "v1"},
	}, inv.Entries, "sorted by ID")
	assert.Equal(t, schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, inv.Entries[1].GVK())

	require.NoError(t, store.Save(ctx, inv))
	var saved corev1.ConfigMap
	require.NoError(t, c.Get(ctx, client.ObjectKeyFromObject(old), &saved))
	assert.NotContains(t, saved.Data["inventory.json"], `"objects"`)
	again, err := store.Load(ctx, "cluster1")
	require.NoError(t, err)
	assert.Equal(t, inv.Entries, again.Entries)
}
