package v1alpha1

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A Binding in the exact JSON shape KubeStellar writes must decode into our
// types and encode back to the same JSON.
func TestBindingWireFormat(t *testing.T) {
	const wire = `{
  "apiVersion": "control.kubestellar.io/v1alpha1",
  "kind": "Binding",
  "metadata": {"name": "nginx-bpolicy"},
  "spec": {
    "workload": {
      "clusterScope": [
        {"group": "", "version": "v1", "resource": "namespaces", "name": "nginx", "resourceVersion": "1042", "createOnly": true}
      ],
      "namespaceScope": [
        {"group": "apps", "version": "v1", "resource": "deployments", "namespace": "nginx", "name": "nginx-deployment", "resourceVersion": "1043",
         "statusCollectors": ["count-available"], "wantSingletonReportedState": true}
      ]
    },
    "destinations": [{"clusterId": "cluster1"}, {"clusterId": "cluster2"}]
  },
  "status": {"conditions": null, "observedGeneration": 0}
}`
	var b Binding
	require.NoError(t, json.Unmarshal([]byte(wire), &b))
	require.Len(t, b.Spec.Workload.NamespaceScope, 1)
	ns := b.Spec.Workload.NamespaceScope[0]
	assert.Equal(t, "apps", ns.Group)
	assert.Equal(t, "deployments", ns.Resource)
	assert.Equal(t, "nginx", ns.Namespace)
	assert.True(t, ns.WantSingletonReportedState)
	assert.True(t, b.Spec.Workload.ClusterScope[0].CreateOnly)
	assert.Equal(t, "cluster2", b.Spec.Destinations[1].ClusterId)

	out, err := json.Marshal(&b)
	require.NoError(t, err)
	var want, got map[string]any
	require.NoError(t, json.Unmarshal([]byte(wire), &want))
	require.NoError(t, json.Unmarshal(out, &got))
	assert.Equal(t, want["spec"], got["spec"])
}

func TestDeepCopyIsDeep(t *testing.T) {
	group := "apps"
	bp := &BindingPolicy{Spec: BindingPolicySpec{Downsync: []DownsyncPolicyClause{{
		DownsyncObjectTest: DownsyncObjectTest{APIGroup: &group, Resources: []string{"deployments"}},
		DownsyncModulation: DownsyncModulation{StatusCollectors: []string{"a"}},
	}}}}
	cp := bp.DeepCopy()
	*cp.Spec.Downsync[0].APIGroup = "batch"
	cp.Spec.Downsync[0].Resources[0] = "jobs"
	cp.Spec.Downsync[0].StatusCollectors[0] = "b"
	assert.Equal(t, "apps", *bp.Spec.Downsync[0].APIGroup)
	assert.Equal(t, "deployments", bp.Spec.Downsync[0].Resources[0])
	assert.Equal(t, "a", bp.Spec.Downsync[0].StatusCollectors[0])
}

// A CombinedStatus result with errors, in the JSON shape KubeStellar's
// CRD takes (v0.30.0): a row error names its WEC as a Destination, an
// aggregation error names its column.
func TestCombinedStatusErrorsWireFormat(t *testing.T) {
	const wire = `{"name":"count-available","columnNames":["count"],"rows":[{"columns":[{"type":"Number","float":"2"}]}],` +
		`"rowErrors":[{"wec":{"clusterId":"cluster2"},"columnName":"","error":"filter: no such key: keep"}],` +
		`"aggregationErrors":[{"columnName":"count","error":"WEC \"cluster3\": bool is not a number; counted as 0"}]}`
	var got NamedStatusCombination
	require.NoError(t, json.Unmarshal([]byte(wire), &got))
	assert.Equal(t, "cluster2", got.RowErrors[0].WEC.ClusterId)
	assert.Equal(t, "count", got.AggregationErrors[0].ColumnName)
	out, err := json.Marshal(got)
	require.NoError(t, err)
	assert.JSONEq(t, wire, string(out))
}
