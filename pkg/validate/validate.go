package validate

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// New returns the validator of control objects. It compiles every
// embedded CRD's schema: make one and keep it.
func New() (render.SchemaValidator, error) {
	schemas, err := crds.NewValidator()
	if err != nil {
		return nil, err
	}
	return all{schemas, customTransforms{}, statusCollectors{}}, nil
}

// all runs every validator that handles an object; the schema's first, and
// the others only on an object that passes it (they read it typed).
type all []render.SchemaValidator

func (vs all) Handles(gvk schema.GroupVersionKind) bool {
	return slices.ContainsFunc(vs, func(v render.SchemaValidator) bool { return v.Handles(gvk) })
}

func (vs all) Validate(ctx context.Context, obj *unstructured.Unstructured) []string {
	var problems []string
	for _, v := range vs {
		if len(problems) > 0 {
			break
		}
		if v.Handles(obj.GroupVersionKind()) {
			problems = append(problems, v.Validate(ctx, obj)...)
		}
	}
	return problems
}

// customTransforms parses a CustomTransform's paths as the transport will.
type customTransforms struct{}

func (customTransforms) Handles(gvk schema.GroupVersionKind) bool {
	return gvk == controlv1alpha1.GroupVersion.WithKind("CustomTransform")
}

func (customTransforms) Validate(_ context.Context, obj *unstructured.Unstructured) []string {
	return propagate.CheckCustomTransform(obj)
}

// statusCollectors compiles a StatusCollector's CEL expressions as the
// status controller will.
type statusCollectors struct{}

func (statusCollectors) Handles(gvk schema.GroupVersionKind) bool {
	return gvk == controlv1alpha1.GroupVersion.WithKind("StatusCollector")
}

func (statusCollectors) Validate(_ context.Context, obj *unstructured.Unstructured) []string {
	var sc controlv1alpha1.StatusCollector
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &sc); err != nil {
		return []string{fmt.Sprintf("not a StatusCollector: %v", err)}
	}
	_, err := report.CompileCollector(&sc)
	return report.CollectorErrors(err)
}
