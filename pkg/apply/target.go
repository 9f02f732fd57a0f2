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
	"github.com/go-logr/logr"
	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/labelwatch"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// TargetOptions configures a Target.
type TargetOptions struct {
	// Name names the target in messages, e.g. "space wds1", "WEC cluster1".
	Name string
	// Applier names who applies, in messages; default gitstellar.
	Applier string
	// FieldManager applies; default gitstellar.
	FieldManager string
	// LabelKey and LabelValue: the label every applied object gets; the
	// target watches the objects that carry it.
	LabelKey, LabelValue string
	// Exclusive: the applier is the only writer of the objects it created,
	// so edits of them made by hand are overwritten; an object it did not
	// create, or that another GitOps tool manages, is left alone (a
	// conflict) unless the object's entry adopts it. This is a WEC's agent:
	// the WEC's copies follow the WDS. Otherwise (a space, shared with
	// people and other tools) no field another manager owns is taken
	// unless the object asks (gitstellar.io/ssa: force).
	Exclusive bool
	// Concurrency bounds the requests in flight; default 32. Below it the
	// target sizes itself to its apiserver: it starts at 8 and follows the
	// latency and throttling of the requests (concurrencyLimit).
	Concurrency int
	// WaitTimeout bounds the wait for applied CRDs and Namespaces; default
	// 1m.
	WaitTimeout time.Duration
	// Annotations, Changed and WithStatus are the watches'
	// (labelwatch.Options).
	Annotations []string
	Changed     func(gvk schema.GroupVersionKind, namespace, name, resourceVersion string, statusOnly bool)
	WithStatus  func(schema.GroupVersionKind) bool
	Log         logr.Logger
}

// Target is one apiserver that objects are applied to by one field
// manager: a space, by the source controller's Applier, or a WEC, by its
// agent. It is gitstellar's one apply engine. It applies sets in stages
// (CRDs and Namespaces first, waited for), several objects at a time; it
// writes an object only when the object is not as last verified, with
// server-side apply; it never takes another manager's fields unless told
// (Exclusive, Desired.Adopt, gitstellar.io/ssa: force); it words conflicts
// and failures one way for both.
type Target struct {
	opts    TargetOptions
	client  client.Client
	rm      *ssa.ResourceManager
	watches *labelwatch.Watches
	limit   *concurrencyLimit

	// verified remembers, per object, the content last found in place and
	// the live metadata it was found at: while both stay, the object has
	// not drifted and needs no request.
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

// NewTarget connects to an apiserver; nothing is watched before Watch.
func NewTarget(cfg *rest.Config, opts TargetOptions) (*Target, error) {
	if opts.FieldManager == "" {
		opts.FieldManager = gitstellarv1alpha1.FieldManager
	}
	if opts.Applier == "" {
		opts.Applier = "gitstellar"
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 32
	}
	if opts.WaitTimeout <= 0 {
		opts.WaitTimeout = time.Minute
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	poller := polling.NewStatusPoller(c, c.RESTMapper(), polling.Options{})
	rm := ssa.NewResourceManager(c, poller, ssa.Owner{Field: opts.FieldManager, Group: "gitstellar.io"})
	watches, err := labelwatch.New(cfg, c.RESTMapper(), labelwatch.Options{Selector: opts.LabelKey + "=" + opts.LabelValue,
		Annotations: opts.Annotations, Changed: opts.Changed, WithStatus: opts.WithStatus, Log: opts.Log})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", opts.Name, err)
	}
	return &Target{opts: opts, client: c, rm: rm, watches: watches, limit: newConcurrencyLimit(opts.Concurrency), verified: map[string]verifiedObject{}}, nil
}

// Client is the target's client.
func (t *Target) Client() client.Client { return t.client }

// Watch lets the target watch, until ctx ends, the objects it applied: an
// object found as it was verified then costs no request at all. Without
// it, each object is read.
func (t *Target) Watch(ctx context.Context) { t.watches.Start(ctx) }

// Watched gives the metadata of an applied object as its watch has it
// (nil: absent), and whether its kind is watched.
func (t *Target) Watched(gvk schema.GroupVersionKind, namespace, name string) (*metav1.PartialObjectMetadata, bool) {
	return t.watches.Lookup(gvk, namespace, name)
}

// Observed gives an applied object as its watch last saw it, as much of it
// as its health is computed from (labelwatch's Live: with its status for
// a kind TargetOptions.WithStatus chose), and whether its kind is watched.
func (t *Target) Observed(gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, bool) {
	return t.watches.Live(gvk, namespace, name)
}

// Applied tells whether resourceVersion is the one at which the target last
// wrote or verified the object: a watch event at it is no one else's
// change.
func (t *Target) Applied(gvk schema.GroupVersionKind, namespace, name, resourceVersion string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	v, ok := t.verified[idOf(gvk, namespace, name)]
	return ok && resourceVersion != "" && v.resourceVersion == resourceVersion
}

// Forget drops what the target verified of an object (deleted), or of
// every object (nil): it is read and applied again at the next set.
func (t *Target) Forget(gvk *schema.GroupVersionKind, namespace, name string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if gvk == nil {
		clear(t.verified)
		return
	}
	delete(t.verified, idOf(*gvk, namespace, name))
}

// Desired is one object to hold in a target, and how. The target adds its
// label to the object, which is the target's from then on.
type Desired struct {
	// Object is the object; or, when nil, ID names it and Decode gives it
	// when it has to be written (an agent decodes a Delivery's entry only
	// then).
	Object *unstructured.Unstructured
	ID     ObjectID
	Decode func() (*unstructured.Unstructured, error)
	// Source is where the object was read, for its Entry.
	Source render.Location
	// Sum identifies the object's content; zero: computed from Object.
	Sum [32]byte
	// CreateOnly: an object already there is left as it is.
	CreateOnly bool
	// Adopt: on an Exclusive target, an object already there that the
	// applier did not create, or that another tool manages, is taken over.
	Adopt bool
	// AdoptUnmanaged: on an Exclusive target, an object already there that
	// the applier did not create is taken over, unless another tool
	// manages it.
	AdoptUnmanaged bool
	// Ours: on an Exclusive target, the applier's inventory lists the
	// object (an object carrying the applier's field manager is taken as
	// its own too: applied just before a crash, not recorded yet).
	Ours bool
	// Live: the Entry carries the object as written or read, for its
	// health and status (none when nothing was read).
	Live bool
}

// ObjectID names an object.
type ObjectID struct {
	GVK             schema.GroupVersionKind
	Namespace, Name string
}

func (id ObjectID) String() string { return idOf(id.GVK, id.Namespace, id.Name) }

// id names the object, once its namespace is defaulted.
func (d *Desired) id() ObjectID {
	if d.Object == nil {
		return d.ID
	}
	return ObjectID{GVK: d.Object.GroupVersionKind(), Namespace: d.Object.GetNamespace(), Name: d.Object.GetName()}
}

// firstStage kinds are applied, and waited for, before the others: what
// the others live in or refer to (Flux's order).
func firstStage(gvk schema.GroupVersionKind) bool {
	switch {
	case gvk.Group == "apiextensions.k8s.io" && gvk.Kind == "CustomResourceDefinition",
		gvk.Group == "" && gvk.Kind == "Namespace",
		gvk.Group == "rbac.authorization.k8s.io" && gvk.Kind == "ClusterRole":
		return true
	}
	return false
}

// SetOptions tune one ApplySet.
type SetOptions struct {
	// Recheck reads again the objects of kinds the target cannot watch,
	// to find drift; without it an object verified before is trusted.
	Recheck bool
}

// ApplySet applies a set of objects in two stages: CRDs and Namespaces
// first, waited for (established, active), then the rest; within a stage
// several at a time. done gets each object's outcome as soon as there is
// one, from several goroutines; the outcome of a CRD or a Namespace comes
// once it is ready (or not, said in its message).
func (t *Target) ApplySet(ctx context.Context, set []Desired, opts SetOptions, done func(i int, e Entry)) {
	var first, rest []int
	for i := range set {
		if firstStage(set[i].id().GVK) {
			first = append(first, i)
		} else {
			rest = append(rest, i)
		}
	}
	entries := make([]Entry, len(set))
	t.applyEach(ctx, set, first, opts, func(i int, e Entry) { entries[i] = e })
	t.waitFor(ctx, set, first, entries)
	for _, i := range first {
		done(i, entries[i])
	}
	t.applyEach(ctx, set, rest, opts, done)
}

func (t *Target) applyEach(ctx context.Context, set []Desired, which []int, opts SetOptions, done func(int, Entry)) {
	for _, i := range which { // once the kinds of the previous stage are served
		if set[i].Object != nil {
			t.defaultNamespace(set[i].Object)
		}
	}
	listed := t.prefetch(ctx, set, which)
	var g errgroup.Group
	g.SetLimit(t.opts.Concurrency)
	for _, i := range which {
		g.Go(func() error {
			done(i, t.applyOne(ctx, &set[i], listed, opts))
			return nil
		})
	}
	_ = g.Wait()
	metrics.ApplyConcurrency.WithLabelValues(t.opts.Name).Set(float64(t.limit.current()))
}

// request makes one request to the apiserver within the concurrency
// limit, which learns from its latency.
func (t *Target) request(ctx context.Context, do func() error) error {
	if err := t.limit.acquire(ctx); err != nil {
		return err
	}
	start := time.Now()
	err := do()
	t.limit.release(time.Since(start), err)
	return err
}

// listThreshold is how many objects of one kind, about to be applied and
// not known from the watch, make the target list the kind's metadata once
// instead of reading each object.
const listThreshold = 16

// prefetch lists, for the kinds of which many objects are about to be
// applied without being known from the watch (a first apply, a process
// started again), what the target holds of them: one request per page of
// objects instead of one read per object. A kind that cannot be listed is
// left out; its objects are read one by one.
func (t *Target) prefetch(ctx context.Context, set []Desired, which []int) map[string]*metav1.PartialObjectMetadata {
	byKind := map[schema.GroupVersionKind]map[string]bool{} // kind → namespace/name
	for _, i := range which {
		id := set[i].id()
		t.watches.Ensure(id.GVK)
		if m, watched := t.watches.Lookup(id.GVK, id.Namespace, id.Name); watched && m != nil {
			continue
		}
		if byKind[id.GVK] == nil {
			byKind[id.GVK] = map[string]bool{}
		}
		byKind[id.GVK][id.Namespace+"/"+id.Name] = true
	}
	out := map[string]*metav1.PartialObjectMetadata{}
	for gvk, want := range byKind {
		if len(want) < listThreshold {
			continue
		}
		found, err := t.watches.List(ctx, gvk, func(ns, name string) bool { return want[ns+"/"+name] })
		if err != nil {
			continue
		}
		for nsName := range want {
			ns, name, _ := strings.Cut(nsName, "/")
			out[idOf(gvk, ns, name)] = found[nsName] // nil: absent
		}
	}
	return out
}

// applyOne applies one object when it is not as verified: what the target
// holds is known from the watch, the prefetch or a read; an object that
// exists is checked for ownership (Exclusive) and left alone when
// CreateOnly; then it is applied, and the apply's resourceVersion tells
// whether anything changed.
func (t *Target) applyOne(ctx context.Context, d *Desired, listed map[string]*metav1.PartialObjectMetadata, opts SetOptions) Entry {
	oid := d.id()
	gvk := oid.GVK
	e := Entry{Key: render.Key{Group: gvk.Group, Kind: gvk.Kind, Namespace: oid.Namespace, Name: oid.Name}, Version: gvk.Version, Source: d.Source}
	id := oid.String()
	sum := d.Sum
	if sum == ([32]byte{}) && d.Object != nil {
		b, _ := json.Marshal(d.Object.Object)
		sum = sha256.Sum256(b)
	}
	t.mu.Lock()
	known, verified := t.verified[id]
	t.mu.Unlock()
	verified = verified && known.manifest == sum

	// What the target holds, without a request when possible.
	var live metav1.Object // nil: absent
	found := false
	// The watch sees only the objects that carry the target's label: one
	// it does not see may still be there without it (created by someone
	// else, or its label taken off), so only the prefetch's list or a read
	// tells that it is absent.
	seen, watched := t.watches.Lookup(gvk, oid.Namespace, oid.Name)
	switch m, listedHere := listed[id]; {
	case watched && seen != nil:
		found, live = true, seen
	case listedHere:
		found = true
		if m != nil {
			live = m
		}
	case !watched && verified && !opts.Recheck:
		e.Action, e.ResourceVersion = Unchanged, known.resourceVersion // trusted as verified
		return e
	}
	if found && live != nil && verified && known.untouched(live) {
		e.Action, e.ResourceVersion = Unchanged, live.GetResourceVersion() // as verified, untouched since: no request
		return e
	}
	if found && live != nil && live.GetDeletionTimestamp() != nil {
		found = false // going: read what is there now
	}
	if !found || live != nil && d.CreateOnly && d.Live {
		read := &unstructured.Unstructured{}
		read.SetGroupVersionKind(gvk)
		if err := t.get(ctx, oid, read); err != nil {
			if !apierrors.IsNotFound(err) {
				e.Action, e.Message = Failed, t.describe(gvk, err)
				return e
			}
			live = nil
		} else {
			live = read
		}
		if live != nil && verified && known.untouched(live) {
			e.Action, e.ResourceVersion = Unchanged, live.GetResourceVersion()
			e.Live = liveObject(d, live)
			return e
		}
	}

	force := false
	if live != nil {
		if t.opts.Exclusive {
			ours := d.Ours || slices.Contains(ManagerNames(live), t.opts.FieldManager)
			if owner := ForeignOwner(live); owner != "" && !d.Adopt {
				e.Action, e.Managers = Conflict, []string{owner}
				e.Message = "managed in the " + t.kind() + " by " + owner + "; left alone (annotate the WDS object " + gitstellarv1alpha1.AnnotationAdopt + `: "true" to take it over)`
				return e
			}
			if !ours && !d.Adopt && !d.AdoptUnmanaged {
				e.Action, e.Managers = Conflict, ManagerNames(live)
				e.Message = "the object already exists in the " + t.kind() + " and gitstellar did not create it; left alone (annotate the WDS object " +
					gitstellarv1alpha1.AnnotationAdopt + `: "true" to take it over)`
				return e
			}
			force = true // ours: what was edited by hand is restored
		}
		if d.CreateOnly {
			t.remember(id, sum, live)
			e.Action, e.ResourceVersion, e.Live = Unchanged, live.GetResourceVersion(), liveObject(d, live)
			return e
		}
	}
	var written *unstructured.Unstructured
	if d.Object != nil {
		written = d.Object.DeepCopy() // the caller's stays as it was
	} else {
		var err error
		if written, err = d.Decode(); err != nil {
			e.Action, e.Message = Failed, "the object cannot be read: "+err.Error()
			return e
		}
	}
	labels := written.GetLabels()
	if labels == nil {
		labels = map[string]string{}
	}
	labels[t.opts.LabelKey] = t.opts.LabelValue
	written.SetLabels(labels)
	force = force || written.GetAnnotations()[gitstellarv1alpha1.AnnotationSSA] == "force"
	if err := t.patch(ctx, written, force); err != nil {
		if apierrors.IsConflict(err) {
			e.Action, e.Managers = Conflict, conflictManagers(err)
			e.Message = fmt.Sprintf("fields owned by %s; not overwritten (annotate %s: force to take them)",
				strings.Join(e.Managers, ", "), gitstellarv1alpha1.AnnotationSSA)
			return e
		}
		e.Action, e.Message = Failed, t.describe(gvk, err)
		return e
	}
	t.remember(id, sum, written)
	e.ResourceVersion = written.GetResourceVersion()
	switch {
	case live == nil:
		e.Action = Created
	case live.GetResourceVersion() == written.GetResourceVersion():
		e.Action = Unchanged // as it was: the apply changed nothing
	default:
		e.Action = Configured
	}
	if d.Live {
		e.Live = written
	}
	return e
}

// liveObject is the whole object read, when the caller asked for it.
func liveObject(d *Desired, live metav1.Object) *unstructured.Unstructured {
	u, ok := live.(*unstructured.Unstructured)
	if !d.Live || !ok {
		return nil
	}
	return u
}

// kind is what the target is, for messages: "WEC" or "space".
func (t *Target) kind() string {
	if kind, _, ok := strings.Cut(t.opts.Name, " "); ok {
		return kind
	}
	return "target"
}

// remember records that an object is in place at a resourceVersion.
func (t *Target) remember(id string, sum [32]byte, live metav1.Object) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.verified[id] = verifiedObject{manifest: sum, resourceVersion: live.GetResourceVersion(),
		generation: live.GetGeneration(), metadata: labelwatch.MetadataSum(live)}
}

// idOf is the target's key of an object.
func idOf(gvk schema.GroupVersionKind, namespace, name string) string {
	return gvk.Group + "/" + gvk.Kind + "/" + namespace + "/" + name
}

// defaultNamespace sets "default" on a namespaced object without one, once
// its kind is known to the target.
func (t *Target) defaultNamespace(u *unstructured.Unstructured) {
	if u.GetNamespace() != "" {
		return
	}
	if namespaced, err := t.client.IsObjectNamespaced(u); err == nil && namespaced {
		u.SetNamespace(metav1.NamespaceDefault)
	}
}

// get reads the live object. A kind the target does not serve is looked up
// again a few times: a CRD installed a moment ago can be established before
// the target's discovery lists its kinds.
func (t *Target) get(ctx context.Context, id ObjectID, live *unstructured.Unstructured) error {
	var err error
	for attempt := 0; ; attempt++ {
		err = t.request(ctx, func() error { return t.client.Get(ctx, client.ObjectKey{Namespace: id.Namespace, Name: id.Name}, live) })
		if !meta.IsNoMatchError(err) || attempt == 4 {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		}
		t.resetMapper()
	}
}

func (t *Target) resetMapper() {
	if r, ok := t.client.RESTMapper().(meta.ResettableRESTMapper); ok {
		r.Reset()
	}
}

// patch server-side applies u, forcing only when told.
func (t *Target) patch(ctx context.Context, u *unstructured.Unstructured, force bool) error {
	opts := []client.PatchOption{client.FieldOwner(t.opts.FieldManager)}
	if force {
		opts = append(opts, client.ForceOwnership)
	}
	return t.request(ctx, func() error { return t.client.Patch(ctx, u, client.Apply, opts...) }) //nolint:staticcheck // unstructured apply
}

// waitFor waits until the CRDs and Namespaces just written are
// established and active; one that is not gets it in its message.
func (t *Target) waitFor(ctx context.Context, set []Desired, which []int, entries []Entry) {
	var objs object.ObjMetadataSet
	for _, i := range which {
		if entries[i].Action == Created || entries[i].Action == Configured {
			id := set[i].id()
			objs = append(objs, object.ObjMetadata{Namespace: id.Namespace, Name: id.Name, GroupKind: id.GVK.GroupKind()})
		}
	}
	if len(objs) == 0 {
		return
	}
	err := t.rm.WaitForSetWithContext(ctx, objs, ssa.WaitOptions{Interval: 200 * time.Millisecond, Timeout: t.opts.WaitTimeout})
	if err != nil {
		for _, i := range which {
			if entries[i].Action == Created || entries[i].Action == Configured {
				entries[i].Message = "not ready: " + err.Error()
			}
		}
	}
	t.resetMapper() // kinds defined by the new CRDs are now served
}

// Exists tells whether the target holds an object.
func (t *Target) Exists(ctx context.Context, u *unstructured.Unstructured) bool {
	live := &unstructured.Unstructured{}
	live.SetGroupVersionKind(u.GroupVersionKind())
	return t.client.Get(ctx, client.ObjectKeyFromObject(u), live) == nil
}

// Delete deletes an object (background propagation); one already gone,
// or of a kind no longer served, is no error.
func (t *Target) Delete(ctx context.Context, gvk schema.GroupVersionKind, namespace, name string) error {
	u := &unstructured.Unstructured{}
	u.SetGroupVersionKind(gvk)
	u.SetNamespace(namespace)
	u.SetName(name)
	t.Forget(&gvk, namespace, name)
	err := t.client.Delete(ctx, u, client.PropagationPolicy(metav1.DeletePropagationBackground))
	if err == nil || apierrors.IsNotFound(err) || meta.IsNoMatchError(err) {
		return nil
	}
	return fmt.Errorf("delete %s %s: %s", gvk.Kind, strings.TrimPrefix(namespace+"/"+name, "/"), ErrorMessage(err))
}

// conflictManager finds the managers named in a conflict error.
var conflictManager = regexp.MustCompile(`conflict with "([^"]+)"`)

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

// describe words an error of applying u: a kind not served, a refusal by
// RBAC, else the API's message.
func (t *Target) describe(gvk schema.GroupVersionKind, err error) string {
	switch {
	case meta.IsNoMatchError(err):
		return fmt.Sprintf("the %s does not serve %s", t.kind(), gvk)
	case apierrors.IsForbidden(err) && !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause):
		return fmt.Sprintf("not allowed: %s's role in the %s does not permit this object: %s", t.opts.Applier, t.kind(), ErrorMessage(err))
	}
	return ErrorMessage(err)
}

// ErrorMessage shortens an API error to its message.
func ErrorMessage(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) {
		return status.Status().Message
	}
	return err.Error()
}

// Field managers and markers of other GitOps tools: an object they manage
// is theirs, unless an entry adopts it.
var foreignManagers = []string{"kustomize-controller", "helm-controller", "argocd-controller", "argocd-application-controller"}

// OwnerAnnotations are the annotations ForeignOwner reads (for the
// watches' TargetOptions.Annotations).
var OwnerAnnotations = []string{"argocd.argoproj.io/tracking-id"}

// ForeignOwner names the other GitOps tool that manages an object, if
// any: Flux's or Argo CD's labels and annotations, or their field managers.
func ForeignOwner(live metav1.Object) string {
	l, ann := live.GetLabels(), live.GetAnnotations()
	switch {
	case l["kustomize.toolkit.fluxcd.io/name"] != "":
		return "Flux (kustomize.toolkit.fluxcd.io/name=" + l["kustomize.toolkit.fluxcd.io/name"] + ")"
	case l["helm.toolkit.fluxcd.io/name"] != "":
		return "Flux (helm.toolkit.fluxcd.io/name=" + l["helm.toolkit.fluxcd.io/name"] + ")"
	case ann["argocd.argoproj.io/tracking-id"] != "":
		return "Argo CD (argocd.argoproj.io/tracking-id)"
	}
	for _, mf := range live.GetManagedFields() {
		if slices.Contains(foreignManagers, mf.Manager) {
			return "field manager " + mf.Manager
		}
	}
	return ""
}

// ManagerNames are an object's field managers, each once.
func ManagerNames(u metav1.Object) []string {
	var names []string
	for _, mf := range u.GetManagedFields() {
		if !slices.Contains(names, mf.Manager) {
			names = append(names, mf.Manager)
		}
	}
	return names
}
