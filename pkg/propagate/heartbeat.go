package propagate

import (
	"context"
	"os"
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

// heartbeat registers the agent in its mailbox and renews its Lease there
// until ctx ends: the only object the agent writes in the ITS besides its
// Deliveries' status. The controller reads it into the WorkloadCluster's
// status.
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

func (a *Agent) renew(ctx context.Context, identity, wecVersion string) error {
	a.mu.Lock()
	wecErr := a.wecError
	a.mu.Unlock()
	agentVersion := version.Get().Version
	now := metav1.NowMicro()
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
			LeaseDurationSeconds: ptrTo(max(1, int32(4*a.opts.Heartbeat/time.Second))),
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
