package report

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"sigs.k8s.io/yaml"
)

func statusOf(t *testing.T, y string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(y), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestAggregateStatus(t *testing.T) {
	deploymentA := `{observedGeneration: 3, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2,
  conditions: [{type: Available, status: "True", reason: MinimumReplicasAvailable, message: ok}, {type: Progressing, status: "True", reason: NewReplicaSetAvailable}]}`
	deploymentB := `{observedGeneration: 2, replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2, unavailableReplicas: 1,
  conditions: [{type: Available, status: "False", reason: MinimumReplicasUnavailable, message: "1 of 2 ready"}, {type: Progressing, status: "True", reason: ReplicaSetUpdated}]}`
	for _, tc := range []struct {
		name, group, kind string
		statuses          map[string]string // WEC → status YAML ("" = none returned)
		want              string
	}{{
		name:  "Deployment: MIN of what works, MAX of what does not, a condition True only everywhere",
		group: "apps", kind: "Deployment",
		statuses: map[string]string{"cluster1": deploymentA, "cluster2": deploymentB},
		want: `{observedGeneration: 2, replicas: 2, readyReplicas: 1, availableReplicas: 1, updatedReplicas: 2, unavailableReplicas: 1,
  conditions: [{type: Available, status: "False", reason: MinimumReplicasUnavailable, message: "cluster2: 1 of 2 ready"},
               {type: Progressing, status: "True", reason: NewReplicaSetAvailable}]}`,
	}, {
		name:  "Deployment: all healthy",
		group: "apps", kind: "Deployment",
		statuses: map[string]string{"cluster1": deploymentA, "cluster2": deploymentA},
		want: `{observedGeneration: 3, replicas: 2, readyReplicas: 2, availableReplicas: 2, updatedReplicas: 2, unavailableReplicas: 0,
  conditions: [{type: Available, status: "True", reason: MinimumReplicasAvailable, message: ok}, {type: Progressing, status: "True", reason: NewReplicaSetAvailable}]}`,
	}, {
		name:  "a WEC that returned nothing counts as zeros and makes True conditions Unknown",
		group: "apps", kind: "Deployment",
		statuses: map[string]string{"cluster1": deploymentA, "cluster2": ""},
		want: `{observedGeneration: 0, replicas: 0, readyReplicas: 0, availableReplicas: 0, updatedReplicas: 0, unavailableReplicas: 0,
  conditions: [{type: Available, status: "Unknown", reason: NotReported, message: "cluster2: not reported"},
               {type: Progressing, status: "Unknown", reason: NotReported, message: "cluster2: not reported"}]}`,
	}, {
		name:  "Job: active summed, failed MAX, Failed True anywhere, completion only when all complete",
		group: "batch", kind: "Job",
		statuses: map[string]string{
			"a": `{active: 1, succeeded: 0, startTime: "2026-01-02T00:00:00Z"}`,
			"b": `{active: 2, succeeded: 3, failed: 1, startTime: "2026-01-01T00:00:00Z", completionTime: "2026-01-03T00:00:00Z",
  conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded, message: too many}]}`,
		},
		want: `{active: 3, succeeded: 0, ready: 0, failed: 1, observedGeneration: 0, startTime: "2026-01-01T00:00:00Z",
  conditions: [{type: Failed, status: "True", reason: BackoffLimitExceeded, message: "b: too many"}]}`,
	}, {
		name:  "Job: all complete",
		group: "batch", kind: "Job",
		statuses: map[string]string{
			"a": `{succeeded: 1, completionTime: "2026-01-02T00:00:00Z", conditions: [{type: Complete, status: "True"}]}`,
			"b": `{succeeded: 1, completionTime: "2026-01-03T00:00:00Z", conditions: [{type: Complete, status: "True"}]}`,
		},
		want: `{active: 0, succeeded: 1, ready: 0, failed: 0, observedGeneration: 0, completionTime: "2026-01-03T00:00:00Z",
  conditions: [{type: Complete, status: "True"}]}`,
	}, {
		name:  "StatefulSet",
		group: "apps", kind: "StatefulSet",
		statuses: map[string]string{"a": `{replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3, availableReplicas: 3}`, "b": `{replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 1, availableReplicas: 2}`},
		want:     `{replicas: 3, readyReplicas: 2, currentReplicas: 3, updatedReplicas: 1, availableReplicas: 2, observedGeneration: 0}`,
	}, {
		name:  "DaemonSet",
		group: "apps", kind: "DaemonSet",
		statuses: map[string]string{"a": `{desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 3}`, "b": `{desiredNumberScheduled: 5, currentNumberScheduled: 4, numberReady: 4, numberAvailable: 4, updatedNumberScheduled: 4, numberUnavailable: 1, numberMisscheduled: 2}`},
		want:     `{desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 3, numberAvailable: 3, updatedNumberScheduled: 3, numberUnavailable: 1, numberMisscheduled: 2, observedGeneration: 0}`,
	}} {
		t.Run(tc.name, func(t *testing.T) {
			in := map[string]map[string]any{}
			for w, s := range tc.statuses {
				in[w] = nil
				if s != "" {
					in[w] = statusOf(t, s)
				}
			}
			got, err := yaml.Marshal(AggregateStatus(tc.group, tc.kind, in))
			assert.NoError(t, err)
			want, err := yaml.Marshal(statusOf(t, tc.want))
			assert.NoError(t, err)
			assert.Equal(t, string(want), string(got))
		})
	}
	assert.Nil(t, AggregateStatus("", "ConfigMap", map[string]map[string]any{"a": {}}), "no rule for a ConfigMap")
	assert.True(t, Aggregatable("batch", "Job"))
	assert.False(t, Aggregatable("", "Service"))
}
