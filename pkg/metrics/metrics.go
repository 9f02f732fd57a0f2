package metrics

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/pprof"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry holds gitstellar's metrics (and the Go and process collectors).
var Registry = prometheus.NewRegistry()

var (
	// SyncDuration is how long each sync of a source took, by result.
	SyncDuration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gitstellar_sync_duration_seconds", Help: "Duration of a sync of a source: fetch, render, apply.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 12),
	}, []string{"source", "result"})
	// LastAppliedRevision is 1 for the commit last applied from a source.
	LastAppliedRevision = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_last_applied_revision_info", Help: "1 for the commit last applied from a source.",
	}, []string{"source", "commit"})
	// LastSyncTimestamp is when a source was last synced successfully.
	LastSyncTimestamp = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_last_successful_sync_timestamp_seconds", Help: "Unix time of the last sync of a source that applied everything.",
	}, []string{"source"})
	// SpaceObjects is how many objects from Git a space holds.
	SpaceObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_space_objects", Help: "Objects from Git in a space, as of the last sync.",
	}, []string{"space"})
	// SpaceReachable is 1 while a space's apiserver answers, 0 when not.
	SpaceReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_space_reachable", Help: "1 while the space's apiserver answers its readiness probe, 0 when not.",
	}, []string{"space"})
	// BindingObjects and BindingDestinations describe each Binding.
	BindingObjects = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_binding_objects", Help: "Objects a BindingPolicy binds.",
	}, []string{"wds", "policy"})
	BindingDestinations = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_binding_destinations", Help: "WECs a BindingPolicy selects.",
	}, []string{"wds", "policy"})
	// AgentApplyErrors counts entries an agent could not apply (errors
	// and conflicts), per WEC.
	AgentApplyErrors = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitstellar_agent_apply_errors_total", Help: "Objects a WEC's agent could not apply (error or conflict), counted at each attempt.",
	}, []string{"cluster"})
	// PropagationLatency is how long a change takes from the WDS to the WEC.
	PropagationLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "gitstellar_propagation_latency_seconds",
		Help:    "From the transport seeing a change in the WDS (object or Binding) to the WEC's agent having applied every object of the Delivery that carries it.",
		Buckets: prometheus.ExponentialBuckets(0.05, 2, 14),
	}, []string{"cluster"})
	// AgentApplies counts objects an agent applied, per WEC.
	AgentApplies = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitstellar_agent_applies_total", Help: "Objects a WEC's agent applied (server-side apply that succeeded).",
	}, []string{"cluster"})
	// AgentDeletions counts WEC objects an agent deleted because the hub
	// removed them.
	AgentDeletions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gitstellar_agent_deletions_total", Help: "Objects a WEC's agent deleted from its WEC because the hub removed them from a Binding's Deliveries.",
	}, []string{"cluster"})
	// AgentConflicts is how many entries an agent left alone because
	// another manager or tool owns their objects, as of its last pass.
	AgentConflicts = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_agent_conflicts", Help: "Entries a WEC's agent left alone at its last pass: the object is managed by another field manager or tool, or another WDS delivers it.",
	}, []string{"cluster"})
	// ApplyConcurrency is how many requests an applier has in flight at
	// most, as sized to its target's apiserver.
	ApplyConcurrency = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_apply_concurrency", Help: "Requests an applier keeps in flight at most to a space or WEC, sized by the latency and throttling of its apiserver.",
	}, []string{"target"})
	// AgentWECReachable is 1 while an agent reaches its WEC.
	AgentWECReachable = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "gitstellar_agent_wec_reachable", Help: "1 when a WEC's agent reached its WEC at its last pass, 0 when it could not.",
	}, []string{"cluster"})
	// StatusBranchCommits and StatusBranchFailures count the status
	// branch's pushes.
	StatusBranchCommits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gitstellar_status_branch_commits_total", Help: "Commits pushed to the status branch.",
	})
	StatusBranchFailures = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "gitstellar_status_branch_push_failures_total", Help: "Writes of the status branch that failed (after their retries).",
	})
	// Leader is 1 while this process leads (always, without leader
	// election).
	Leader = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "gitstellar_leader", Help: "1 while this process holds the leader Lease and syncs (always 1 without --leader-elect).",
	})
)

func init() {
	Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		SyncDuration, LastAppliedRevision, LastSyncTimestamp, SpaceObjects, SpaceReachable, BindingObjects, BindingDestinations,
		AgentApplyErrors, AgentApplies, AgentDeletions, AgentConflicts, ApplyConcurrency, AgentWECReachable, PropagationLatency, StatusBranchCommits, StatusBranchFailures, Leader)
}

// Server serves /metrics, /healthz (the process answers) and /readyz (what
// SetReady said last: for `run`, the first sync has run, or the process is
// a standby waiting for the leader Lease).
type Server struct {
	ready atomic.Bool
	l     net.Listener
	srv   *http.Server
}

// Listen binds addr (e.g. ":8080") and serves until ctx ends.
func Listen(ctx context.Context, addr string) (*Server, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &Server{l: l}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(Registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.ready.Load() {
			http.Error(w, "not ready: the first sync has not run yet", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	s.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := s.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			_ = l.Close()
		}
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = s.srv.Shutdown(shutdown)
	}()
	return s, nil
}

// Addr is where the server listens.
func (s *Server) Addr() string { return s.l.Addr().String() }

// SetReady says whether the process is ready.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeProfiles serves Go's profiles (net/http/pprof, under /debug/pprof/)
// on addr until ctx ends, and returns the address it listens on.
func ServeProfiles(ctx context.Context, addr string) (string, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		_ = srv.Close()
	}()
	return l.Addr().String(), nil
}
