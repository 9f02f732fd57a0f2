package propagate

import (
	"context"
	"os"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/spaces"
	"github.com/gitstellar/gitstellar/pkg/version"
)

// Leases are coordination.k8s.io Leases.
var Leases = schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}

// Heartbeat is what an agent says of itself at each beat: in a Lease in
// its mailbox (an agent in its own process), or in memory (LocalHeartbeats,
// an agent run by the controller).
type Heartbeat struct {
	Holder, AgentVersion string
	// WECVersion is the WEC's Kubernetes version; WECError why the agent
	// could not read the WEC at its last reconcile ("" if it could).
	WECVersion, WECError string
	RenewTime            time.Time
	// Duration is how long a beat stays good; after it the agent is lost.
	Duration time.Duration
}

// LocalHeartbeats carries the heartbeats of the agents a process runs to
// the ClusterMonitor of the same process, for one ITS, with no write: the
// Lease exists so that a monitor in another process hears an agent. An
// in-process agent renewing a Lease would cost the ITS one write per WEC
// every beat, for nothing that process does not already know.
//
// A beat stays until it expires, as a Lease does: an agent stopped with
// its process, or because its WorkloadCluster lost spec.kubeconfig, is
// lost after Duration, not at once.
type LocalHeartbeats struct {
	mu       sync.Mutex
	clusters map[string]*localAgent
	watchers map[int]func(cluster string)
	next     int
}

type localAgent struct {
	registered time.Time
	duration   time.Duration
	beat       *Heartbeat // nil: no beat yet
}

// NewLocalHeartbeats makes an empty set.
func NewLocalHeartbeats() *LocalHeartbeats {
	return &LocalHeartbeats{clusters: map[string]*localAgent{}, watchers: map[int]func(string){}}
}

// register says an agent of the process starts for a cluster: until its
// first beat, or for duration, the monitor leaves that cluster's status as
// it is (a restarted hub does not flap its WECs to not Ready).
func (h *LocalHeartbeats) register(cluster string, duration time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if la := h.clusters[cluster]; la != nil {
		la.registered, la.duration = time.Now(), duration
		return
	}
	h.clusters[cluster] = &localAgent{registered: time.Now(), duration: duration}
}

func (h *LocalHeartbeats) beat(cluster string, b Heartbeat) {
	h.mu.Lock()
	la := h.clusters[cluster]
	if la == nil {
		la = &localAgent{registered: b.RenewTime, duration: b.Duration}
		h.clusters[cluster] = la
	}
	changed := la.beat == nil || la.beat.WECError != b.WECError || la.beat.WECVersion != b.WECVersion || la.beat.AgentVersion != b.AgentVersion
	la.beat = &b
	var notify []func(string)
	if changed { // a beat that says nothing new waits for the monitor's tick
		for _, w := range h.watchers {
			notify = append(notify, w)
		}
	}
	h.mu.Unlock()
	for _, w := range notify {
		w(cluster)
	}
}

// get returns a cluster's last beat, and whether an agent of this process
// is starting for it (registered lately, no beat yet).
func (h *LocalHeartbeats) get(cluster string, now time.Time) (beat *Heartbeat, starting bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	la := h.clusters[cluster]
	if la == nil {
		return nil, false
	}
	if la.beat == nil {
		return nil, now.Sub(la.registered) < la.duration
	}
	b := *la.beat
	return &b, false
}

// watch calls fn with the cluster of every beat that changes what the
// monitor writes, until the returned func is called.
func (h *LocalHeartbeats) watch(fn func(cluster string)) (stop func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	id := h.next
	h.next++
	h.watchers[id] = fn
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		delete(h.watchers, id)
	}
}

// leaseHeartbeat reads an agent's Lease (nil: none).
func leaseHeartbeat(lease *coordinationv1.Lease) *Heartbeat {
	if lease == nil || lease.Spec.RenewTime == nil {
		return nil
	}
	b := &Heartbeat{
		AgentVersion: lease.Annotations[gitstellarv1alpha1.AnnotationAgentVersion],
		WECVersion:   lease.Annotations[gitstellarv1alpha1.AnnotationWECVersion],
		WECError:     lease.Annotations[gitstellarv1alpha1.AnnotationWECError],
		RenewTime:    lease.Spec.RenewTime.Time,
	}
	if lease.Spec.HolderIdentity != nil {
		b.Holder = *lease.Spec.HolderIdentity
	}
	if lease.Spec.LeaseDurationSeconds != nil {
		b.Duration = time.Duration(*lease.Spec.LeaseDurationSeconds) * time.Second
	}
	return b
}

// heartbeat registers the agent and beats until ctx ends. An agent with
// its own process renews its Lease in its mailbox: the only object it
// writes in the ITS besides its Deliveries' status. An agent run by the
// controller beats in memory (LocalHeartbeats). The ClusterMonitor reads
// the beats into the WorkloadCluster's status.
func (a *Agent) heartbeat(ctx context.Context) {
	identity, _ := os.Hostname()
	var wecVersion string
	var logged time.Time
	for {
		// The WEC is probed at every beat: when it went away or came back
		// since the last reconcile said, the agent reconciles now, so that
		// an idle agent (its objects watched, nothing to apply) reports an
		// unreachable WEC within a beat.
		v := a.wecVersion()
		if v != "" {
			wecVersion = v
		}
		a.mu.Lock()
		reachableBefore := a.wecError == ""
		a.mu.Unlock()
		if (v != "") != reachableBefore {
			a.kick()
		}
		next := a.opts.Heartbeat
		if err := a.renew(ctx, identity, wecVersion); err != nil && ctx.Err() == nil {
			// E.g. the mailbox is not there yet: try again soon, say so
			// at most once per heartbeat period.
			if time.Since(logged) >= a.opts.Heartbeat {
				a.opts.Log.Error(err, "agent heartbeat", "cluster", a.opts.Cluster)
				logged = time.Now()
			}
			next = min(next, time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(next):
		}
	}
}

func (a *Agent) wecVersion() string {
	cfg := spaces.Rated(a.opts.WECConfig)
	cfg.Timeout = 5 * time.Second // an unreachable WEC does not hold up the heartbeat
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return ""
	}
	v, err := dc.ServerVersion()
	if err != nil {
		return ""
	}
	return v.GitVersion
}

// beatDuration is how long one beat stays good.
func (a *Agent) beatDuration() time.Duration {
	return time.Duration(max(1, int64(4*a.opts.Heartbeat/time.Second))) * time.Second
}

func (a *Agent) renew(ctx context.Context, identity, wecVersion string) error {
	a.mu.Lock()
	wecErr := a.wecError
	a.mu.Unlock()
	agentVersion := version.Get().Version
	now := metav1.NowMicro()
	if a.opts.LocalHeartbeats != nil {
		a.opts.LocalHeartbeats.beat(a.opts.Cluster, Heartbeat{Holder: identity, AgentVersion: agentVersion,
			WECVersion: wecVersion, WECError: wecErr, RenewTime: now.Time, Duration: a.beatDuration()})
		return nil
	}
	lease := coordinationv1.Lease{
		TypeMeta: metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
		ObjectMeta: metav1.ObjectMeta{
			Name: gitstellarv1alpha1.AgentLeaseName, Namespace: gitstellarv1alpha1.MailboxNamespace(a.opts.Cluster),
			Labels: map[string]string{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue, gitstellarv1alpha1.LabelCluster: a.opts.Cluster},
			Annotations: map[string]string{
				gitstellarv1alpha1.AnnotationAgentVersion: agentVersion,
				gitstellarv1alpha1.AnnotationWECVersion:   wecVersion,
				gitstellarv1alpha1.AnnotationWECError:     wecErr,
			},
		},
		Spec: coordinationv1.LeaseSpec{
			HolderIdentity:       &identity,
			LeaseDurationSeconds: ptrTo(int32(a.beatDuration() / time.Second)),
			RenewTime:            &now,
		},
	}
	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&lease)
	if err != nil {
		return err
	}
	_, err = a.its.Resource(Leases).Namespace(lease.Namespace).Apply(ctx, lease.Name, &unstructured.Unstructured{Object: obj},
		metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.AgentFieldManager, Force: true})
	return err
}

func ptrTo[T any](v T) *T { return &v }
