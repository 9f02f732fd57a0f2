package crds

import (
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

//go:embed manifests/*.yaml
var manifests embed.FS

// Role selects the CRDs a kind of space needs.
type Role string

// The roles.
const (
	// RoleWDS: KubeStellar's control objects, and Space.
	RoleWDS Role = "WDS"
	// RoleITS: WorkloadCluster, Delivery and Space.
	RoleITS Role = "ITS"
	// RoleAll: every CRD.
	RoleAll Role = "all"
)

// CRD is one embedded CustomResourceDefinition, decoded, and as JSON with
// gitstellar's managed-by label, ready to be applied.
type CRD struct {
	*apiextensionsv1.CustomResourceDefinition
	applyJSON []byte
}

// ForRole returns the CRDs a space of that role needs, sorted by name.
func ForRole(role Role) ([]CRD, error) {
	entries, err := fs.ReadDir(manifests, "manifests")
	if err != nil {
		return nil, err
	}
	var out []CRD
	for _, e := range entries {
		crd, err := decode(path.Join("manifests", e.Name()))
		if err != nil {
			return nil, err
		}
		if belongs(crd.CustomResourceDefinition, role) {
			out = append(out, crd)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no CRDs for role %q (want WDS, ITS or all)", role)
	}
	slices.SortFunc(out, func(a, b CRD) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

func decode(name string) (CRD, error) {
	b, err := manifests.ReadFile(name)
	if err != nil {
		return CRD{}, err
	}
	var crd apiextensionsv1.CustomResourceDefinition
	if err := yaml.UnmarshalStrict(b, &crd); err != nil {
		return CRD{}, fmt.Errorf("embedded %s: %w", name, err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(b, &obj); err != nil {
		return CRD{}, fmt.Errorf("embedded %s: %w", name, err)
	}
	meta, _ := obj["metadata"].(map[string]any)
	labels, _ := meta["labels"].(map[string]any)
	if labels == nil {
		labels = map[string]any{}
	}
	labels[gitstellarv1alpha1.LabelManagedBy] = gitstellarv1alpha1.ManagedByValue
	meta["labels"] = labels
	crd.Labels = map[string]string{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}
	j, err := yaml.Marshal(obj)
	if err != nil {
		return CRD{}, err
	}
	if j, err = yaml.YAMLToJSON(j); err != nil {
		return CRD{}, err
	}
	return CRD{CustomResourceDefinition: &crd, applyJSON: j}, nil
}

func belongs(crd *apiextensionsv1.CustomResourceDefinition, role Role) bool {
	switch role {
	case RoleAll:
		return true
	case RoleWDS:
		return crd.Spec.Group == controlv1alpha1.GroupVersion.Group || crd.Spec.Names.Kind == "Space"
	case RoleITS:
		return crd.Spec.Group == gitstellarv1alpha1.GroupVersion.Group
	}
	return false
}

// YAML renders CRDs as one multi-document YAML stream, as they are applied.
func YAML(crds []CRD) ([]byte, error) {
	var b strings.Builder
	for _, crd := range crds {
		y, err := yaml.JSONToYAML(crd.applyJSON)
		if err != nil {
			return nil, err
		}
		b.WriteString("---\n")
		b.Write(y)
	}
	return []byte(b.String()), nil
}
