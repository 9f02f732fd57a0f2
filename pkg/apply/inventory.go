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

// InventoryNamespace holds the inventories in each space, and by default
// the agent's in each WEC.
const InventoryNamespace = "gitstellar-system"

// inventoryKey is the ConfigMap key of the inventory.
const inventoryKey = "inventory.json"

// Inventory is what one applier applied into one target: a source into a
// space, or an agent into its WEC. Both keep it in the same format, a
// ConfigMap of the target (InventoryStore).
type Inventory struct {
	// Source is the applier: the source's name, or the agent's WEC.
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
	// Orphan: the object stays in the target when its applier removes it
	// (an agent's entry of a BindingPolicy that orphans its objects).
	Orphan bool `json:"orphan,omitempty"`
}

// EntryFor is the inventory entry of an object.
func EntryFor(gvk schema.GroupVersionKind, namespace, name string) InventoryEntry {
	return InventoryEntry{ID: strings.Join([]string{namespace, name, gvk.Group, gvk.Kind}, "_"), Version: gvk.Version}
}

// Key is the entry's object.
func (e InventoryEntry) Key() (render.Key, error) {
	parts := strings.Split(e.ID, "_")
	if len(parts) != 4 {
		return render.Key{}, fmt.Errorf("inventory entry %q: want <namespace>_<name>_<group>_<kind>", e.ID)
	}
	return render.Key{Namespace: parts[0], Name: parts[1], Group: parts[2], Kind: parts[3]}, nil
}

// GVK is the entry's group, version and kind.
func (e InventoryEntry) GVK() schema.GroupVersionKind {
	k, _ := e.Key()
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

// InventoryStore reads and writes one inventory ConfigMap of a target.
type InventoryStore struct {
	Client          client.Client
	Namespace, Name string
	// FieldManager writes it; default gitstellar.
	FieldManager string
	// CreateNamespace: the namespace is created with the first inventory,
	// or when it went (not applied again at every write).
	CreateNamespace bool
}

func (s InventoryStore) where() string { return s.Namespace + "/" + s.Name }

// Load reads the inventory, empty (of source) when there is none. An
// inventory in the agent's earlier format (a map "objects") is read too.
func (s InventoryStore) Load(ctx context.Context, source string) (*Inventory, error) {
	var cm corev1.ConfigMap
	err := s.Client.Get(ctx, client.ObjectKey{Namespace: s.Namespace, Name: s.Name}, &cm)
	if apierrors.IsNotFound(err) {
		return &Inventory{Source: source}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read inventory %s: %w", s.where(), err)
	}
	var inv struct {
		Inventory
		Objects map[string]struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Namespace  string `json:"namespace"`
			Name       string `json:"name"`
			Orphan     bool   `json:"orphan"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(cm.Data[inventoryKey]), &inv); err != nil {
		return nil, fmt.Errorf("inventory %s: %w", s.where(), err)
	}
	for _, o := range inv.Objects {
		e := EntryFor(schema.FromAPIVersionAndKind(o.APIVersion, o.Kind), o.Namespace, o.Name)
		e.Orphan = o.Orphan
		inv.Entries = append(inv.Entries, e)
	}
	slices.SortFunc(inv.Entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
	inv.Inventory.Source = source
	return &inv.Inventory, nil
}

// Save writes the inventory with server-side apply, entries sorted.
func (s InventoryStore) Save(ctx context.Context, inv *Inventory) error {
	slices.SortFunc(inv.Entries, func(a, b InventoryEntry) int { return strings.Compare(a.ID, b.ID) })
	data, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	manager := s.FieldManager
	if manager == "" {
		manager = gitstellarv1alpha1.FieldManager
	}
	labels := map[string]string{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Namespace: s.Namespace, Name: s.Name, Labels: labels},
		Data:       map[string]string{inventoryKey: string(data)},
	}
	write := func() error {
		return s.Client.Patch(ctx, cm.DeepCopy(), client.Apply, client.FieldOwner(manager), client.ForceOwnership) //nolint:staticcheck // typed apply of a built-in
	}
	err = write()
	if apierrors.IsNotFound(err) && s.CreateNamespace {
		ns := &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: s.Namespace, Labels: labels},
		}
		if err := s.Client.Patch(ctx, ns, client.Apply, client.FieldOwner(manager)); err != nil { //nolint:staticcheck // typed apply of a built-in
			return fmt.Errorf("namespace %s: %w", s.Namespace, err)
		}
		err = write()
	}
	if err != nil {
		return fmt.Errorf("write inventory %s: %w", s.where(), err)
	}
	return nil
}

// sourceInventory is where a source keeps its inventory of a space.
func sourceInventory(c client.Client, source string) InventoryStore {
	return InventoryStore{Client: c, Namespace: InventoryNamespace, Name: "inventory." + source, CreateNamespace: true}
}
