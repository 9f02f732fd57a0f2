package propagate

import (
	"context"
	"slices"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
)

// maxBystanders is how many bystanders are named when a Namespace is kept.
const maxBystanders = 5

// bystanders lists, for a Namespace the hub removed, objects in it that
// would go with it and should not: objects this agent did not deliver,
// and delivered objects that stay (going reports whether an object of
// the inventory is being deleted too). Not counted: objects with an owner
// (they go with what owns them), Events, Endpoints, and what the WEC puts
// in every Namespace (the default ServiceAccount, the kube-root-ca.crt
// ConfigMap). None is listed for another kind or for a Namespace annotated
// gitstellar.io/deletion: with-contents. Whatever cannot be read is
// listed as a reason to keep the Namespace: a guess never deletes.
func (a *Agent) bystanders(ctx context.Context, item apply.InventoryEntry, inv *agentInventory, going func(key string) bool) []string {
	if item.GVK() != (schema.GroupVersionKind{Version: "v1", Kind: "Namespace"}) {
		return nil
	}
	k, _ := item.Key()
	ns := &unstructured.Unstructured{}
	ns.SetAPIVersion("v1")
	ns.SetKind("Namespace")
	if err := a.wec.Get(ctx, client.ObjectKey{Name: k.Name}, ns); err != nil {
		if apierrors.IsNotFound(err) {
			return nil // gone already
		}
		return []string{"(cannot read the Namespace: " + apply.ErrorMessage(err) + ")"}
	}
	if ns.GetAnnotations()[gitstellarv1alpha1.AnnotationDeletion] == gitstellarv1alpha1.DeletionWithContents {
		return nil
	}
	a.discovery.Invalidate() // CRDs come and go in a WEC
	lists, err := a.discovery.ServerPreferredNamespacedResources()
	if err != nil {
		return []string{"(cannot list the WEC's resources: " + err.Error() + ")"}
	}
	var found []string
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !slices.Contains(r.Verbs, "list") || derived(gv.Group, r.Kind) {
				continue
			}
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(gv.WithKind(r.Kind + "List"))
			if err := a.wec.List(ctx, list, client.InNamespace(k.Name), client.Limit(100)); err != nil {
				return append(found, "(cannot list "+r.Name+": "+apply.ErrorMessage(err)+")")
			}
			for _, o := range list.Items {
				o.SetGroupVersionKind(gv.WithKind(r.Kind))
				key := objectKey(&o)
				if _, ours := inv.has(key); (ours && going(key)) || len(o.GetOwnerReferences()) > 0 || automatic(r.Kind, o.GetName()) {
					continue
				}
				if found = append(found, r.Kind+" "+o.GetName()); len(found) >= maxBystanders {
					return found
				}
			}
			if list.GetContinue() != "" {
				return append(found, "(more than 100 "+r.Name+")")
			}
		}
	}
	return found
}

// derived kinds are written by the WEC's controllers, not by people.
func derived(group, kind string) bool {
	return (group == "" && (kind == "Event" || kind == "Endpoints")) || (group == "events.k8s.io" && kind == "Event")
}

// automatic objects are created in every Namespace by the WEC itself.
func automatic(kind, name string) bool {
	return (kind == "ServiceAccount" && name == "default") || (kind == "ConfigMap" && name == "kube-root-ca.crt")
}
