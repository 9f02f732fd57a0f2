package labelwatch

import (
	"context"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/dynamic/dynamicinformer"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
)

// Options configures Watches.
type Options struct {
	// Selector selects the writer's objects, e.g. "gitstellar.io/agent=cluster1".
	Selector string
	// Annotations are the annotations kept of each object (the others
	// are dropped, to hold little).
	Annotations []string
	// Changed, when set, is told of every change to a watched object,
	// the writer's own included: its kind, namespace, name and new
	// resourceVersion ("" when it was deleted or lost the label), and
	// whether only its status can have changed (the same generation,
	// labels, annotations and deletion state: a controller's status
	// write, which no apply of the writer needs to correct).
	Changed func(gvk schema.GroupVersionKind, namespace, name, resourceVersion string, statusOnly bool)
	// WithStatus, when set, chooses the kinds watched with their status
	// (and the few fields of their spec that health is computed from):
	// the writer then learns an object's health from its watch (Live)
	// instead of reading it. The other kinds are watched by metadata
	// alone.
	WithStatus func(schema.GroupVersionKind) bool
	Log        logr.Logger
}

// Watches holds a writer's informers in one cluster, one per kind.
type Watches struct {
	client  metadata.Interface
	dynamic dynamic.Interface
	mapper  meta.RESTMapper
	opts    Options

	mu    sync.Mutex
	ctx   context.Context // set by Start
	kinds map[schema.GroupVersionKind]*watchedKind
}

type watchedKind struct {
	informer   cache.SharedIndexInformer
	withStatus bool        // its objects are held with their status
	refused    atomic.Bool // listing or watching it is forbidden: not watched
}

// object is what the watches hold of an object: its metadata (slim) and,
// for a kind watched with its status, the status and the top-level
// scalar fields of its spec and its updateStrategy (what kstatus reads).
type object struct {
	meta         *metav1.PartialObjectMetadata
	spec, status map[string]any
}

// GetObjectMeta lets the informer's store key the object.
func (o *object) GetObjectMeta() metav1.Object { return &o.meta.ObjectMeta }

// New prepares the watches of one cluster; nothing is watched before Start.
func New(cfg *rest.Config, mapper meta.RESTMapper, opts Options) (*Watches, error) {
	client, err := metadata.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	return &Watches{client: client, dynamic: dyn, mapper: mapper, opts: opts, kinds: map[schema.GroupVersionKind]*watchedKind{}}, nil
}

// Start lets Ensure start informers, which run until ctx ends.
func (w *Watches) Start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
}

// Ensure starts watching a kind, once. A kind the cluster does not serve
// (yet) is tried again at the next call.
func (w *Watches) Ensure(gvk schema.GroupVersionKind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.ctx.Err() != nil || w.kinds[gvk] != nil {
		return
	}
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return
	}
	selected := func(o *metav1.ListOptions) { o.LabelSelector = w.opts.Selector }
	wk := &watchedKind{withStatus: w.opts.WithStatus != nil && w.opts.WithStatus(gvk)}
	if wk.withStatus {
		wk.informer = dynamicinformer.NewFilteredDynamicInformer(w.dynamic, mapping.Resource, metav1.NamespaceAll, 0, cache.Indexers{}, selected).Informer()
	} else {
		wk.informer = metadatainformer.NewFilteredMetadataInformer(w.client, mapping.Resource, metav1.NamespaceAll, 0, cache.Indexers{}, selected).Informer()
	}
	informer := wk.informer
	_ = informer.SetTransform(w.hold)
	ctx, cancel := context.WithCancel(w.ctx)
	_ = informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) && !wk.refused.Swap(true) {
			w.opts.Log.Info("not allowed to watch this kind: its objects are read instead", "kind", gvk.String(), "selector", w.opts.Selector, "error", err.Error())
			cancel()
		}
	})
	if changed := w.opts.Changed; changed != nil {
		tell := func(o any, deleted, statusOnly bool) {
			if tomb, ok := o.(cache.DeletedFinalStateUnknown); ok {
				o = tomb.Obj
			}
			if h, ok := o.(*object); ok {
				rv := h.meta.ResourceVersion
				if deleted {
					rv = ""
				}
				changed(gvk, h.meta.Namespace, h.meta.Name, rv, statusOnly)
			}
		}
		_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(o any) { tell(o, false, false) },
			UpdateFunc: func(old, o any) { tell(o, false, onlyStatusChanged(old, o)) },
			DeleteFunc: func(o any) { tell(o, true, false) },
		})
	}
	w.kinds[gvk] = wk
	go informer.RunWithContext(ctx)
}

// Lookup tells whether a kind is watched (its informer has synced and is
// allowed) and, if so, the object's metadata as last seen (nil: absent, or
// without the label).
func (w *Watches) Lookup(gvk schema.GroupVersionKind, namespace, name string) (*metav1.PartialObjectMetadata, bool) {
	h, _, watched := w.lookup(gvk, namespace, name)
	if h == nil {
		return nil, watched
	}
	return h.meta, true
}

// Live gives, for a watched kind, the object as its watch last saw it,
// as much of it as its health is computed from: its metadata (as Lookup
// gives it), and for a kind watched with its status, that status and the
// top-level scalar fields of its spec and its updateStrategy; a kind
// watched by metadata alone is one WithStatus says has no status. It
// says whether the kind is watched (nil: absent, or without the label).
func (w *Watches) Live(gvk schema.GroupVersionKind, namespace, name string) (*unstructured.Unstructured, bool) {
	h, wk, watched := w.lookup(gvk, namespace, name)
	if h == nil {
		return nil, watched
	}
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": gvk.GroupVersion().String(), "kind": gvk.Kind}}
	u.SetName(h.meta.Name)
	u.SetNamespace(h.meta.Namespace)
	u.SetUID(h.meta.UID)
	u.SetResourceVersion(h.meta.ResourceVersion)
	u.SetGeneration(h.meta.Generation)
	u.SetLabels(h.meta.Labels)
	u.SetDeletionTimestamp(h.meta.DeletionTimestamp)
	if wk.withStatus {
		if h.spec != nil {
			u.Object["spec"] = runtime.DeepCopyJSONValue(h.spec)
		}
		if h.status != nil {
			u.Object["status"] = runtime.DeepCopyJSONValue(h.status)
		}
	}
	return u, true
}

func (w *Watches) lookup(gvk schema.GroupVersionKind, namespace, name string) (*object, *watchedKind, bool) {
	w.mu.Lock()
	wk, stopped := w.kinds[gvk], w.ctx == nil || w.ctx.Err() != nil
	w.mu.Unlock()
	if wk == nil || stopped || wk.refused.Load() || !wk.informer.HasSynced() {
		return nil, nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	o, ok, err := wk.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil, wk, true
	}
	h, _ := o.(*object)
	return h, wk, true
}

// hold turns what an informer got into what it keeps (object).
func (w *Watches) hold(o any) (any, error) {
	switch o := o.(type) {
	case *metav1.PartialObjectMetadata:
		return &object{meta: w.slim(o, o.TypeMeta)}, nil
	case *unstructured.Unstructured:
		h := &object{meta: w.slim(o, metav1.TypeMeta{APIVersion: o.GetAPIVersion(), Kind: o.GetKind()})}
		h.status, _ = o.Object["status"].(map[string]any)
		if spec, ok := o.Object["spec"].(map[string]any); ok {
			for k, v := range spec {
				switch v.(type) {
				case map[string]any, []any:
					if k != "updateStrategy" {
						continue
					}
				}
				if h.spec == nil {
					h.spec = map[string]any{}
				}
				h.spec[k] = v
			}
		}
		return h, nil
	}
	return o, nil
}

// slim keeps of an object's metadata only what a writer reads: its
// identity, resourceVersion, generation, labels, deletion, the chosen
// annotations and its field managers' names.
func (w *Watches) slim(m metav1.Object, typeMeta metav1.TypeMeta) *metav1.PartialObjectMetadata {
	slim := &metav1.PartialObjectMetadata{TypeMeta: typeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion(), Generation: m.GetGeneration(),
		Labels: m.GetLabels(), DeletionTimestamp: m.GetDeletionTimestamp(),
	}}
	annotations := m.GetAnnotations()
	for _, k := range w.opts.Annotations {
		if v, ok := annotations[k]; ok {
			if slim.Annotations == nil {
				slim.Annotations = map[string]string{}
			}
			slim.Annotations[k] = v
		}
	}
	for _, f := range m.GetManagedFields() {
		slim.ManagedFields = append(slim.ManagedFields, metav1.ManagedFieldsEntry{Manager: f.Manager, Operation: f.Operation})
	}
	if len(annotations) > 0 {
		if slim.Annotations == nil {
			slim.Annotations = map[string]string{}
		}
		slim.Annotations[AnnotationsSum] = annotationsSum(annotations)
	}
	return slim
}

// AnnotationsSum is the key under which the metadata Lookup gives holds a
// hash of all the object's annotations (the others than Options.Annotations
// are dropped): set here, never read from or sent to a cluster.
const AnnotationsSum = "labelwatch.gitstellar.io/annotations-sum"

func annotationsSum(annotations map[string]string) string {
	h := fnv.New64a()
	for _, k := range slices.Sorted(maps.Keys(annotations)) {
		_, _ = h.Write([]byte(k))
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(annotations[k]))
		_, _ = h.Write([]byte{0})
	}
	return strconv.FormatUint(h.Sum64(), 16)
}

// onlyStatusChanged tells whether an update left everything but the status
// as it was (MetadataSum).
func onlyStatusChanged(old, o any) bool {
	x, ok1 := old.(*object)
	y, ok2 := o.(*object)
	return ok1 && ok2 && x.meta.Generation > 0 && MetadataSum(x.meta) == MetadataSum(y.meta)
}

// MetadataSum fingerprints what a change to an object other than to its
// status changes: its generation (which a change of the spec bumps; 0 for
// kinds without one, where nothing tells a status change apart), labels,
// annotations and deletion. It reads the metadata Lookup gives as well as
// a whole object: two equal sums at a generation above 0 mean that only the
// status can have changed between them.
func MetadataSum(o metav1.Object) string {
	annotations, ok := o.GetAnnotations()[AnnotationsSum]
	if !ok {
		annotations = annotationsSum(o.GetAnnotations())
	}
	deleting := o.GetDeletionTimestamp() != nil
	return fmt.Sprintf("%d/%s/%s/%t", o.GetGeneration(), annotationsSum(o.GetLabels()), annotations, deleting)
}

// List reads the metadata of every object of a kind in the cluster,
// labelled or not, a page at a time, and keeps those keep selects, by
// namespace/name: one request per page where reading each object would
// cost one each.
func (w *Watches) List(ctx context.Context, gvk schema.GroupVersionKind, keep func(namespace, name string) bool) (map[string]*metav1.PartialObjectMetadata, error) {
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return nil, err
	}
	out := map[string]*metav1.PartialObjectMetadata{}
	opts := metav1.ListOptions{Limit: listPage}
	for {
		page, err := w.client.Resource(mapping.Resource).List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for i := range page.Items {
			m := &page.Items[i]
			if keep(m.Namespace, m.Name) {
				out[m.Namespace+"/"+m.Name] = w.slim(m, m.TypeMeta)
			}
		}
		if page.Continue == "" {
			return out, nil
		}
		opts.Continue = page.Continue
	}
}

// listPage is how many objects one request of List reads.
const listPage = 500
