package report

import (
	"testing"

	"github.com/stretchr/testify/assert"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// TestDecideReportedState pins KubeStellar's rules for an object's
// reported state over the requests of every Binding holding it.
func TestDecideReportedState(t *testing.T) {
	st := func(available int64) map[string]any { return map[string]any{"availableReplicas": available} }
	returned := map[string]map[string]any{"c1": st(2), "c2": st(1)}
	const single, multi = controlv1alpha1.LabelSingletonStatus, controlv1alpha1.LabelMultiWECStatus
	for _, tc := range []struct {
		name      string
		kind      string
		requests  []stateRequest
		want      map[string]any
		wantLabel string
	}{
		{name: "singleton, one WEC", requests: []stateRequest{{singleton: true, wecs: []string{"c1"}, returned: returned}},
			want: st(2), wantLabel: single},
		{name: "singleton, one WEC that has not reported", requests: []stateRequest{{singleton: true, wecs: []string{"c3"}, returned: returned}}},
		{name: "singleton, two WECs", requests: []stateRequest{{singleton: true, wecs: []string{"c1", "c2"}, returned: returned}}},
		{name: "singleton, no WEC", requests: []stateRequest{{singleton: true, returned: returned}}},
		{name: "two singleton policies, two WECs", requests: []stateRequest{
			{singleton: true, wecs: []string{"c1"}, returned: returned}, {singleton: true, wecs: []string{"c2"}, returned: returned}}},
		{name: "two singleton policies, the same WEC", requests: []stateRequest{
			{singleton: true, wecs: []string{"c2"}, returned: returned}, {singleton: true, wecs: []string{"c2"}}},
			want: st(1), wantLabel: single},
		{name: "a singleton policy and one without a wish", requests: []stateRequest{
			{singleton: true, wecs: []string{"c1"}, returned: returned}, {wecs: []string{"c2"}, returned: returned}},
			want: st(2), wantLabel: single},
		{name: "multi-WEC, one WEC", requests: []stateRequest{{multi: true, wecs: []string{"c2"}, returned: returned}},
			want: st(1), wantLabel: single},
		{name: "multi-WEC, two WECs", requests: []stateRequest{{multi: true, wecs: []string{"c1", "c2"}, returned: returned}},
			want: map[string]any{"availableReplicas": int64(1)}, wantLabel: multi},
		{name: "multi-WEC, two WECs, one reported", requests: []stateRequest{{multi: true, wecs: []string{"c1", "c3"}, returned: returned}},
			want: st(2), wantLabel: single},
		{name: "multi-WEC, two WECs, none reported", requests: []stateRequest{{multi: true, wecs: []string{"c3", "c4"}, returned: returned}}},
		{name: "multi-WEC of a kind without a rule", kind: "ConfigMap", requests: []stateRequest{{multi: true, wecs: []string{"c1", "c2"}, returned: returned}}},
		{name: "singleton and multi-WEC over one WEC", requests: []stateRequest{
			{singleton: true, wecs: []string{"c1"}, returned: returned}, {multi: true, wecs: []string{"c1"}, returned: returned}},
			want: st(2), wantLabel: single},
		{name: "singleton and multi-WEC over two WECs", requests: []stateRequest{
			{singleton: true, wecs: []string{"c1"}, returned: returned}, {multi: true, wecs: []string{"c2"}, returned: returned}},
			want: map[string]any{"availableReplicas": int64(1)}, wantLabel: multi},
		{name: "singleton over two WECs and multi-WEC over one", requests: []stateRequest{
			{singleton: true, wecs: []string{"c1", "c2"}, returned: returned}, {multi: true, wecs: []string{"c2"}, returned: returned}},
			want: map[string]any{"availableReplicas": int64(1)}, wantLabel: multi},
		{name: "nothing asked", requests: []stateRequest{{wecs: []string{"c1"}, returned: returned}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			group, kind := "apps", "Deployment"
			if tc.kind != "" {
				group, kind = "", tc.kind
			}
			got := decideReportedState(group, kind, tc.requests)
			if tc.want == nil {
				assert.Nil(t, got.status)
				return
			}
			assert.Equal(t, tc.wantLabel, got.label)
			for k, v := range tc.want {
				assert.Equal(t, v, got.status[k], k)
			}
		})
	}
}

func TestStatusStaysInWDS(t *testing.T) {
	assert.True(t, statusStaysInWDS("", "namespaces"))
	assert.True(t, statusStaysInWDS("apiextensions.k8s.io", "customresourcedefinitions"))
	assert.False(t, statusStaysInWDS("apps", "deployments"))
	assert.False(t, statusStaysInWDS("example.com", "namespaces"))
}
