package controller

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"sync"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/apply"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/events"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/spacecache"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

// Config configures a Controller.
type Config struct {
	// Name of the source: keys the inventories and the owner label.
	Name string
	// Source says which repository and ref to follow.
	Source source.Options
	// Path is the sub-directory of the repository to render ("" = root).
	Path string
	// Limits bound what a revision may make the controller read and hold.
	Limits render.Limits
	// AllowRemoteBases lets kustomize fetch remote bases (network).
	AllowRemoteBases bool
	// Charts fetches the charts declarations take from chart
	// repositories (nil: such a declaration is an error).
	Charts render.ChartSource
	// Validator, if set, checks each revision's control objects before
	// anything is applied (pkg/validate): a revision that a space or a
	// controller would refuse applies nothing.
	Validator render.SchemaValidator
	// Connector reaches the spaces.
	Connector spaces.Connector
	// BindGroups, when set, limits the API groups whose WDS objects the
	// bind controllers watch.
	BindGroups []string
	// Log receives one line per state change.
	Log logr.Logger
}

// Controller syncs a repository into its spaces.
type Controller struct {
	cfg     Config
	fetcher *source.Fetcher

	mu        sync.Mutex
	last      *SyncResult
	spaces    map[string]*spaceConn
	binders   map[string]*binder
	agents    map[string]*agent
	monitors  map[string]running
	retirers  map[string]*retirer
	lastError string
	// appliedCharts are the chart releases of appliedCommit.
	appliedCharts []report.ChartSummary
	// appliedCommit is the commit of the last revision applied to the
	// spaces (with or without problems).
	appliedCommit string
	// appliedWDSes are its WDSes, and the ITS of each.
	appliedWDSes map[string]string

	// reported is what Summary reads, updated at the end of each sync, so
	// that the status branch does not wait for a sync under way.
	reported struct {
		sync.Mutex
		commit  string
		charts  []report.ChartSummary
		last    *SyncResult
		binders map[string]*binder
		// wdses: the WDSes of the last revision applied, and their ITS;
		// reach: whether each space answers.
		wdses map[string]string
		reach map[string]*reachability
		// emitters write Events into each connected space.
		emitters map[string]*events.Emitter
		syncs    uint64 // counts the syncs recorded
	}
}

// spaceConn is a connected space: its client and whether its CRDs are in.
type spaceConn struct {
	config  *rest.Config
	dynamic dynamic.Interface
	applier *apply.Applier
	// crdsFor: the type of space whose CRDs this process installed (a
	// Space may change its type under the same name).
	crdsFor gitstellarv1alpha1.SpaceType
	// propertiesNamespace: an ITS whose customization-properties
	// namespace this process made.
	propertiesNamespace bool
	events              *events.Emitter
	// cache holds the informers that every component reading the space
	// shares; it runs until stopWatching.
	cache        *spacecache.Cache
	stopWatching context.CancelFunc // the applier's watches and the cache
	// heartbeats: of an ITS, the beats of the agents this process runs for
	// its WECs, read by its ClusterMonitor.
	heartbeats *propagate.LocalHeartbeats
	// status keeps the Space's status in the space; statusErr is its
	// last failure.
	status    *spaceStatusWriter
	statusErr string
	synced    bool // the last revision synced without problems
	// capabilities: what the space serves, for the charts rendered into
	// it; read again at every render with charts.
	capabilities *render.ChartCapabilities
	// reach says whether the space answers now.
	reach *reachability
}

// New prepares a controller; it reaches nothing yet.
func New(cfg Config) (*Controller, error) {
	f, err := source.NewFetcher(cfg.Source)
	if err != nil {
		return nil, err
	}
	if cfg.Log.GetSink() == nil {
		cfg.Log = logr.Discard()
	}
	return &Controller{cfg: cfg, fetcher: f, spaces: map[string]*spaceConn{}, binders: map[string]*binder{}, agents: map[string]*agent{}, monitors: map[string]running{}, retirers: map[string]*retirer{}}, nil
}

// Sync fetches the ref and, when it moved or the last sync did not succeed
// (or force is set), renders and applies the revision.
func (c *Controller) Sync(ctx context.Context, force bool) *SyncResult {
	c.mu.Lock()
	defer c.mu.Unlock()
	res := &SyncResult{Started: time.Now()}
	defer func() { res.Duration = time.Since(res.Started) }()

	rev, changed, err := c.fetcher.Fetch(ctx)
	if err != nil {
		res.FetchErr = err
		c.record(res)
		return res
	}
	res.Revision, res.Changed = rev, changed
	if !changed && !force && c.last != nil && c.last.OK() {
		res.Skipped = true
		res.Spaces = c.last.Spaces
		return res
	}
	if changed {
		c.cfg.Log.Info("new revision", "commit", rev.Commit, "ref", rev.Ref, "message", rev.Message)
	}

	rendered, err := c.render(ctx, rev)
	if err != nil {
		var errs render.Errors
		if !errors.As(err, &errs) {
			errs = render.Errors{{Location: render.Location{File: c.cfg.Path}, Message: err.Error()}}
		}
		res.RenderErrors = errs
		c.reportRenderErrors(ctx, res)
		c.record(res)
		return res
	}

	c.stopLeaving(rendered)
	// ITSes first: a WDS's workloads need their inventory in place.
	for _, want := range []gitstellarv1alpha1.SpaceType{gitstellarv1alpha1.SpaceTypeITS, gitstellarv1alpha1.SpaceTypeWDS} {
		for _, sp := range rendered.Spaces {
			if sp.Type == want {
				res.Spaces = append(res.Spaces, c.syncSpace(ctx, sp, rev))
			}
		}
	}
	c.ensureBinders(ctx, rendered)
	c.ensureAgents(ctx, rendered)
	c.ensureMonitors(ctx, rendered)
	c.forgetSpaces(rendered)
	c.appliedCommit = rev.Commit
	c.appliedCharts = chartSummaries(rendered.Charts)
	c.appliedWDSes = wdsITSes(rendered)
	c.record(res)
	return res
}

// chartSummaries are a revision's chart releases for the status branch.
func chartSummaries(charts []render.RenderedChart) []report.ChartSummary {
	var out []report.ChartSummary
	for _, ch := range charts {
		out = append(out, report.ChartSummary{Source: ch.Source.File, Release: ch.Release, Chart: ch.Name, Version: ch.Version, Repository: ch.Repository, Digest: ch.Digest})
	}
	return out
}

// render renders a revision. Charts render with the capabilities of the
// WDS they are in, read again at every render that has charts: when they
// changed (a WDS connected for the first time, a CRD installed), the
// revision is rendered again with them.
func (c *Controller) render(ctx context.Context, rev *source.Revision) (*render.Result, error) {
	asked := map[string]bool{}
	opts := render.Options{Path: c.cfg.Path, Limits: c.cfg.Limits, AllowRemoteBases: c.cfg.AllowRemoteBases, Validator: c.cfg.Validator, Charts: c.cfg.Charts,
		Capabilities: func(wds string) *render.ChartCapabilities {
			asked[wds] = true
			if conn, ok := c.spaces[wds]; ok {
				return conn.capabilities
			}
			return nil
		}}
	rendered, err := render.Render(ctx, rev.Tree, opts)
	if err != nil || len(asked) == 0 {
		return rendered, err
	}
	again := false
	for _, sp := range rendered.Spaces {
		if !asked[sp.Name] || sp.Type != gitstellarv1alpha1.SpaceTypeWDS {
			continue
		}
		conn, err := c.connect(ctx, sp)
		if err != nil {
			continue // its sync reports the connection's error
		}
		caps, err := discoverCapabilities(conn.config)
		if err != nil {
			c.cfg.Log.Error(err, "the capabilities charts render with", "space", sp.Name)
			continue
		}
		if !reflect.DeepEqual(caps, conn.capabilities) {
			conn.capabilities, again = caps, true
		}
	}
	if !again {
		return rendered, nil
	}
	return render.Render(ctx, rev.Tree, opts)
}

func (c *Controller) syncSpace(ctx context.Context, sp *render.Space, rev *source.Revision) SpaceResult {
	out := SpaceResult{Name: sp.Name, Type: string(sp.Type)}
	metrics.SpaceObjects.WithLabelValues(sp.Name).Set(float64(len(sp.Objects)))
	conn, err := c.connect(ctx, sp)
	if err != nil {
		out.Err = err
		return out
	}
	if conn.crdsFor != sp.Type {
		if _, err := crds.Install(ctx, conn.config, crds.Role(sp.Type), crds.InstallOptions{}); err != nil {
			out.Err = fmt.Errorf("install CRDs: %w", err)
			return out
		}
		conn.crdsFor = sp.Type
	}
	if sp.Type == gitstellarv1alpha1.SpaceTypeITS && !conn.propertiesNamespace {
		if err := propagate.EnsurePropertiesNamespace(ctx, conn.dynamic); err != nil {
			out.Err = err
			return out
		}
		conn.propertiesNamespace = true
	}
	out.Apply, out.Err = conn.applier.Apply(ctx, sp.Objects, rev.Commit)
	outcome := spaceOutcome{revision: rev.Commit, changed: out.Apply != nil && out.Apply.Changed()}
	switch {
	case out.Err != nil:
		msg := fmt.Sprintf("revision %s: %v", rev.Short(), out.Err)
		conn.events.Emit(ctx, spaceRef(sp.Name), events.Warning, reasonApplyFailed, msg)
		outcome.synced = metav1.Condition{Type: conditionSynced, Status: metav1.ConditionFalse, Reason: reasonApplyFailed, Message: msg}
	case len(out.Apply.Problems()) > 0:
		msg := fmt.Sprintf("revision %s: %s", rev.Short(), out.Apply.Summary())
		conn.events.Emit(ctx, spaceRef(sp.Name), events.Warning, reasonApplyProblems, msg)
		outcome.synced = metav1.Condition{Type: conditionSynced, Status: metav1.ConditionFalse, Reason: reasonApplyProblems, Message: msg}
	default:
		// An Event at a state change: the revision changed objects of
		// the space, or the space synced after failing (or for the first
		// time). A revision that changes nothing here writes nothing here.
		if outcome.changed || !conn.synced {
			conn.events.Emit(ctx, spaceRef(sp.Name), events.Normal, "Synced", fmt.Sprintf("revision %s: %s", rev.Short(), out.Apply.Summary()))
		}
		// No revision in the message: a revision that changes nothing
		// here does not write the status again.
		outcome.synced = metav1.Condition{Type: conditionSynced, Status: metav1.ConditionTrue, Reason: reasonApplied, Message: "every object of the revision is applied"}
	}
	c.updateSpaceStatus(ctx, sp.Name, conn, outcome)
	return out
}

// updateSpaceStatus writes a space's Space.status; a failure is logged
// when it differs from the last one (an unreachable space fails at every
// sync, and its sync error is logged already).
func (c *Controller) updateSpaceStatus(ctx context.Context, name string, conn *spaceConn, out spaceOutcome) {
	conn.synced = out.synced.Status == metav1.ConditionTrue
	err := conn.status.update(ctx, out)
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if msg != "" && msg != conn.statusErr {
		c.cfg.Log.Error(err, "space status", "space", name)
	}
	conn.statusErr = msg
}

// connect reaches a space once, as its Space object says.
func (c *Controller) connect(ctx context.Context, sp *render.Space) (*spaceConn, error) {
	if conn, ok := c.spaces[sp.Name]; ok {
		return conn, nil
	}
	cfg, err := c.cfg.Connector.Config(ctx, sp.Name, sp.Declaration.Spec.Kubeconfig)
	if err != nil {
		return nil, err
	}
	applier, err := apply.NewApplier(cfg, sp.Name, apply.Options{Source: c.cfg.Name})
	if err != nil {
		return nil, err
	}
	emitter, err := events.NewEmitter(cfg, "gitstellar.io/source-controller")
	if err != nil {
		return nil, err
	}
	shared, err := spacecache.New(spaces.Rated(cfg))
	if err != nil {
		return nil, err
	}
	watchCtx, stopWatching := context.WithCancel(context.WithoutCancel(ctx))
	applier.Watch(watchCtx)
	shared.Start(watchCtx)
	client, err := dynamic.NewForConfig(cfg)
	if err != nil {
		stopWatching()
		return nil, err
	}
	name := sp.Name
	reach, err := newReachability(watchCtx, name, cfg, c.cfg.Log, func(msg string, down time.Duration) {
		if msg == "" {
			emitter.Emit(watchCtx, spaceRef(name), events.Normal, "Reachable", fmt.Sprintf("the space answers again after %s", down.Round(time.Second)))
		}
		c.tellNeighbours(watchCtx, name, msg)
	})
	if err != nil {
		stopWatching()
		return nil, err
	}
	conn := &spaceConn{config: cfg, dynamic: client, applier: applier, events: emitter, cache: shared, stopWatching: stopWatching, heartbeats: propagate.NewLocalHeartbeats(),
		status: newSpaceStatusWriter(client, sp.Name), reach: reach}
	c.spaces[sp.Name] = conn
	return conn, nil
}

// tellNeighbours writes, when a space stops answering or answers again,
// an Event about it into the spaces that can still say so: for a WDS, its
// ITS; for an ITS, the WDSes naming it.
func (c *Controller) tellNeighbours(ctx context.Context, space, msg string) {
	c.reported.Lock()
	var into []*events.Emitter
	for wds, its := range c.reported.wdses {
		switch space {
		case wds:
			into = append(into, c.reported.emitters[its])
		case its:
			into = append(into, c.reported.emitters[wds])
		}
	}
	c.reported.Unlock()
	eventType, reason, text := events.Warning, "Unreachable", msg
	if msg == "" {
		eventType, reason, text = events.Normal, "Reachable", "the space answers again"
	}
	for _, e := range into {
		if e != nil {
			e.Emit(ctx, spaceRef(space), eventType, reason, text)
		}
	}
}

// reportRenderErrors puts the render errors on the Spaces of the last good
// revision, which stays in force.
func (c *Controller) reportRenderErrors(ctx context.Context, res *SyncResult) {
	msg := fmt.Sprintf("revision %s does not render, nothing applied; first error: %s", res.Revision.Short(), res.RenderErrors[0])
	for name, conn := range c.spaces {
		conn.events.Emit(ctx, spaceRef(name), events.Warning, reasonRenderFailed, msg)
		synced := metav1.Condition{Type: conditionSynced, Status: metav1.ConditionFalse, Reason: reasonRenderFailed, Message: msg}
		c.updateSpaceStatus(ctx, name, conn, spaceOutcome{synced: synced})
	}
}

// record keeps the result and logs what changed since the last one.
func (c *Controller) record(res *SyncResult) {
	errText := ""
	if err := res.Err(); err != nil {
		errText = err.Error()
	}
	switch {
	case errText != "" && errText != c.lastError:
		c.cfg.Log.Error(errors.New(errText), "sync failed", "commit", commitOf(res))
	case errText == "" && c.lastError != "":
		c.cfg.Log.Info("sync recovered", "commit", commitOf(res))
	}
	if errText == "" && res.Revision != nil {
		for _, s := range res.Spaces {
			if s.Apply != nil && (res.Changed || s.Apply.Changed()) {
				c.cfg.Log.Info("applied", "space", s.Name, "commit", res.Revision.Short(), "result", s.Apply.Summary())
			}
		}
	}
	c.lastError = errText
	c.last = res
	c.observe(res)
	c.reported.Lock()
	c.reported.commit, c.reported.charts, c.reported.last, c.reported.binders = c.appliedCommit, c.appliedCharts, res, maps.Clone(c.binders)
	c.reported.wdses, c.reported.reach, c.reported.emitters = c.appliedWDSes, map[string]*reachability{}, map[string]*events.Emitter{}
	for name, conn := range c.spaces {
		c.reported.reach[name], c.reported.emitters[name] = conn.reach, conn.events
	}
	c.reported.syncs++
	c.reported.Unlock()
}

// observe puts a sync into the metrics.
func (c *Controller) observe(res *SyncResult) {
	result := "success"
	switch {
	case res.FetchErr != nil:
		result = "fetch-error"
	case len(res.RenderErrors) > 0:
		result = "render-error"
	case !res.OK():
		result = "apply-error"
	}
	metrics.SyncDuration.WithLabelValues(c.cfg.Name, result).Observe(time.Since(res.Started).Seconds())
	if c.appliedCommit != "" {
		metrics.LastAppliedRevision.DeletePartialMatch(map[string]string{"source": c.cfg.Name})
		metrics.LastAppliedRevision.WithLabelValues(c.cfg.Name, c.appliedCommit).Set(1)
	}
	if result == "success" {
		metrics.LastSyncTimestamp.WithLabelValues(c.cfg.Name).SetToCurrentTime()
	}
}

func commitOf(res *SyncResult) string {
	if res.Revision == nil {
		return ""
	}
	return res.Revision.Commit
}

// spaceRef names a Space in Events.
func spaceRef(name string) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: gitstellarv1alpha1.GroupVersion.String(), Kind: "Space", Name: name}
}
