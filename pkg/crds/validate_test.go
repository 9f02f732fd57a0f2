package crds

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/yaml"
)

func TestValidator(t *testing.T) {
	v, err := NewValidator()
	require.NoError(t, err)
	assert.True(t, v.Handles(schema.GroupVersionKind{Group: "control.kubestellar.io", Version: "v1beta9", Kind: "BindingPolicy"}))
	assert.False(t, v.Handles(schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}))

	cases := map[string]struct {
		manifest string
		want     []string // substrings, one per problem; none: valid
	}{
		"a valid BindingPolicy": {manifest: `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: p}
spec:
  clusterSelectors: [{matchLabels: {location-group: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app: x}}], createOnly: true}]`},
		"a typo in a field name": {manifest: `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: p}
spec:
  clusterSelector: [{matchLabels: {location-group: edge}}]`, want: []string{`unknown field "spec.clusterSelector"`}},
		"a wrong type": {manifest: `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: p}
spec:
  downsync: [{objectNames: [x], createOnly: "yes please"}]`, want: []string{"spec.downsync[0].createOnly: Invalid value"}},
		"a downsync clause without an object test": {manifest: `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: p}
spec:
  downsync: [{objectNames: [x]}, {wantSingletonReportedState: true}]`, want: []string{"spec.downsync[1]: Invalid value: a downsync clause needs at least one object test"}},
		"an enum": {manifest: `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: s}
spec:
  combinedFields: [{name: x, type: MEDIAN}]`, want: []string{`spec.combinedFields[0].type: Unsupported value: "MEDIAN"`}},
		"a CEL rule": {manifest: `
apiVersion: gitstellar.io/v1alpha1
kind: Space
metadata: {name: wds1}
spec: {type: WDS}`, want: []string{"a WDS must name its ITS"}},
		"a CEL rule on the name": {manifest: `
apiVersion: gitstellar.io/v1alpha1
kind: WorkloadCluster
metadata: {name: edge.west}
spec: {its: its1}`, want: []string{"mailbox namespace"}},
		"a required field": {manifest: `
apiVersion: gitstellar.io/v1alpha1
kind: WorkloadCluster
metadata: {name: edge}
spec: {}`, want: []string{"spec.its: Required value"}},
		"an unknown version": {manifest: `
apiVersion: control.kubestellar.io/v1beta1
kind: BindingPolicy
metadata: {name: p}`, want: []string{"not a kind of control.kubestellar.io/v1beta1"}},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var obj map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(tc.manifest), &obj))
			u := &unstructured.Unstructured{Object: obj}
			before := u.DeepCopy()
			problems := v.Validate(context.Background(), u)
			assert.Equal(t, before, u, "the object is not changed")
			require.Len(t, problems, len(tc.want), "%v", problems)
			for i, w := range tc.want {
				assert.Contains(t, problems[i], w)
			}
		})
	}
}
