package crds

import (
	"context"
	"fmt"
	"slices"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	structuralschema "k8s.io/apiextensions-apiserver/pkg/apiserver/schema"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/schema/cel"
	structuraldefaulting "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/defaulting"
	structuralpruning "k8s.io/apiextensions-apiserver/pkg/apiserver/schema/pruning"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	celconfig "k8s.io/apiserver/pkg/apis/cel"
)

// Validator checks objects of gitstellar's API groups against the embedded
// CRDs as an apiserver would on create: unknown fields, then the OpenAPI
// schema (after defaulting), then the CEL rules. It needs no apiserver, so
// a typo in a BindingPolicy is found before it is merged.
type Validator struct {
	kinds map[schema.GroupVersionKind]*kindValidator
}

type kindValidator struct {
	structural *structuralschema.Structural
	schema     validation.SchemaValidator
	cel        *cel.Validator
}

// NewValidator compiles the schemas of every embedded CRD.
func NewValidator() (*Validator, error) {
	all, err := ForRole(RoleAll)
	if err != nil {
		return nil, err
	}
	v := &Validator{kinds: map[schema.GroupVersionKind]*kindValidator{}}
	for _, crd := range all {
		for _, ver := range crd.Spec.Versions {
			kv, err := compile(ver.Schema)
			if err != nil {
				return nil, fmt.Errorf("customresourcedefinition %s %s: %w", crd.Name, ver.Name, err)
			}
			v.kinds[schema.GroupVersionKind{Group: crd.Spec.Group, Version: ver.Name, Kind: crd.Spec.Names.Kind}] = kv
		}
	}
	return v, nil
}

func compile(val *apiextensionsv1.CustomResourceValidation) (*kindValidator, error) {
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(val.OpenAPIV3Schema, internal, nil); err != nil {
		return nil, err
	}
	structural, err := structuralschema.NewStructural(internal)
	if err != nil {
		return nil, err
	}
	sv, _, err := validation.NewSchemaValidator(internal)
	if err != nil {
		return nil, err
	}
	return &kindValidator{structural: structural, schema: sv, cel: cel.NewValidator(structural, true, celconfig.PerCallLimit)}, nil
}

// Handles tells whether the validator knows the kind (any version of our
// groups: an unknown version of a known group is an error, not a pass).
func (v *Validator) Handles(gvk schema.GroupVersionKind) bool {
	for k := range v.kinds {
		if k.Group == gvk.Group {
			return true
		}
	}
	return false
}

// Validate returns the problems of an object, each naming the field; none
// when it is valid. The object is not changed.
func (v *Validator) Validate(ctx context.Context, obj *unstructured.Unstructured) []string {
	gvk := obj.GroupVersionKind()
	kv, ok := v.kinds[gvk]
	if !ok {
		return []string{fmt.Sprintf("%s is not a kind of %s served by gitstellar", gvk.Kind, gvk.GroupVersion())}
	}
	return kv.validate(ctx, obj)
}

// validate checks an object against one version's schema.
func (kv *kindValidator) validate(ctx context.Context, obj *unstructured.Unstructured) []string {
	u := runtime.DeepCopyJSON(obj.Object)
	var problems []string
	unknown := structuralpruning.PruneWithOptions(u, kv.structural, true, structuralschema.UnknownFieldPathOptions{TrackUnknownFieldPaths: true})
	for _, path := range unknown {
		problems = append(problems, fmt.Sprintf("unknown field %q", path))
	}
	structuraldefaulting.Default(u, kv.structural)
	for _, e := range validation.ValidateCustomResource(nil, u, kv.schema) {
		problems = append(problems, e.Error())
	}
	if kv.cel != nil {
		errs, _ := kv.cel.Validate(ctx, nil, kv.structural, u, nil, celconfig.RuntimeCELCostBudget)
		for _, e := range errs {
			problems = append(problems, e.Error())
		}
	}
	slices.Sort(problems)
	return slices.Compact(problems)
}
