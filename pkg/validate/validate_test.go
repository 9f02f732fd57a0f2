package validate_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/validate"
)

const spaces = `apiVersion: gitstellar.io/v1alpha1
kind: Space
metadata: {name: its1}
spec: {type: ITS}
---
apiVersion: gitstellar.io/v1alpha1
kind: Space
metadata: {name: wds1}
spec: {type: WDS, its: its1}
`

// renderWith renders a repository of the spaces and one file of control
// objects, with the validator.
func renderWith(t *testing.T, control string) error {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "spaces"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wds1"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "spaces", "spaces.yaml"), []byte(spaces), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wds1", "control.yaml"), []byte(control), 0o644))
	v, err := validate.New()
	require.NoError(t, err)
	_, err = render.Directory(context.Background(), dir, render.Options{Validator: v})
	return err
}

// TestRevisionRefused: each rule a space or a controller would apply to a
// control object refuses the revision, with the object's file:line.
func TestRevisionRefused(t *testing.T) {
	for _, tc := range []struct {
		name, control string
		want          []string // substrings of the one error per bad object
	}{
		{"a good revision", `apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: web}
spec:
  clusterSelectors: [{matchLabels: {location: edge}, matchExpressions: [{key: example.com/tier, operator: In, values: [gold]}]}]
  downsync: [{objectSelectors: [{matchLabels: {app: web}}], statusCollectors: [ready]}]
---
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: ready}
spec:
  select: [{name: available, def: returned.status.availableReplicas}]
  limit: 10
`, nil},
		{"selector operator, key and values", `apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: web}
spec:
  clusterSelectors:
  - matchLabels: {location: "not a value"}
    matchExpressions:
    - {key: "bad key", operator: Inn, values: ["-edge"]}
  downsync: [{objectSelectors: [{matchLabels: {app: web}}]}]
`, []string{"wds1/control.yaml:1: BindingPolicy.control.kubestellar.io web:",
			`spec.clusterSelectors[0].matchExpressions[0].operator: Invalid value: "Inn"`,
			`spec.clusterSelectors[0].matchExpressions[0].key: Invalid value: "bad key"`,
			`spec.clusterSelectors[0].matchExpressions[0].values[0]: Invalid value: "-edge"`,
			`spec.clusterSelectors[0].matchLabels.location: Invalid value: "not a value"`}},
		{"a StatusCollector's CEL", `apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: ready}
spec:
  select: [{name: available, def: "returned.status.(("}]
  limit: 10
`, []string{"wds1/control.yaml:1: StatusCollector.control.kubestellar.io ready: spec.select[0].def: 1:17: Syntax error"}},
		{"a CustomTransform's path", `apiVersion: control.kubestellar.io/v1alpha1
kind: CustomTransform
metadata: {name: t}
spec: {apiGroup: "", resource: configmaps, remove: ["$"]}
`, []string{"wds1/control.yaml:1: CustomTransform.control.kubestellar.io t: spec.remove[0]: path \"$\": removing the whole object is not allowed"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := renderWith(t, tc.control)
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			var errs render.Errors
			require.True(t, errors.As(err, &errs), "a render error: %v", err)
			text := err.Error()
			for _, w := range tc.want {
				assert.Contains(t, text, w)
			}
			for _, e := range errs {
				assert.Equal(t, "wds1/control.yaml", e.File)
				assert.Equal(t, 1, e.Line)
			}
		})
	}
}
