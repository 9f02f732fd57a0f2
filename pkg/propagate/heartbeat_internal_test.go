package propagate

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestLocalHeartbeats: an agent of the process is starting until its first
// beat or for a beat's duration; a beat that changes nothing the monitor
// writes wakes no watcher; a beat stays until it expires, as a Lease does.
func TestLocalHeartbeats(t *testing.T) {
	h := NewLocalHeartbeats()
	var woken []string
	stop := h.watch(func(c string) { woken = append(woken, c) })
	now := time.Now()

	beat, starting := h.get("cluster1", now)
	assert.Nil(t, beat)
	assert.False(t, starting, "no agent of this process: the Lease decides")

	h.register("cluster1", 40*time.Second)
	beat, starting = h.get("cluster1", now)
	assert.Nil(t, beat)
	assert.True(t, starting, "registered, no beat yet: the status is left as it is")
	_, starting = h.get("cluster1", now.Add(41*time.Second))
	assert.False(t, starting, "an agent that never beats is not waited for longer than a beat lasts")

	first := Heartbeat{AgentVersion: "v1", WECVersion: "v1.36.3", RenewTime: now, Duration: 40 * time.Second}
	h.beat("cluster1", first)
	assert.Equal(t, []string{"cluster1"}, woken, "the first beat wakes the monitor")
	again := first
	again.RenewTime = now.Add(10 * time.Second)
	h.beat("cluster1", again)
	assert.Equal(t, []string{"cluster1"}, woken, "a renewal alone does not")
	lost := again
	lost.WECError = "connection refused"
	h.beat("cluster1", lost)
	assert.Equal(t, []string{"cluster1", "cluster1"}, woken, "a beat that says the WEC is unreachable does")

	beat, _ = h.get("cluster1", now)
	require.NotNil(t, beat)
	assert.Equal(t, ReasonWECUnreachable, ReadyCondition(beat, now.Add(20*time.Second)).Reason)
	lost.WECError = ""
	h.beat("cluster1", lost)
	beat, _ = h.get("cluster1", now)
	c := ReadyCondition(beat, now.Add(20*time.Second))
	assert.Equal(t, metav1.ConditionTrue, c.Status)
	assert.Equal(t, "the agent is connected; the WEC runs Kubernetes v1.36.3", c.Message)
	assert.Equal(t, ReasonAgentLost, ReadyCondition(beat, now.Add(51*time.Second)).Reason, "the last beat expired")
	assert.Equal(t, ReasonAgentNotRegistered, ReadyCondition(nil, now).Reason)

	stop()
	h.beat("cluster2", first)
	assert.Len(t, woken, 3, "a stopped watcher is not called")
	beat, starting = h.get("cluster2", now)
	assert.NotNil(t, beat, "a beat without registration (an agent restarted in place) counts")
	assert.False(t, starting)
}
