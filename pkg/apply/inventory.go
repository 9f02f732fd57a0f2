package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// InventoryNamespace holds the inventories in each space.
const InventoryNamespace = "gitstellar-system"

// inventoryKey is the ConfigMap key of the inventory.
const inventoryKey = "inventory.json"

// Inventory is what one source applied into one space.
type Inventory struct {
	Source string `json:"source"`
	// Revision is the revision that last changed the entries: a revision
	// that leaves the set of objects as it was does not write the
	// inventory again (one write less per commit in every space).
	Revision string           `json:"revision,omitempty"`
	Entries  []InventoryEntry `json:"entries"`
}

// InventoryEntry identifies an object as Flux does:
// ID "<namespace>_<name>_<group>_<kind>", and its version.
type InventoryEntry struct {
	ID      string `json:"id"`
	Version string `json:"v"`
}

func entryOf(k render.Key, version string) InventoryEntry {
	return InventoryEntry{ID: strings.Join([]string{k.Namespace, k.Name, k.Group, k.Kind}, "_"), Version: version}
}

func (e InventoryEntry) key() (render.Key, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 {
		return render.Key{}, fmt.Errorf("inventory entry %q: want <namespace>_<name>_<group>_<kind>", e.ID)
	}
	return render.Key{Namespace: parts[0], Name: parts[1], Group: parts[2], Kind: parts[3]}, nil
}

func (e InventoryEntry) gvk() schema.GroupVersionKind {
	k, _ := e.key()
	return schema.GroupVersionKind{Group: k.Group, Version: e.Version, Kind: k.Kind}
}

// sameAs tells whether two inventories hold the same entries.
func (inv *Inventory) sameAs(o *Inventory) bool {
	if inv.Source != o.Source || len(inv.Entries) != len(o.Entries) {
		return false
	}
	a, b := slices.Clone(inv.Entries), slices.Clone(o.Entries)
	byID := func(x, y InventoryEntry) int { return strings.Compare(x.ID, y.ID) }
	slices.SortFunc(a, byID)
	slices.SortFunc(b, byID)
	return slices.Equal(a, b)
}

func inventoryName(source string) string { return "inventory." + source }

// loadInventory reads the inventory of a source, empty when there is none.
func loadInventory(ctx context.Context, c client.Client, source string) (*Inventory, error) {
	var cm corev1.ConfigMap
	err := c.Get(ctx, client.ObjectKey{Namespace: InventoryNamespace, Name: inventoryName(source)}, &cm)
	if apierrors.IsNotFound(err) {
		return &Inventory{Source: source}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s/%s: %w", InventoryNamespace, inventoryName(source), err)
	}
	var inv Inventory
	if err := json.Unmarshal([]byte(cm.Data[inventoryKey]), &inv); err != nil {
		return nil, fmt.Errorf("inventory %s/%s: %w", InventoryNamespace, inventoryName(source), err)
	}
	return &inv, nil
}

// saveInventory writes the inventory with server-side apply.
func saveInventory(ctx context.Context, c client.Client, inv *Inventory) error {
	slices.SortFunc(inv.Entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	labels := map[string]string{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: InventoryNamespace, Name: inventoryName(inv.Source), Labels: labels},
		Data:       map[string]string{inventoryKey: string(data)},
	}
	write := func() error {
		return c.Patch(ctx, cm.DeepCopy(), client.Apply, client.FieldOwner(gitstellarv1alpha1.FieldManager), client.ForceOwnership) //nolint:staticcheck // typed apply of a built-in
	}
	// The namespace is created with the first inventory, or when it went:
	// not applied again at every revision.
	err = write()
	if apierrors.IsNotFound(err) {
		ns := &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: InventoryNamespace, Labels: labels},
		}
		if err := c.Patch(ctx, ns, client.Apply, client.FieldOwner(gitstellarv1alpha1.FieldManager)); err != nil { //nolint:staticcheck // typed apply of a built-in
			return fmt.Errorf("namespace %s: %w", InventoryNamespace, err)
		}
		err = write()
	}
	if err != nil {
		return fmt.Errorf("write inventory %s/%s: %w", InventoryNamespace, inventoryName(inv.Source), err)
	}
	return nil
}
