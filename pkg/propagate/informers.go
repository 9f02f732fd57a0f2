package propagate

import (
	"k8s.io/client-go/tools/cache"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
)

// DeliveriesByBinding is the index of the Deliveries informer by the WDS
// and Binding that a Delivery carries: DeliveryBindingKey.
const DeliveriesByBinding = "gitstellar.io/wds-binding"

// DeliveryBindingKey is "<wds>/<binding>" (neither holds a "/").
func DeliveryBindingKey(wds, binding string) string { return wds + "/" + binding }

func deliveryBindingIndex(o any) ([]string, error) {
	if m, ok := o.(interface{ GetLabels() map[string]string }); ok {
		l := m.GetLabels()
		return []string{DeliveryBindingKey(l[gitstellarv1alpha1.LabelWDS], l[gitstellarv1alpha1.LabelBinding])}, nil
	}
	return nil, nil
}

// DeliveriesInformer is the informer of every Delivery of an ITS, indexed
// by namespace (a WEC's mailbox) and by DeliveriesByBinding: one copy
// serves the transport and the status controller of every WDS and the
// in-process agents of every WEC.
func DeliveriesInformer(its *spacecache.Cache) (cache.SharedIndexInformer, error) {
	return its.Informer(Deliveries, spacecache.Filter{}, cache.Indexers{DeliveriesByBinding: deliveryBindingIndex})
}

// OfWDS passes on the events of one WDS's Deliveries only.
func OfWDS(wds string, h cache.ResourceEventHandler) cache.ResourceEventHandler {
	return cache.FilteringResourceEventHandler{Handler: h, FilterFunc: func(o any) bool {
		u, ok := keyqueue.Unstructured(o)
		return ok && u.GetLabels()[gitstellarv1alpha1.LabelWDS] == wds
	}}
}

// InNamespace passes on the events of one namespace's objects only.
func InNamespace(namespace string, h cache.ResourceEventHandler) cache.ResourceEventHandler {
	return cache.FilteringResourceEventHandler{Handler: h, FilterFunc: func(o any) bool {
		u, ok := keyqueue.Unstructured(o)
		return ok && u.GetNamespace() == namespace
	}}
}
