package render

import (
	"context"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// SchemaValidator checks objects of some API groups against their schemas
// (pkg/crds provides one for gitstellar's own groups).
type SchemaValidator interface {
	Handles(gvk schema.GroupVersionKind) bool
	Validate(ctx context.Context, obj *unstructured.Unstructured) []string
}

// Validate checks every rendered object that v handles and returns the
// problems, each at the object's location; nil when all are valid.
func Validate(ctx context.Context, res *Result, v SchemaValidator) Errors {
	var errs Errors
	for _, s := range res.Spaces {
		for _, o := range s.Objects {
			if !v.Handles(o.GroupVersionKind()) {
				continue
			}
			for _, p := range v.Validate(ctx, o.Unstructured) {
				errs = append(errs, &Error{Location: o.Source, Message: KeyOf(o.Unstructured).String() + ": " + p})
			}
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs.sorted()
}
