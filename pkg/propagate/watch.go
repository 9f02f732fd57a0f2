package propagate

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/go-logr/logr"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// The agent watches the WEC objects it applied, instead of reading them
// again on a timer: one metadata-only informer per kind, selecting the
// objects by the label the agent puts on them (LabelAgent). A change that
// is not the agent's own write (another resourceVersion than the one its
// apply returned) marks the object for the next reconcile, which applies
// it again: drift is corrected, a deleted object is recreated, and the
// apply's response carries the object's new health and status.
//
// A kind the agent may not list and watch across the WEC (an agent
// limited to some namespaces) is not watched: its objects are read again
// at every resync instead, as are objects not applied yet.

// wecWatches holds the agent's informers in its WEC, one per kind.
type wecWatches struct {
	client   metadata.Interface
	mapper   meta.RESTMapper
	selector string
	log      logr.Logger
	// changed is told of every change to a watched object that may not be
	// the agent's own: the object's key and resourceVersion ("" when it
	// was deleted or lost the label).
	changed func(key, resourceVersion string)

	mu    sync.Mutex
	ctx   context.Context // the agent's run; set by start
	kinds map[schema.GroupVersionKind]*watchedKind
}

type watchedKind struct {
	informer cache.SharedIndexInformer
	refused  atomic.Bool // listing or watching it is forbidden: not watched
}

func newWECWatches(client metadata.Interface, mapper meta.RESTMapper, cluster string, log logr.Logger, changed func(key, resourceVersion string)) *wecWatches {
	return &wecWatches{client: client, mapper: mapper, selector: gitstellarv1alpha1.LabelAgent + "=" + cluster, log: log,
		changed: changed, kinds: map[schema.GroupVersionKind]*watchedKind{}}
}

// start sets the context the informers run in.
func (w *wecWatches) start(ctx context.Context) {
	w.mu.Lock()
	w.ctx = ctx
	w.mu.Unlock()
}

// ensure starts watching a kind, once. A kind the WEC does not serve (yet)
// is tried again at the next call.
func (w *wecWatches) ensure(gvk schema.GroupVersionKind) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.ctx == nil || w.kinds[gvk] != nil {
		return
	}
	mapping, err := w.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return
	}
	informer := metadatainformer.NewFilteredMetadataInformer(w.client, mapping.Resource, metav1.NamespaceAll, 0, cache.Indexers{},
		func(o *metav1.ListOptions) { o.LabelSelector = w.selector }).Informer()
	wk := &watchedKind{informer: informer}
	_ = informer.SetTransform(slimMetadata)
	ctx, cancel := context.WithCancel(w.ctx)
	_ = informer.SetWatchErrorHandler(func(_ *cache.Reflector, err error) {
		if apierrors.IsForbidden(err) && !wk.refused.Swap(true) {
			w.log.Info("not allowed to watch this kind in the WEC: its objects are read again at every resync instead", "kind", gvk.String(), "error", err.Error())
			cancel()
		}
	})
	key := func(o any) (string, string) {
		if tomb, ok := o.(cache.DeletedFinalStateUnknown); ok {
			o = tomb.Obj
		}
		m, ok := o.(*metav1.PartialObjectMetadata)
		if !ok {
			return "", ""
		}
		return gvk.Group + "/" + gvk.Kind + "/" + m.Namespace + "/" + m.Name, m.ResourceVersion
	}
	_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			if k, rv := key(o); k != "" {
				w.changed(k, rv)
			}
		},
		UpdateFunc: func(_, o any) {
			if k, rv := key(o); k != "" {
				w.changed(k, rv)
			}
		},
		DeleteFunc: func(o any) {
			if k, _ := key(o); k != "" {
				w.changed(k, "")
			}
		},
	})
	w.kinds[gvk] = wk
	go informer.RunWithContext(ctx)
}

// lookup tells whether a kind is watched (its informer has synced and is
// allowed) and, if so, the object's metadata as last seen (nil: absent, or
// without the agent's label).
func (w *wecWatches) lookup(gvk schema.GroupVersionKind, namespace, name string) (*metav1.PartialObjectMetadata, bool) {
	w.mu.Lock()
	wk := w.kinds[gvk]
	w.mu.Unlock()
	if wk == nil || wk.refused.Load() || !wk.informer.HasSynced() {
		return nil, false
	}
	key := name
	if namespace != "" {
		key = namespace + "/" + name
	}
	o, ok, err := wk.informer.GetStore().GetByKey(key)
	if err != nil || !ok {
		return nil, true
	}
	m, _ := o.(*metav1.PartialObjectMetadata)
	return m, true
}

// slimMetadata keeps of a watched object only what the agent reads: its
// identity, resourceVersion, labels, the annotation of another tool that
// would own it, and its field managers' names.
func slimMetadata(o any) (any, error) {
	m, ok := o.(*metav1.PartialObjectMetadata)
	if !ok {
		return o, nil
	}
	slim := &metav1.PartialObjectMetadata{TypeMeta: m.TypeMeta, ObjectMeta: metav1.ObjectMeta{
		Name: m.Name, Namespace: m.Namespace, UID: m.UID, ResourceVersion: m.ResourceVersion, Generation: m.Generation,
		Labels: m.Labels, DeletionTimestamp: m.DeletionTimestamp,
	}}
	for _, k := range ownerAnnotations {
		if v, ok := m.Annotations[k]; ok {
			if slim.Annotations == nil {
				slim.Annotations = map[string]string{}
			}
			slim.Annotations[k] = v
		}
	}
	for _, f := range m.ManagedFields {
		slim.ManagedFields = append(slim.ManagedFields, metav1.ManagedFieldsEntry{Manager: f.Manager, Operation: f.Operation})
	}
	return slim, nil
}
