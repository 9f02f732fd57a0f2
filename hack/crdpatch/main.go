// Command crdpatch adds to the CRDs that controller-gen writes the
// validations that markers cannot reach: those inside a type of another
// module (metav1.LabelSelector in a BindingPolicy's clusterSelectors), as
// KubeStellar's CRDs carry them. `make generate` runs it after
// controller-gen; it rewrites each file it patches in controller-gen's own
// format (sigs.k8s.io/yaml, keys sorted).
//
// Usage: go run ./hack/crdpatch DIR
package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"
)

// labelValue and labelKey are the label syntax that Kubernetes' validation
// checks (k8s.io/apimachinery/pkg/util/validation), as patterns.
const (
	labelValue = `^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$`
	labelKey   = `^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$`
	operator   = `^(In|NotIn|Exists|DoesNotExist)$`
)

// patch sets one field of a schema node, found by its path of property
// names from the version's openAPIV3Schema.
type patch struct {
	file  string
	path  string // slash-separated keys below openAPIV3Schema
	field string
	value any
}

const selectors = "properties/spec/properties/clusterSelectors/items/properties/"

var patches = []patch{
	{"control.kubestellar.io_bindingpolicies.yaml", selectors + "matchLabels/additionalProperties", "pattern", labelValue},
	{"control.kubestellar.io_bindingpolicies.yaml", selectors + "matchExpressions/items/properties/key", "pattern", labelKey},
	{"control.kubestellar.io_bindingpolicies.yaml", selectors + "matchExpressions/items/properties/operator", "pattern", operator},
	{"control.kubestellar.io_bindingpolicies.yaml", selectors + "matchExpressions/items/properties/values/items", "pattern", labelValue},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdpatch DIR")
		os.Exit(2)
	}
	if err := run(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "crdpatch:", err)
		os.Exit(1)
	}
}

func run(dir string) error {
	byFile := map[string][]patch{}
	for _, p := range patches {
		byFile[p.file] = append(byFile[p.file], p)
	}
	for file, ps := range byFile {
		path := filepath.Join(dir, file)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		const header = "---\n"
		var crd map[string]any
		if err := yaml.Unmarshal(bytes.TrimPrefix(data, []byte(header)), &crd); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		versions, _ := dig(crd, "spec/versions").([]any)
		if len(versions) == 0 {
			return fmt.Errorf("%s: no versions", path)
		}
		for _, v := range versions {
			for _, p := range ps {
				node, ok := dig(v, "schema/openAPIV3Schema/"+p.path).(map[string]any)
				if !ok {
					return fmt.Errorf("%s: no schema at %s", path, p.path)
				}
				node[p.field] = p.value
			}
		}
		out, err := yaml.Marshal(crd)
		if err != nil {
			return err
		}
		if err := os.WriteFile(path, append([]byte(header), out...), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func dig(node any, path string) any {
	for _, k := range strings.Split(path, "/") {
		m, ok := node.(map[string]any)
		if !ok {
			return nil
		}
		node = m[k]
	}
	return node
}
