package controller

import (
	"context"
	"fmt"
	"slices"
	"time"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// binder is a running bind controller for one WDS.
type binder struct {
	its    string
	ctl    *bind.Controller
	cancel context.CancelFunc
	done   chan struct{}
}

// ensureBinders runs one bind controller per WDS of the revision, with its
// ITS, until ctx ends; a WDS that left the revision, or changed its ITS,
// has its controller stopped. Called with c.mu held.
func (c *Controller) ensureBinders(ctx context.Context, rendered *render.Result) {
	want := map[string]string{}
	for _, sp := range rendered.Spaces {
		if sp.Type == gitstellarv1alpha1.SpaceTypeWDS {
			want[sp.Name] = sp.Declaration.Spec.ITS
		}
	}
	for name, b := range c.binders {
		if its, ok := want[name]; !ok || its != b.its {
			b.cancel()
			<-b.done
			delete(c.binders, name)
		}
	}
	for wds, its := range want {
		if _, ok := c.binders[wds]; ok {
			continue
		}
		wdsConn, ok1 := c.spaces[wds]
		itsConn, ok2 := c.spaces[its]
		if !ok1 || !ok2 {
			continue // not reachable this time; the next sync tries again
		}
		ctl, err := bind.NewController(bind.Options{WDS: wds, WDSConfig: wdsConn.config, ITSConfig: itsConn.config, Groups: c.cfg.BindGroups, Log: c.cfg.Log})
		if err != nil {
			c.cfg.Log.Error(err, "bind controller", "wds", wds)
			continue
		}
		bctx, cancel := context.WithCancel(ctx)
		b := &binder{its: its, ctl: ctl, cancel: cancel, done: make(chan struct{})}
		go func() { defer close(b.done); _ = ctl.Run(bctx) }()
		c.binders[wds] = b
	}
}

// WaitBound waits until every bind controller has seen everything and
// written every Binding, and returns what each WDS binds.
func (c *Controller) WaitBound(ctx context.Context) (map[string][]bind.PolicySummary, error) {
	c.mu.Lock()
	binders := make(map[string]*binder, len(c.binders))
	for k, v := range c.binders {
		binders[k] = v
	}
	c.mu.Unlock()
	// Idle twice in a row, a little apart: a write can cause another event.
	stable := 0
	for stable < 2 {
		idle := true
		for _, b := range binders {
			idle = idle && b.ctl.Idle()
		}
		if idle {
			stable++
		} else {
			stable = 0
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for Bindings: %w", ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
	out := map[string][]bind.PolicySummary{}
	names := make([]string, 0, len(binders))
	for name := range binders {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		out[name] = binders[name].ctl.Summaries()
	}
	return out, nil
}

// Stop stops the bind controllers.
func (c *Controller) Stop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for name, b := range c.binders {
		b.cancel()
		<-b.done
		delete(c.binders, name)
	}
}
