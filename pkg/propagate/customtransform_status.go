package propagate

import (
	"context"
	"slices"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/cache"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// The CustomTransforms' status: the paths of spec.remove that do not parse, written with server-side apply.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=customtransforms/status,verbs=patch

// transformStatusKey prefixes the queue keys that write a CustomTransform's
// status (names cannot hold a colon).
const transformStatusKey = "customtransform:"

// transformHandler reacts to the CustomTransforms: a new, changed or gone
// one re-transforms every Binding; each one's status is (re)written. Status
// writes, here or elsewhere, do not change the generation and re-transform
// nothing.
func (t *Transport) transformHandler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc: func(o any) {
			t.enqueueAll()
			t.enqueueTransformStatus(o)
		},
		UpdateFunc: func(old, o any) {
			a, ok1 := old.(*unstructured.Unstructured)
			b, ok2 := o.(*unstructured.Unstructured)
			if !ok1 || !ok2 || a.GetGeneration() != b.GetGeneration() {
				t.enqueueAll()
			}
			t.enqueueTransformStatus(o)
		},
		DeleteFunc: func(any) { t.enqueueAll() },
	}
}

func (t *Transport) enqueueTransformStatus(o any) {
	if u, ok := o.(*unstructured.Unstructured); ok {
		t.queue.Add(transformStatusKey + u.GetName())
	}
}

// writeTransformStatus puts into a CustomTransform's status.errors the paths
// of its spec.remove that do not parse (as CheckCustomTransform words them),
// with observedGeneration, when the status says otherwise: one
// server-side-apply patch of the status subresource, only on change.
func (t *Transport) writeTransformStatus(ctx context.Context, name string) error {
	raw, found, err := t.transforms.GetStore().GetByKey(name)
	if err != nil || !found {
		return err
	}
	var ct controlv1alpha1.CustomTransform
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.(*unstructured.Unstructured).Object, &ct); err != nil {
		return err
	}
	_, problems := parseRemove(ct.Spec.Remove)
	if ct.Status.ObservedGeneration == ct.Generation && slices.Equal(ct.Status.Errors, problems) {
		return nil
	}
	_, err = t.wds.Resource(CustomTransforms).ApplyStatus(ctx, ct.Name, transformStatus(&ct, problems),
		metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager + "-transport", Force: true})
	switch {
	case apierrors.IsNotFound(err):
		return nil // gone since
	case apierrors.IsForbidden(err):
		// An installation whose role predates this write: say so, do
		// not retry until the CustomTransform changes.
		t.opts.Log.Info("cannot write the status of a CustomTransform", "wds", t.opts.WDS, "customTransform", name, "error", err.Error())
		return nil
	}
	return err
}

// transformStatus is the apply configuration of a CustomTransform's
// status: errors omitted when there are none, so that applying removes
// them.
func transformStatus(ct *controlv1alpha1.CustomTransform, problems []string) *unstructured.Unstructured {
	status := map[string]any{"observedGeneration": ct.Generation}
	if len(problems) > 0 {
		errs := make([]any, len(problems))
		for i, p := range problems {
			errs[i] = p
		}
		status["errors"] = errs
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": controlv1alpha1.GroupVersion.String(), "kind": "CustomTransform",
		"metadata": map[string]any{"name": ct.Name}, "status": status,
	}}
}
