package controller

import (
	"context"
	"sync"

	"k8s.io/apimachinery/pkg/runtime"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// running is goroutines started together and stopped together.
type running struct {
	cancel context.CancelFunc
	done   chan struct{} // closed when every one has returned
}

// start runs each function in a goroutine of its own until ctx ends or
// stop is called.
func start(ctx context.Context, runs ...func(context.Context) error) running {
	rctx, cancel := context.WithCancel(ctx)
	r := running{cancel: cancel, done: make(chan struct{})}
	var wg sync.WaitGroup
	for _, run := range runs {
		wg.Go(func() { _ = run(rctx) })
	}
	go func() { wg.Wait(); close(r.done) }()
	return r
}

// stop ends the goroutines and waits for them.
func (r running) stop() {
	r.cancel()
	<-r.done
}

// binder is a running bind controller, transport and status controller for
// one WDS.
type binder struct {
	running
	its       string
	ctl       *bind.Controller
	transport *propagate.Transport
	status    *report.StatusController
}

// ensureMonitors runs one ClusterMonitor per ITS of the revision. Called
// with c.mu held.
func (c *Controller) ensureMonitors(ctx context.Context, rendered *render.Result) {
	want := map[string]bool{}
	for _, sp := range rendered.Spaces {
		if sp.Type == gitstellarv1alpha1.SpaceTypeITS {
			want[sp.Name] = true
		}
	}
	for name, m := range c.monitors {
		if !want[name] {
			m.stop()
			delete(c.monitors, name)
		}
	}
	for its := range want {
		conn, ok := c.spaces[its]
		if _, running := c.monitors[its]; running || !ok {
			continue
		}
		cm, err := propagate.NewClusterMonitor(propagate.ClusterMonitorOptions{ITS: its, ITSConfig: conn.config, ITSCache: conn.cache, LocalHeartbeats: conn.heartbeats, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "cluster monitor", "its", its)
			continue
		}
		c.monitors[its] = start(ctx, cm.Run)
	}
}

// retirer is a running Retirer of an ITS.
type retirer struct {
	running
	retirer *propagate.Retirer
}

// ensureRetirers runs one Retirer per ITS of the revision and tells it
// which WDSes name that ITS now: the Deliveries the others left there
// (a WDS removed from the repository, or moved to another ITS) are
// retired. Called with c.mu held, by ensureBinders.
func (c *Controller) ensureRetirers(ctx context.Context, rendered *render.Result) {
	keep := map[string][]string{}
	for _, sp := range rendered.Spaces {
		if sp.Type == gitstellarv1alpha1.SpaceTypeITS {
			keep[sp.Name] = []string{}
		}
	}
	for wds, its := range wdsITSes(rendered) {
		keep[its] = append(keep[its], wds)
	}
	for name, r := range c.retirers {
		if _, ok := keep[name]; !ok {
			c.cfg.Log.Info("ITS left the repository: the Deliveries its WDSes left there stay", "its", name)
			r.stop()
			delete(c.retirers, name)
		}
	}
	for its, wdses := range keep {
		r, ok := c.retirers[its]
		if !ok {
			conn, ok := c.spaces[its]
			if !ok {
				continue // not reachable this time; the next sync tries again
			}
			ret, err := propagate.NewRetirer(propagate.RetirerOptions{ITS: its, Source: c.cfg.Name, ITSConfig: conn.config, ITSCache: conn.cache, Log: c.cfg.Log})
			if err != nil {
				c.cfg.Log.Error(err, "retirer", "its", its)
				continue
			}
			r = &retirer{running: start(ctx, ret.Run), retirer: ret}
			c.retirers[its] = r
		}
		r.retirer.Keep(wdses)
	}
}

// stopLeaving stops the bind controllers of the WDSes that left the
// revision or name another ITS now, and the agents of the WECs that left
// or moved to another ITS. Sync calls it before it applies the revision:
// a WorkloadCluster pruned from its old ITS must not reach a binder or an
// agent still working there (the binder would drop the WEC from its
// Binding, and the agent delete what the WEC keeps under its new ITS).
// Called with c.mu held.
func (c *Controller) stopLeaving(rendered *render.Result) {
	wdses := wdsITSes(rendered)
	for name, b := range c.binders {
		if its, ok := wdses[name]; !ok || its != b.its {
			b.stop()
			delete(c.binders, name)
		}
	}
	wecs := agentsOf(rendered)
	for name, a := range c.agents {
		if d, ok := wecs[name]; !ok || d.its != a.its {
			a.stop()
			delete(c.agents, name)
		}
	}
}

// wecDecl is how a revision reaches a WEC whose agent run runs.
type wecDecl struct {
	its string
	src *gitstellarv1alpha1.KubeconfigSource
}

// agentsOf lists the WECs of a revision whose agent run runs: the
// WorkloadClusters that say how to reach them.
func agentsOf(rendered *render.Result) map[string]wecDecl {
	want := map[string]wecDecl{}
	for _, sp := range rendered.Spaces {
		if sp.Type != gitstellarv1alpha1.SpaceTypeITS {
			continue
		}
		for _, o := range sp.Objects {
			var wec gitstellarv1alpha1.WorkloadCluster
			if o.GetKind() != "WorkloadCluster" || runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &wec) != nil {
				continue
			}
			if wec.Spec.Kubeconfig != nil {
				want[wec.Name] = wecDecl{its: sp.Name, src: wec.Spec.Kubeconfig}
			}
		}
	}
	return want
}

// wdsITSes maps each WDS of a revision to the ITS it names.
func wdsITSes(rendered *render.Result) map[string]string {
	out := map[string]string{}
	for _, sp := range rendered.Spaces {
		if sp.Type == gitstellarv1alpha1.SpaceTypeWDS {
			out[sp.Name] = sp.Declaration.Spec.ITS
		}
	}
	return out
}

// forgetSpaces stops watching the spaces that left the repository. Called
// with c.mu held, after everything that used them has stopped.
func (c *Controller) forgetSpaces(rendered *render.Result) {
	declared := map[string]bool{}
	for _, sp := range rendered.Spaces {
		declared[sp.Name] = true
	}
	for name, conn := range c.spaces {
		if !declared[name] {
			c.cfg.Log.Info("space left the repository: no longer synced", "space", name)
			conn.stopWatching()
			delete(c.spaces, name)
			metrics.SpaceObjects.DeleteLabelValues(name)
		}
	}
}

// agent is a running WEC agent.
type agent struct {
	running
	its   string
	agent *propagate.Agent
}

// ensureBinders runs one bind controller per WDS of the revision, with its
// ITS, until ctx ends (stopLeaving has stopped those of the WDSes that left
// or changed their ITS). First the Retirers are told which WDSes stay
// (ensureRetirers): a WDS's transport and a Retirer never work on its
// Deliveries in one ITS at once. Called with c.mu held, after stopLeaving.
func (c *Controller) ensureBinders(ctx context.Context, rendered *render.Result) {
	want := wdsITSes(rendered)
	c.ensureRetirers(ctx, rendered)
	for wds, its := range want {
		if _, ok := c.binders[wds]; ok {
			continue
		}
		wdsConn, ok1 := c.spaces[wds]
		itsConn, ok2 := c.spaces[its]
		if !ok1 || !ok2 {
			continue // not reachable this time; the next sync tries again
		}
		ctl, err := bind.NewController(bind.Options{WDS: wds, WDSConfig: wdsConn.config, ITSConfig: itsConn.config, WDSCache: wdsConn.cache, ITSCache: itsConn.cache, Groups: c.cfg.BindGroups, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "bind controller", "wds", wds)
			continue
		}
		tr, err := propagate.NewTransport(propagate.TransportOptions{WDS: wds, Source: c.cfg.Name, WDSConfig: wdsConn.config, ITSConfig: itsConn.config, WDSCache: wdsConn.cache, ITSCache: itsConn.cache, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "transport", "wds", wds)
			continue
		}
		st, err := report.NewStatusController(report.StatusOptions{WDS: wds, WDSConfig: wdsConn.config, ITSConfig: itsConn.config, WDSCache: wdsConn.cache, ITSCache: itsConn.cache, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "status controller", "wds", wds)
			continue
		}
		c.binders[wds] = &binder{running: start(ctx, ctl.Run, tr.Run, st.Run), its: its, ctl: ctl, transport: tr, status: st}
	}
}

// ensureAgents runs the agent of every WorkloadCluster that says how to
// reach its WEC (spec.kubeconfig). Called with c.mu held, after
// stopLeaving.
func (c *Controller) ensureAgents(ctx context.Context, rendered *render.Result) {
	for name, d := range agentsOf(rendered) {
		if _, ok := c.agents[name]; ok {
			continue
		}
		itsConn, ok := c.spaces[d.its]
		if !ok {
			continue
		}
		wecCfg, err := c.cfg.Connector.Config(ctx, name, d.src)
		if err != nil {
			c.cfg.Log.Error(err, "agent", "cluster", name)
			continue
		}
		ag, err := propagate.NewAgent(propagate.AgentOptions{Cluster: name, ITSConfig: itsConn.config, WECConfig: wecCfg, ITSCache: itsConn.cache, LocalHeartbeats: itsConn.heartbeats, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "agent", "cluster", name)
			continue
		}
		c.agents[name] = &agent{running: start(ctx, ag.Run), its: d.its, agent: ag}
	}
}

// Stop stops the bind controllers, transports and agents.
func (c *Controller) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, b := range c.binders {
		b.stop()
		delete(c.binders, name)
	}
	for name, a := range c.agents {
		a.stop()
		delete(c.agents, name)
	}
	for name, m := range c.monitors {
		m.stop()
		delete(c.monitors, name)
	}
	for name, r := range c.retirers {
		r.stop()
		delete(c.retirers, name)
	}
	for _, conn := range c.spaces {
		conn.stopWatching()
	}
}
