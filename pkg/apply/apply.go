package apply

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fluxcd/cli-utils/pkg/kstatus/polling"
	"github.com/fluxcd/cli-utils/pkg/object"
	"github.com/fluxcd/pkg/ssa"
	ssautils "github.com/fluxcd/pkg/ssa/utils"
	"golang.org/x/sync/errgroup"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/labelwatch"
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
	// Concurrency bounds the requests in flight; default 8.
	Concurrency int
	// WaitTimeout bounds the wait for CRDs and Namespaces; default 1m.
	WaitTimeout time.Duration
}

// Applier applies object sets into one space.
type Applier struct {
	space  string
	client client.Client
	rm     *ssa.ResourceManager
	opts   Options
	// watches: the space's objects that carry this source's label, once
	// Watch has started them.
	watches *labelwatch.Watches

	// verified remembers, per object, the manifest last found in place and
	// the live resourceVersion it was found at: while both stay, the
	// object has not drifted and needs no dry run.
	mu       sync.Mutex
	verified map[string]verifiedObject
}

type verifiedObject struct {
	manifest        [32]byte
	resourceVersion string
	generation      int64
	metadata        string // labelwatch.MetadataSum
}

// untouched tells whether an object whose metadata a watch shows is as
// verified: the same resourceVersion, or only its status written since
// (the same generation, labels and annotations: another controller's
// status write, which no apply corrects).
func (v verifiedObject) untouched(seen metav1.Object) bool {
	return v.resourceVersion == seen.GetResourceVersion() ||
		v.generation > 0 && v.generation == seen.GetGeneration() && v.metadata == labelwatch.MetadataSum(seen)
}

func objectID(u *unstructured.Unstructured) string {
	return u.GetAPIVersion() + "/" + u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

func manifestHash(u *unstructured.Unstructured) [32]byte {
	b, _ := json.Marshal(u.Object)
	return sha256.Sum256(b)
}

// remember records that u is in place at a resourceVersion (nothing when
// rv is empty).
func (a *Applier) remember(u *unstructured.Unstructured, sum [32]byte, live metav1.Object) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if live == nil || live.GetResourceVersion() == "" {
		delete(a.verified, objectID(u))
		return
	}
	a.verified[objectID(u)] = verifiedObject{manifest: sum, resourceVersion: live.GetResourceVersion(),
		generation: live.GetGeneration(), metadata: labelwatch.MetadataSum(live)}
}

var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// NewApplier connects to a space.
func NewApplier(cfg *rest.Config, space string, opts Options) (*Applier, error) {
	if !dnsLabel.MatchString(opts.Source) {
		return nil, fmt.Errorf("source name %q: must be a DNS label (lowercase letters, digits, '-')", opts.Source)
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 8
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = time.Minute
	}
	cfg = rest.CopyConfig(cfg)
	if cfg.QPS == 0 {
		// client-go's default (5/s) would make a 2,000-object sync take
		// minutes; the apiserver's priority and fairness protects it.
		cfg.QPS, cfg.Burst = 1000, 2000
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("space %s: %w", space, err)
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	rm := ssa.NewResourceManager(c, poller, ssa.Owner{Field: gitstellarv1alpha1.FieldManager, Group: "gitstellar.io"})
	rm.SetConcurrency(opts.Concurrency)
	watches, err := labelwatch.New(cfg, c.RESTMapper(), labelwatch.Options{Selector: LabelSource + "=" + opts.Source})
	if err != nil {
		return nil, fmt.Errorf("space %s: %w", space, err)
	}
	return &Applier{space: space, client: c, rm: rm, opts: opts, watches: watches, verified: map[string]verifiedObject{}}, nil
}

// Watch lets the applier watch, until ctx ends, the objects it applied:
// an object found as it was verified, at the same resourceVersion, then
// costs no request at all on a re-sync. Without it, each object is read.
func (a *Applier) Watch(ctx context.Context) {
	a.watches.Start(ctx)
}

// Apply makes the space hold objects: CRDs and Namespaces first, then the
// rest, then prunes what the previous inventory had and objects no longer
// have. Per-object conflicts and failures are in the Result; the error is
// for what stops the whole apply (the space unreachable, the inventory
// unreadable).
func (a *Applier) Apply(ctx context.Context, objects []render.Object, revision string) (*Result, error) {
	previous, err := loadInventory(ctx, a.client, a.opts.Source)
	if err != nil {
		return nil, err
	}
	res := &Result{Space: a.space}
	desired := make([]*unstructured.Unstructured, len(objects))
	for i, o := range objects {
		desired[i] = a.prepare(o.Unstructured)
	}

	var first, rest []int
	for i, u := range desired {
		if ssautils.IsClusterDefinition(u) {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	entries := make([]Entry, len(objects))
	a.applyEach(ctx, objects, desired, first, entries)
	a.waitFor(ctx, desired, first, entries)
	a.applyEach(ctx, objects, desired, rest, entries)
	res.Entries = entries

	next := &Inventory{Source: a.opts.Source, Revision: revision}
	keep := map[string]bool{}
	for i, u := range desired {
		e := entryOf(render.KeyOf(u), u.GroupVersionKind().Version)
		keep[e.ID] = true
		if entries[i].Action != Failed || a.exists(ctx, u) {
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
	if err := saveInventory(ctx, a.client, next); err != nil {
		return res, err
	}
	return res, nil
}

// prepare adds the owner labels: the source, and managed-by unless the
// object names its own manager (Helm-rendered objects say Helm, and
// policies select on it).
func (a *Applier) prepare(in *unstructured.Unstructured) *unstructured.Unstructured {
	u := in.DeepCopy()
	labels := u.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	if labels[gitstellarv1alpha1.LabelManagedBy] == "" {
		labels[gitstellarv1alpha1.LabelManagedBy] = gitstellarv1alpha1.ManagedByValue
	}
	labels[LabelSource] = a.opts.Source
	u.SetLabels(labels)
	return u
}

// defaultNamespace sets "default" on a namespaced object without one, once
// its kind is known to the space.
func (a *Applier) defaultNamespace(u *unstructured.Unstructured) {
	if u.GetNamespace() != "" {
		return
	}
	if namespaced, err := a.client.IsObjectNamespaced(u); err == nil && namespaced {
		u.SetNamespace(metav1.NamespaceDefault)
	}
}

func (a *Applier) applyEach(ctx context.Context, objects []render.Object, desired []*unstructured.Unstructured, which []int, entries []Entry) {
	var g errgroup.Group
	g.SetLimit(a.opts.Concurrency)
	for _, i := range which {
		g.Go(func() error {
			a.defaultNamespace(desired[i])
			entries[i] = a.applyOne(ctx, desired[i])
			entries[i].Source = objects[i].Source
			return nil
		})
	}
	_ = g.Wait()
}

// conflictManager finds the managers named in a conflict error.
var conflictManager = regexp.MustCompile(`conflict with "([^"]+)"`)

// applyOne applies one object, only when it drifted: a server-side dry run
// of the apply, without taking other managers' fields, is compared with the
// live object. A conflict in the dry run means another manager owns fields
// the object sets: it is reported and the object is left alone, unless the
// object asks for force.
func (a *Applier) applyOne(ctx context.Context, u *unstructured.Unstructured) Entry {
	e := Entry{Key: render.KeyOf(u), Version: u.GroupVersionKind().Version}
	force := u.GetAnnotations()[gitstellarv1alpha1.AnnotationSSA] == "force"
	sum := manifestHash(u)
	a.watches.Ensure(u.GroupVersionKind())
	if seen, watched := a.watches.Lookup(u.GroupVersionKind(), u.GetNamespace(), u.GetName()); watched && seen != nil {
		a.mu.Lock()
		known, ok := a.verified[objectID(u)]
		a.mu.Unlock()
		if ok && known.manifest == sum && known.untouched(seen) {
			e.Action, e.ResourceVersion = Unchanged, seen.GetResourceVersion() // as verified before, and untouched since: no request
			return e
		}
	}
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	if err := a.get(ctx, u, live); err != nil {
		if !apierrors.IsNotFound(err) {
			e.Action, e.Message = Failed, a.describe(u, err)
			return e
		}
		live = nil
	}
	if live == nil { // nothing to conflict with or compare to: create it
		a.remember(u, sum, nil)
		return a.write(ctx, u, sum, force, e, false)
	}
	a.mu.Lock()
	known, ok := a.verified[objectID(u)]
	a.mu.Unlock()
	if ok && known.manifest == sum && known.untouched(live) {
		e.Action, e.ResourceVersion = Unchanged, live.GetResourceVersion() // as verified before, and untouched since
		return e
	}
	dryRun := u.DeepCopy()
	err := a.patch(ctx, dryRun, force, client.DryRunAll)
	if apierrors.IsConflict(err) {
		e.Action, e.Managers = Conflict, conflictManagers(err)
		e.Message = fmt.Sprintf("fields owned by %s; not overwritten (annotate %s: force to take them)",
			strings.Join(e.Managers, ", "), gitstellarv1alpha1.AnnotationSSA)
		return e
	}
	if err != nil {
		e.Action, e.Message = Failed, a.describe(u, err)
		return e
	}
	if !drifted(live, dryRun) {
		e.Action, e.ResourceVersion = Unchanged, live.GetResourceVersion()
		a.remember(u, sum, live)
		return e
	}
	return a.write(ctx, u, sum, force, e, true)
}

// get reads the live object. A kind the space does not serve is looked up
// again a few times: a CRD installed a moment ago can be established before
// the space's discovery lists its kinds.
func (a *Applier) get(ctx context.Context, u, live *unstructured.Unstructured) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = a.client.Get(ctx, client.ObjectKeyFromObject(u), live)
		if !meta.IsNoMatchError(err) || attempt == 4 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
		if r, ok := a.client.RESTMapper().(meta.ResettableRESTMapper); ok {
			r.Reset()
		}
	}
}

// write applies u for real.
func (a *Applier) write(ctx context.Context, u *unstructured.Unstructured, sum [32]byte, force bool, e Entry, existed bool) Entry {
	written := u.DeepCopy()
	if err := a.patch(ctx, written, force); err != nil {
		if apierrors.IsConflict(err) { // someone took fields since we looked
			e.Action, e.Managers, e.Message = Conflict, conflictManagers(err), errorMessage(err)
			return e
		}
		e.Action, e.Message = Failed, a.describe(u, err)
		return e
	}
	a.remember(u, sum, written)
	e.Action, e.ResourceVersion = Created, written.GetResourceVersion()
	if existed {
		e.Action = Configured
	}
	return e
}

// patch server-side applies u as gitstellar, forcing only when asked.
func (a *Applier) patch(ctx context.Context, u *unstructured.Unstructured, force bool, opts ...client.PatchOption) error {
	opts = append(opts, client.FieldOwner(gitstellarv1alpha1.FieldManager))
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	return a.client.Patch(ctx, u, client.Apply, opts...) //nolint:staticcheck // unstructured apply
}

// drifted tells whether applying would change the live object: its labels,
// annotations, or anything outside metadata and status.
func drifted(live, dryRun *unstructured.Unstructured) bool {
	if !apiequality.Semantic.DeepEqual(live.GetLabels(), dryRun.GetLabels()) ||
		!apiequality.Semantic.DeepEqual(live.GetAnnotations(), dryRun.GetAnnotations()) {
		return true
	}
	strip := func(u *unstructured.Unstructured) map[string]any {
		out := make(map[string]any, len(u.Object))
		for k, v := range u.Object {
			if k != "metadata" && k != "status" {
				out[k] = v
			}
		}
		return out
	}
	return !apiequality.Semantic.DeepEqual(strip(live), strip(dryRun))
}

func conflictManagers(err error) []string {
	var managers []string
	for _, m := range conflictManager.FindAllStringSubmatch(err.Error(), -1) {
		if !slices.Contains(managers, m[1]) {
			managers = append(managers, m[1])
		}
	}
	slices.Sort(managers)
	if len(managers) == 0 {
		managers = []string{"unknown"}
	}
	return managers
}

// describe words an error of applying u.
func (a *Applier) describe(u *unstructured.Unstructured, err error) string {
	if meta.IsNoMatchError(err) {
		return fmt.Sprintf("the space does not serve %s", u.GroupVersionKind())
	}
	return errorMessage(err)
}

// waitFor waits until the applied CRDs are established and Namespaces
// active; one that is not becomes a failure.
func (a *Applier) waitFor(ctx context.Context, desired []*unstructured.Unstructured, which []int, entries []Entry) {
	var set object.ObjMetadataSet
	for _, i := range which {
		if entries[i].Action == Created || entries[i].Action == Configured {
			set = append(set, object.UnstructuredToObjMetadata(desired[i]))
		}
	}
	if len(set) == 0 {
		return
	}
	err := a.rm.WaitForSetWithContext(ctx, set, ssa.WaitOptions{Interval: 200 * time.Millisecond, Timeout: a.opts.WaitTimeout})
	if err != nil {
		for _, i := range which {
			if entries[i].Action == Created || entries[i].Action == Configured {
				entries[i].Message = "not ready: " + err.Error()
			}
		}
	}
	// Kinds defined by the new CRDs are now served.
	if r, ok := a.client.RESTMapper().(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}

func (a *Applier) exists(ctx context.Context, u *unstructured.Unstructured) bool {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	return a.client.Get(ctx, client.ObjectKeyFromObject(u), live) == nil
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
		key, err := inv.key()
		if err != nil {
			continue
		}
		e := Entry{Key: key, Version: inv.Version}
		live := &unstructured.Unstructured{}
		live.SetGroupVersionKind(inv.gvk())
		err = a.client.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: key.Name}, live)
		switch {
		case apierrors.IsNotFound(err) || meta.IsNoMatchError(err):
			continue // already gone
		case err != nil:
			e.Action, e.Message = Failed, "prune: "+errorMessage(err)
			keep = append(keep, inv)
		case live.GetLabels()[LabelSource] != a.opts.Source:
			e.Action, e.Message = Skipped, "left in place: it does not carry the label "+LabelSource+"="+a.opts.Source
		case live.GetAnnotations()[gitstellarv1alpha1.AnnotationPrune] == "disabled":
			e.Action, e.Message = Skipped, "left in place: "+gitstellarv1alpha1.AnnotationPrune+": disabled"
		default:
			err := a.client.Delete(ctx, live, client.PropagationPolicy(metav1.DeletePropagationBackground))
			if err != nil && !apierrors.IsNotFound(err) {
				e.Action, e.Message = Failed, "prune: "+errorMessage(err)
				keep = append(keep, inv)
			} else {
				e.Action = Deleted
			}
		}
		out = append(out, e)
	}
	return out, keep
}

// errorMessage shortens an API error to its message.
func errorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}
