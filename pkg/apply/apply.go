package apply

import (
	"context"
	"fmt"
	"regexp"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// LabelSource is the owner label: the name of the source that applied the
// object. Pruning only deletes objects that carry it with its own name.
const LabelSource = "gitstellar.io/source"

// Options configures an Applier.
type Options struct {
	// Source names the repository being applied (a DNS label); it keys the
	// inventory and the owner label.
	Source string
	// Concurrency bounds the requests in flight (TargetOptions.Concurrency).
	Concurrency int
	// WaitTimeout bounds the wait for CRDs and Namespaces; default 1m.
	WaitTimeout time.Duration
}

// Applier applies the object sets of one source into one space, through
// the space's Target, and prunes what left Git.
type Applier struct {
	space  string
	opts   Options
	target *Target
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// NewApplier connects to a space.
func NewApplier(cfg *rest.Config, space string, opts Options) (*Applier, error) {
	if !dnsLabel.MatchString(opts.Source) {
		return nil, fmt.Errorf("source name %q: must be a DNS label (lowercase letters, digits, '-')", opts.Source)
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// client-go's default (5/s) would make a 2,000-object sync take
		// minutes; the apiserver's priority and fairness protects it.
		cfg.QPS, cfg.Burst = 1000, 2000
	}
	target, err := NewTarget(cfg, TargetOptions{Name: "space " + space, LabelKey: LabelSource, LabelValue: opts.Source,
		Concurrency: opts.Concurrency, WaitTimeout: opts.WaitTimeout})
	if err != nil {
		return nil, err
	}
	return &Applier{space: space, opts: opts, target: target}, nil
}

// Watch lets the applier watch, until ctx ends, the objects it applied:
// an object found as it was verified, at the same resourceVersion, then
// costs no request at all on a re-sync. Without it, each object is read.
func (a *Applier) Watch(ctx context.Context) {
	a.target.Watch(ctx)
}

// Apply makes the space hold objects: CRDs and Namespaces first, then the
// rest, then prunes what the previous inventory had and objects no longer
// have. Per-object conflicts and failures are in the Result; the error is
// for what stops the whole apply (the space unreachable, the inventory
// unreadable).
func (a *Applier) Apply(ctx context.Context, objects []render.Object, revision string) (*Result, error) {
	store := sourceInventory(a.target.Client(), a.opts.Source)
	previous, err := store.Load(ctx, a.opts.Source)
	if err != nil {
		return nil, err
	}
	res := &Result{Space: a.space}
	set := make([]Desired, len(objects))
	for i, o := range objects {
		set[i] = Desired{Object: prepare(o.Unstructured), Source: o.Source}
	}
	entries := make([]Entry, len(objects))
	a.target.ApplySet(ctx, set, SetOptions{Recheck: true}, func(i int, e Entry) { entries[i] = e })
	res.Entries = entries

	next := &Inventory{Source: a.opts.Source, Revision: revision}
	keep := map[string]bool{}
	for i, d := range set {
		e := EntryFor(d.Object.GroupVersionKind(), d.Object.GetNamespace(), d.Object.GetName())
		keep[e.ID] = true
		if entries[i].Action != Failed || a.target.Exists(ctx, d.Object) {
			next.Entries = append(next.Entries, e)
		}
	}
	var stale []InventoryEntry
	for _, e := range previous.Entries {
		if !keep[e.ID] {
			stale = append(stale, e)
		}
	}
	pruned, kept := a.prune(ctx, stale)
	res.Entries = append(res.Entries, pruned...)
	next.Entries = append(next.Entries, kept...)
	res.sort()
	if next.sameAs(previous) {
		return res, nil // an unchanged re-sync writes nothing
	}
	if err := store.Save(ctx, next); err != nil {
		return res, err
	}
	return res, nil
}

// prepare copies an object with the managed-by label, unless the object
// names its own manager (Helm-rendered objects say Helm, and policies
// select on it). The target adds the source's label.
func prepare(in *unstructured.Unstructured) *unstructured.Unstructured {
	u := in.DeepCopy()
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	if labels[gitstellarv1alpha1.LabelManagedBy] == "" {
		labels[gitstellarv1alpha1.LabelManagedBy] = gitstellarv1alpha1.ManagedByValue
	}
	u.SetLabels(labels)
	return u
}

// prune deletes stale objects that carry this source's owner label and do
// not disable pruning. It returns the entries, and the inventory entries to
// keep (those that could not be deleted, to try again next time).
func (a *Applier) prune(ctx context.Context, stale []InventoryEntry) ([]Entry, []InventoryEntry) {
	var (
		out  []Entry
		keep []InventoryEntry
	)
	for _, inv := range stale {
		key, err := inv.Key()
		if err != nil {
			continue
		}
		e := Entry{Key: key, Version: inv.Version}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(inv.GVK())
		err = a.target.Client().Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, live)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			continue // already gone
		case err != nil:
			e.Action, e.Message = Failed, "prune: "+ErrorMessage(err)
			keep = append(keep, inv)
		case live.GetLabels()[LabelSource] != a.opts.Source:
			e.Action, e.Message = Skipped, "left in place: it does not carry the label "+LabelSource+"="+a.opts.Source
		case live.GetAnnotations()[gitstellarv1alpha1.AnnotationPrune] == "disabled":
			e.Action, e.Message = Skipped, "left in place: "+gitstellarv1alpha1.AnnotationPrune+": disabled"
		default:
			if err := a.target.Delete(ctx, inv.GVK(), key.Namespace, key.Name); err != nil {
				e.Action, e.Message = Failed, "prune: "+err.Error()
				keep = append(keep, inv)
			} else {
				e.Action = Deleted
			}
		}
		out = append(out, e)
	}
	return out, keep
}
