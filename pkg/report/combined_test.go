package report_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/report"
)

func mustCompileNamedCollector(t *testing.T, name string, spec controlv1alpha1.StatusCollectorSpec) *report.Collector {
	t.Helper()
	sc := &controlv1alpha1.StatusCollector{Spec: spec}
	sc.Name = name
	sc.Generation = 1
	c, err := report.CompileCollector(sc)
	require.NoError(t, err)
	return c
}

func TestCombinedStatusGolden(t *testing.T) {
	at := func(min int) time.Time { return time.Date(2025, 3, 1, 12, min, 0, 0, time.UTC) }

	deployment := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "Deployment",
		"metadata":   map[string]any{"name": "nginx-deployment", "namespace": "nginx"},
		"spec":       map[string]any{"replicas": int64(3)},
	}
	deploymentWECs := []report.WECReport{
		{WEC: "cluster3", Status: map[string]any{"replicas": int64(3), "availableReplicas": int64(1), "readyReplicas": int64(1)}, LastReturnedUpdate: at(3)},
		{WEC: "cluster1", Status: map[string]any{"replicas": int64(3), "availableReplicas": int64(3), "readyReplicas": int64(3)}, LastReturnedUpdate: at(1)},
		{WEC: "cluster2", Status: map[string]any{"replicas": int64(3), "availableReplicas": int64(3), "readyReplicas": int64(3)}, LastReturnedUpdate: at(2)},
	}
	byReadiness := mustCompileNamedCollector(t, "replicas-by-readiness", controlv1alpha1.StatusCollectorSpec{
		GroupBy: []controlv1alpha1.NamedExpression{collectNamed("allReady", "returned.status.readyReplicas == obj.spec.replicas")},
		CombinedFields: []controlv1alpha1.NamedAggregator{
			collectAgg("wecs", controlv1alpha1.AggregatorTypeCount, ""),
			collectAgg("availableReplicas", controlv1alpha1.AggregatorTypeSum, "returned.status.availableReplicas"),
		},
	})
	countWECs := mustCompileNamedCollector(t, "count-wecs", controlv1alpha1.StatusCollectorSpec{
		CombinedFields: []controlv1alpha1.NamedAggregator{collectAgg("count", controlv1alpha1.AggregatorTypeCount, "")},
	})

	namespace := map[string]any{
		"apiVersion": "v1",
		"kind":       "Namespace",
		"metadata":   map[string]any{"name": "team-a", "labels": map[string]any{"team": "a"}},
	}
	namespaceWECs := []report.WECReport{
		{WEC: "edge2", Status: map[string]any{"phase": "Terminating"}, LastReturnedUpdate: at(7)},
		{WEC: "edge1", Status: map[string]any{"phase": "Active"}, LastReturnedUpdate: at(5)},
		{WEC: "edge3"},
	}
	listing := mustCompileNamedCollector(t, "phase-per-wec", controlv1alpha1.StatusCollectorSpec{
		Filter: collectExpr("returned.status != null"),
		Select: []controlv1alpha1.NamedExpression{
			collectNamed("wec", "inventory.name"),
			collectNamed("phase", "returned.status.phase"),
			collectNamed("team", "obj.metadata.labels.team"),
			collectNamed("retrievalTime", "propagation.lastReturnedUpdateTimestamp"),
		},
	})

	tests := map[string]*controlv1alpha1.CombinedStatus{
		"namespaced-deployment": report.CombinedStatusFor("apps", "deployments", "nginx", "nginx-deployment",
			"0990056b-ccbc-4c46-b0fe-366ef3a2de5e", "nginx-bindingpolicy", "332d2c17-7b55-44f6-9a6e-21445523c808",
			[]controlv1alpha1.NamedStatusCombination{
				byReadiness.Evaluate(deployment, deploymentWECs),
				countWECs.Evaluate(deployment, deploymentWECs),
			}),
		"cluster-scoped-namespace": report.CombinedStatusFor("", "namespaces", "", "team-a",
			"5f0c7a52-2a37-4c1b-9d8e-6f1d2f0e9b11", "team-namespaces", "a1b2c3d4-0000-4000-8000-00000000abcd",
			[]controlv1alpha1.NamedStatusCombination{listing.Evaluate(namespace, namespaceWECs)}),
	}
	for name, cs := range tests {
		t.Run(name, func(t *testing.T) {
			got, err := yaml.Marshal(cs)
			require.NoError(t, err)
			path := filepath.Join("testdata", "combined", name+".yaml")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, got, 0o644))
			}
			want, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create it")
			assert.Equal(t, string(want), string(got))

			var back controlv1alpha1.CombinedStatus
			require.NoError(t, yaml.UnmarshalStrict(got, &back), "the golden file is a valid CombinedStatus")
			assert.Equal(t, cs, &back)
		})
	}
}

func TestCombinedStatusFor(t *testing.T) {
	long := strings.Repeat("a", 60) + "." + strings.Repeat("b", 40)
	results := []controlv1alpha1.NamedStatusCombination{
		{Name: "zeta", ColumnNames: []string{"z"}},
		{Name: "alpha", ColumnNames: []string{"a"}},
		{Name: "mid", ColumnNames: []string{"m"}},
	}
	tests := map[string]struct {
		group, resource, namespace, name, policy string
		wantNamespace                            string
		wantLabels                               map[string]string
	}{
		"namespaced object of a named group": {
			group: "apps", resource: "deployments", namespace: "web", name: "nginx", policy: "bp",
			wantNamespace: "web",
			wantLabels: map[string]string{
				controlv1alpha1.LabelCombinedStatusAPIGroup:      "apps",
				controlv1alpha1.LabelCombinedStatusResource:      "deployments",
				controlv1alpha1.LabelCombinedStatusNamespace:     "web",
				controlv1alpha1.LabelCombinedStatusName:          "nginx",
				controlv1alpha1.LabelCombinedStatusBindingPolicy: "bp",
			},
		},
		"cluster-scoped object of the core group": {
			group: "", resource: "namespaces", namespace: "", name: "team-a", policy: "bp",
			wantNamespace: "kubestellar-report",
			wantLabels: map[string]string{
				controlv1alpha1.LabelCombinedStatusAPIGroup:      "",
				controlv1alpha1.LabelCombinedStatusResource:      "namespaces",
				controlv1alpha1.LabelCombinedStatusNamespace:     "",
				controlv1alpha1.LabelCombinedStatusName:          "team-a",
				controlv1alpha1.LabelCombinedStatusBindingPolicy: "bp",
			},
		},
		"names longer than a label value": {
			group: "example.com", resource: "widgets", namespace: "web", name: long, policy: strings.Repeat("p", 70),
			wantNamespace: "web",
			wantLabels: map[string]string{
				controlv1alpha1.LabelCombinedStatusAPIGroup:      "example.com",
				controlv1alpha1.LabelCombinedStatusResource:      "widgets",
				controlv1alpha1.LabelCombinedStatusNamespace:     "web",
				controlv1alpha1.LabelCombinedStatusName:          strings.Repeat("a", 54) + "-aa9e392d",
				controlv1alpha1.LabelCombinedStatusBindingPolicy: strings.Repeat("p", 54) + "-d79ad4b5",
			},
		},
	}
	for name, tc := range tests {
		t.Run(name, func(t *testing.T) {
			input := append([]controlv1alpha1.NamedStatusCombination(nil), results...)
			cs := report.CombinedStatusFor(tc.group, tc.resource, tc.namespace, tc.name, types.UID("obj-uid"), tc.policy, types.UID("bp-uid"), input)
			assert.Equal(t, "control.kubestellar.io/v1alpha1", cs.APIVersion)
			assert.Equal(t, "CombinedStatus", cs.Kind)
			assert.Equal(t, tc.wantNamespace, cs.Namespace)
			assert.Equal(t, "obj-uid.bp-uid", cs.Name)
			assert.Equal(t, tc.wantLabels, cs.Labels)
			for k, v := range cs.Labels {
				assert.Empty(t, validation.IsValidLabelValue(v), "label %s=%q", k, v)
			}
			var names []string
			for _, r := range cs.Results {
				names = append(names, r.Name)
			}
			assert.Equal(t, []string{"alpha", "mid", "zeta"}, names)
			assert.Equal(t, results, input, "the caller's results are not reordered")
			cs.Results[0].ColumnNames[0] = "changed"
			assert.Equal(t, "a", results[1].ColumnNames[0], "the caller's results are not shared")
		})
	}
}

func TestCombinedStatusLabelDistinctForLongNames(t *testing.T) {
	a := strings.Repeat("x", 70) + "-one"
	b := strings.Repeat("x", 70) + "-two"
	csA := report.CombinedStatusFor("", "configmaps", "ns", a, "u1", "bp", "u2", nil)
	csB := report.CombinedStatusFor("", "configmaps", "ns", b, "u1", "bp", "u2", nil)
	assert.NotEqual(t, csA.Labels[controlv1alpha1.LabelCombinedStatusName], csB.Labels[controlv1alpha1.LabelCombinedStatusName])
	assert.Len(t, csA.Labels[controlv1alpha1.LabelCombinedStatusName], validation.LabelValueMaxLength)
	assert.Nil(t, csA.Results)
}
