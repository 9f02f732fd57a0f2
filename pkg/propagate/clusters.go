package propagate

import (
	"context"
	"fmt"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/events"
	"github.com/gitstellar/gitstellar/pkg/keyqueue"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// Reasons of a WorkloadCluster's Ready condition.
const (
	ReasonAgentConnected     = "AgentConnected"
	ReasonAgentNotRegistered = "AgentNotRegistered"
	ReasonAgentLost          = "AgentLost"
	ReasonWECUnreachable     = "WECUnreachable"
)

// ClusterMonitorOptions configures a ClusterMonitor.
type ClusterMonitorOptions struct {
	// ITS is the space's name (for logs); ITSConfig reaches it.
	ITS       string
	ITSConfig *rest.Config
	// Interval is how often heartbeats are checked for expiry; default 5s.
	Interval time.Duration
	// ITSCache shares the ITS's informers; nil: the monitor makes its own.
	ITSCache *spacecache.Cache
	// LocalHeartbeats are the beats of the agents this process runs for
	// the ITS (nil: none); for the others, their Leases.
	LocalHeartbeats *LocalHeartbeats
	Log             logr.Logger
}

// ClusterMonitor keeps each WorkloadCluster's status from its agent's
// heartbeat (the Lease in the WEC's mailbox, or in memory for an agent of
// this process): Ready (the agent beats and reaches the WEC),
// agentVersion, lastHeartbeatTime; and writes an Event on the
// WorkloadCluster when Ready changes. It creates every WEC's mailbox
// namespace, and in it the agent's identity (ServiceAccount, Role,
// RoleBinding gitstellar-agent), so that an agent can register before
// anything is delivered.
type ClusterMonitor struct {
	opts   ClusterMonitorOptions
	its    dynamic.Interface
	events *events.Emitter

	wecs, leases cache.SharedIndexInformer
	caches       spacecache.Caches
	queue        *keyqueue.Queue

	mailboxes mailboxSet
}

// NewClusterMonitor prepares a monitor; Run starts it.
func NewClusterMonitor(opts ClusterMonitorOptions) (*ClusterMonitor, error) {
	if opts.Interval <= 0 {
		opts.Interval = 5 * time.Second
	}
	if opts.Log.GetSink() == nil {
		opts.Log = logr.Discard()
	}
	cfg := spaces.Rated(opts.ITSConfig)
	its, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	emitter, err := events.NewEmitter(cfg, "gitstellar.io/cluster-monitor")
	if err != nil {
		return nil, err
	}
	m := &ClusterMonitor{opts: opts, its: its, events: emitter, queue: keyqueue.New()}
	shared := m.caches.Use(opts.ITSCache, its)
	if m.wecs, err = shared.Informer(WorkloadClusters, spacecache.Filter{}, nil); err != nil {
		return nil, err
	}
	if m.leases, err = shared.Informer(Leases, spacecache.Filter{Fields: "metadata.name=" + gitstellarv1alpha1.AgentLeaseName}, nil); err != nil {
		return nil, err
	}
	return m, nil
}

// Run keeps the statuses until ctx ends.
func (m *ClusterMonitor) Run(ctx context.Context) error {
	enqueue := func(o any) {
		if u, ok := keyqueue.Unstructured(o); ok {
			if u.GetKind() == "Lease" {
				m.queue.Add(u.GetLabels()[gitstellarv1alpha1.LabelCluster])
			} else {
				m.queue.Add(u.GetName())
			}
		}
	}
	handler := cache.ResourceEventHandlerFuncs{AddFunc: enqueue, UpdateFunc: func(_, o any) { enqueue(o) }, DeleteFunc: enqueue}
	for _, inf := range []cache.SharedIndexInformer{m.wecs, m.leases} {
		if _, err := spacecache.Handle(ctx, inf, handler); err != nil {
			return err
		}
	}
	if m.opts.LocalHeartbeats != nil {
		defer m.opts.LocalHeartbeats.watch(m.queue.Add)()
	}
	m.caches.Start(ctx)
	if !spacecache.WaitForSync(ctx, m.wecs, m.leases) {
		return ctx.Err()
	}
	m.queue.Run(ctx, 1, m.sync, func(key string, err error) {
		m.opts.Log.Error(err, "workload cluster status", "its", m.opts.ITS, "cluster", key)
	})
	defer m.queue.Wait()
	tick := time.NewTicker(m.opts.Interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C: // heartbeats expire without an event
			for _, name := range m.wecs.GetStore().ListKeys() {
				m.queue.Add(name)
			}
		}
	}
}

// heartbeatReportPeriod is how stale status.lastHeartbeatTime may get
// while the agent's Lease is renewed and Ready does not change (a
// kubelet's nodeStatusReportFrequency is also 5 minutes).
const heartbeatReportPeriod = 5 * time.Minute

// sync writes one WorkloadCluster's status when it changed.
func (m *ClusterMonitor) sync(ctx context.Context, name string) error {
	if name == "" {
		return nil
	}
	raw, found, err := m.wecs.GetStore().GetByKey(name)
	if err != nil || !found {
		return err
	}
	var wec gitstellarv1alpha1.WorkloadCluster
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(raw.(*unstructured.Unstructured).Object, &wec); err != nil {
		return err
	}
	mailbox := gitstellarv1alpha1.MailboxNamespace(name)
	if err := m.mailboxes.ensure(ctx, mailbox, m.makeMailbox); err != nil {
		return err
	}
	now := time.Now()
	beat, starting, err := m.heartbeat(name, mailbox, now)
	if err != nil || starting {
		return err // an agent of this process is starting: its first beat decides
	}
	want := wec.Status.DeepCopy()
	cond := ReadyCondition(beat, now)
	cond.ObservedGeneration = wec.Generation
	cond.LastTransitionTime = metav1.NewTime(now.UTC().Truncate(time.Second))
	if old := meta.FindStatusCondition(want.Conditions, "Ready"); old != nil && old.Status == cond.Status {
		cond.LastTransitionTime = old.LastTransitionTime
	}
	meta.SetStatusCondition(&want.Conditions, cond)
	if beat != nil {
		want.AgentVersion = beat.AgentVersion
		at := metav1.NewTime(beat.RenewTime.UTC().Truncate(time.Second))
		// The beat's time is copied into the status at most every
		// heartbeatReportPeriod, and on changes of Ready, as a kubelet
		// reports node status: a beat is not a status write.
		if old := wec.Status.LastHeartbeatTime; old == nil || at.Sub(old.Time) >= heartbeatReportPeriod || !apiequality.Semantic.DeepEqual(wec.Status.Conditions, want.Conditions) {
			want.LastHeartbeatTime = &at
		}
	}
	if apiequality.Semantic.DeepEqual(&wec.Status, want) {
		return nil
	}
	eventType := events.Normal
	if cond.Status != metav1.ConditionTrue {
		eventType = events.Warning
	}
	m.events.Emit(ctx, corev1.ObjectReference{APIVersion: gitstellarv1alpha1.GroupVersion.String(), Kind: "WorkloadCluster", Name: name, UID: wec.UID},
		eventType, cond.Reason, cond.Message)
	statusMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gitstellarv1alpha1.GroupVersion.String(), "kind": "WorkloadCluster",
		"metadata": map[string]any{"name": name}, "status": statusMap,
	}}
	_, err = m.its.Resource(WorkloadClusters).ApplyStatus(ctx, name, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// heartbeat is a cluster's latest beat (nil: none), from an agent of this
// process or from the Lease in its mailbox, whichever is newer (an agent
// may move from one to the other); starting: an agent of this process is
// starting for the cluster and has not beaten yet.
func (m *ClusterMonitor) heartbeat(cluster, mailbox string, now time.Time) (beat *Heartbeat, starting bool, err error) {
	if m.opts.LocalHeartbeats != nil {
		beat, starting = m.opts.LocalHeartbeats.get(cluster, now)
	}
	if o, ok, _ := m.leases.GetStore().GetByKey(mailbox + "/" + gitstellarv1alpha1.AgentLeaseName); ok {
		var lease coordinationv1.Lease
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.(*unstructured.Unstructured).Object, &lease); err != nil {
			return nil, false, err
		}
		if lb := leaseHeartbeat(&lease); lb != nil && (beat == nil || lb.RenewTime.After(beat.RenewTime)) {
			return lb, false, nil
		}
	}
	return beat, starting, nil
}

// AgentIdentity is the name of the ServiceAccount, Role and RoleBinding
// in every mailbox namespace: all an agent needs in the ITS, and no more.
const AgentIdentity = "gitstellar-agent"

// AgentRules are what an agent does in its mailbox: read its Deliveries,
// write their status, and renew its Lease (server-side apply).
var AgentRules = []rbacv1.PolicyRule{
	{APIGroups: []string{gitstellarv1alpha1.GroupVersion.Group}, Resources: []string{"deliveries"}, Verbs: []string{"get", "list", "watch"}},
	{APIGroups: []string{gitstellarv1alpha1.GroupVersion.Group}, Resources: []string{"deliveries/status"}, Verbs: []string{"patch"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, Verbs: []string{"create"}},
	{APIGroups: []string{"coordination.k8s.io"}, Resources: []string{"leases"}, ResourceNames: []string{gitstellarv1alpha1.AgentLeaseName}, Verbs: []string{"get", "patch"}},
	{APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"create"}},
}

// applyAgentIdentity writes the ServiceAccount gitstellar-agent of a
// mailbox, bound to a Role of AgentRules there. A token of it (kubectl
// create token) is the agent's credential for the ITS.
func applyAgentIdentity(ctx context.Context, its dynamic.Interface, ns string) error {
	labels := map[string]string{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}
	om := metav1.ObjectMeta{Name: AgentIdentity, Namespace: ns, Labels: labels}
	objects := []struct {
		gvr schema.GroupVersionResource
		obj runtime.Object
	}{
		{corev1.SchemeGroupVersion.WithResource("serviceaccounts"), &corev1.ServiceAccount{
			TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"}, ObjectMeta: om}},
		{rbacv1.SchemeGroupVersion.WithResource("roles"), &rbacv1.Role{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "Role"}, ObjectMeta: om, Rules: AgentRules}},
		{rbacv1.SchemeGroupVersion.WithResource("rolebindings"), &rbacv1.RoleBinding{
			TypeMeta: metav1.TypeMeta{APIVersion: rbacv1.SchemeGroupVersion.String(), Kind: "RoleBinding"}, ObjectMeta: om,
			RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: AgentIdentity},
			Subjects: []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: AgentIdentity, Namespace: ns}}}},
	}
	for _, o := range objects {
		u, err := runtime.DefaultUnstructuredConverter.ToUnstructured(o.obj)
		if err != nil {
			return err
		}
		if _, err := its.Resource(o.gvr).Namespace(ns).Apply(ctx, AgentIdentity, &unstructured.Unstructured{Object: u},
			metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true}); err != nil {
			return fmt.Errorf("mailbox %s: the agent's %s: %w", ns, o.gvr.Resource, err)
		}
	}
	return nil
}

// ReadyCondition says what an agent's latest heartbeat (nil: none) tells
// of its WEC at a time: the Ready condition's status, reason and message.
func ReadyCondition(beat *Heartbeat, now time.Time) metav1.Condition {
	c := metav1.Condition{Type: "Ready", Status: metav1.ConditionFalse}
	switch {
	case beat == nil:
		c.Reason, c.Message = ReasonAgentNotRegistered, "no agent has registered in the WEC's mailbox yet"
	case beat.Duration > 0 && now.Sub(beat.RenewTime) > beat.Duration:
		c.Reason = ReasonAgentLost
		c.Message = fmt.Sprintf("the agent's last heartbeat was at %s", beat.RenewTime.UTC().Format(time.RFC3339))
	case beat.WECError != "":
		c.Reason, c.Message = ReasonWECUnreachable, "the agent cannot reach the WEC: "+beat.WECError
	default:
		c.Status, c.Reason = metav1.ConditionTrue, ReasonAgentConnected
		c.Message = "the agent is connected"
		if beat.WECVersion != "" {
			c.Message += "; the WEC runs Kubernetes " + beat.WECVersion
		}
	}
	return c
}

// makeMailbox makes a WEC's mailbox and the agent's identity in it.
func (m *ClusterMonitor) makeMailbox(ctx context.Context, ns string) error {
	if err := applyMailbox(ctx, m.its, ns); err != nil {
		return err
	}
	return applyAgentIdentity(ctx, m.its, ns)
}
