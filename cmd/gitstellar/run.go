package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"

	"github.com/gitstellar/gitstellar/pkg/bind"
	"github.com/gitstellar/gitstellar/pkg/controller"
	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

type runOptions struct {
	repo, ref, path, name  string
	kubeconfig, cacheDir   string
	interval               time.Duration
	schedule               string
	webhookAddr            string
	webhookSecretFile      string
	once                   bool
	timeout                time.Duration
	logFormat              string
	creds                  source.CredentialFiles
	credentialsSecret      string
	chartCredentialsSecret string
	bindGroups             []string
	insecureIgnoreHostKey  bool

	metricsAddr    string
	pprofAddr      string
	gcPercent      int
	statusBranch   string
	statusInterval time.Duration
	statusRepo     string
	statusCreds    source.CredentialFiles

	verifyCommits []string
	render        renderFlags

	leaderElect     bool
	leaderNamespace string
	leaderID        string
	leaseDuration   time.Duration
	shutdownTimeout time.Duration
}

func newRunCommand() *cobra.Command {
	o := runOptions{}
	cmd := &cobra.Command{
		Use:   "run --repo URL",
		Short: "Follow a repository and apply it into the spaces it declares",
		Long: "Run fetches --ref of --repo, renders it (see examples/repo-layout), installs gitstellar's CRDs\n" +
			"into every space the repository declares and applies the objects with server-side apply,\n" +
			"pruning what left Git. It syncs at start, then on --interval, --schedule and push webhooks.\n" +
			"With --once it syncs the current revision, prints what it did and exits non-zero on any error.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", "", "repository URL (https://, ssh://, user@host:path, file://) or local path; or an OCI artifact of the layout, as flux push artifact pushes it (oci://host/repo:tag, oci://host/repo@sha256:…)")
	f.StringVar(&o.ref, "ref", "HEAD", "HEAD (the remote's default branch), a branch, refs/tags/NAME (or tag:NAME), or a 40-hex commit")
	f.StringVar(&o.path, "path", "", "sub-directory of the repository that holds the layout")
	f.StringVar(&o.name, "name", "gitstellar", "name of this source (keys inventories and owner labels)")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig with a context per space (default: $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&o.cacheDir, "cache-dir", "", "where fetched revisions are kept (default: the user cache directory)")
	f.DurationVar(&o.interval, "interval", time.Minute, "fetch interval (0: none)")
	f.StringVar(&o.schedule, "schedule", "", "cron schedule of fetches, e.g. '*/5 * * * *' or '@every 10m'")
	f.StringVar(&o.webhookAddr, "webhook-addr", "", "address to receive push webhooks on, e.g. :9292 (POST /hook)")
	f.StringVar(&o.webhookSecretFile, "webhook-secret-file", "", "file holding the webhook secret (required with --webhook-addr)")
	f.BoolVar(&o.once, "once", false, "sync once and exit: 0 when everything applied, 1 otherwise")
	f.DurationVar(&o.timeout, "timeout", 5*time.Minute, "with --once, how long the sync may take")
	f.StringVar(&o.logFormat, "log-format", "text", "log format: text or json")
	f.StringSliceVar(&o.bindGroups, "bind-groups", nil, "API groups whose WDS objects can be bound (default: all; \"\" or core is the core group)")
	addGitCredentialFlags(f, &o.creds, &o.insecureIgnoreHostKey)
	f.StringVar(&o.chartCredentialsSecret, "chart-credentials-secret", "", "NAMESPACE/NAME of a Secret whose key credentials.yaml lists chart repository credentials as --chart-credentials does")
	f.StringVar(&o.credentialsSecret, "credentials-secret", "", "NAMESPACE/NAME of a Secret with the Git credentials (keys: username, password, bearerToken, identity, known_hosts), read from the cluster gitstellar runs in (in-cluster, else the kubeconfig's current context)")
	f.StringVar(&o.metricsAddr, "metrics-addr", "", "address to serve /metrics, /healthz and /readyz on, e.g. :8080 (not with --once)")
	f.StringVar(&o.pprofAddr, "pprof-addr", "", "address to serve Go's profiles on (/debug/pprof/), e.g. 127.0.0.1:6060; off by default, as profiles show the process's memory")
	addGCFlag(f, &o.gcPercent)
	f.StringVar(&o.statusBranch, "status-branch", report.DefaultStatusBranch, "branch the summarised status is committed to (\"\": none)")
	f.DurationVar(&o.statusInterval, "status-interval", 10*time.Second, "at most one status branch commit per interval")
	f.StringVar(&o.statusRepo, "status-repo", "", "repository of the status branch (default: --repo, with its credentials)")
	f.StringVar(&o.statusCreds.Username, "status-username", "", "HTTPS user name for --status-repo")
	f.StringVar(&o.statusCreds.PasswordFile, "status-password-file", "", "file holding the HTTPS password for --status-repo")
	f.StringVar(&o.statusCreds.TokenFile, "status-token-file", "", "file holding an HTTPS token for --status-repo")
	f.StringVar(&o.statusCreds.PrivateKeyFile, "status-ssh-key-file", "", "file holding the SSH private key for --status-repo")
	f.StringVar(&o.statusCreds.PassphraseFile, "status-ssh-passphrase-file", "", "file holding that key's passphrase")
	f.StringVar(&o.statusCreds.KnownHostsFile, "status-known-hosts-file", "", "known_hosts for an SSH --status-repo")
	f.StringArrayVar(&o.verifyCommits, "verify-commits", nil, "file of trusted OpenPGP or SSH public keys (repeatable): a head commit not signed by one of them is refused and nothing of it is applied (see docs/commit-verification.md)")
	o.render.bind(f)
	f.BoolVar(&o.leaderElect, "leader-elect", false, "run only while holding a Lease in the hosting cluster, so that several replicas are safe")
	f.StringVar(&o.leaderNamespace, "leader-election-namespace", "", "namespace of the Lease (default: the pod's namespace in a cluster, else default)")
	f.StringVar(&o.leaderID, "leader-election-id", "", "name of the Lease (default: gitstellar-NAME)")
	f.DurationVar(&o.leaseDuration, "leader-election-lease-duration", 15*time.Second, "how long a Lease that is not renewed stays with its holder; a standby takes over after it")
	f.DurationVar(&o.shutdownTimeout, "shutdown-timeout", 30*time.Second, "on SIGTERM, how long a running sync may finish before it is abandoned")
	return cmd
}

func (o *runOptions) logger(w io.Writer) (logr.Logger, error) {
	switch o.logFormat {
	case "json":
		return zap.New(zap.WriteTo(w), zap.JSONEncoder()), nil
	case "text":
		return zap.New(zap.WriteTo(w), zap.ConsoleEncoder()), nil
	}
	return logr.Logger{}, fmt.Errorf("--log-format %q: want text or json", o.logFormat)
}

// connector reaches spaces through the kubeconfig and, when gitstellar runs
// in a cluster, through kubeconfigs in that cluster's Secrets
// (spec.kubeconfig.secretRef).
func connector(kubeconfig string) spaces.Connector {
	c := spaces.Connector{Kubeconfig: kubeconfig}
	if cfg, err := rest.InClusterConfig(); err == nil {
		c.Secrets = spaces.NewSecretReader(cfg)
	}
	return c
}

// credentials come from files, or from a Secret of the hosting cluster.
func (o *runOptions) credentials(ctx context.Context) (source.Credentials, error) {
	if o.credentialsSecret == "" {
		return o.creds.Load()
	}
	if o.creds != (source.CredentialFiles{}) {
		return source.Credentials{}, errors.New("--credentials-secret and credential files exclude each other")
	}
	data, err := o.readSecret(ctx, "--credentials-secret", o.credentialsSecret)
	if err != nil {
		return source.Credentials{}, err
	}
	return source.FromSecretData(data), nil
}

// readSecret reads the Secret a flag names (NAMESPACE/NAME) from the
// cluster gitstellar runs in.
func (o *runOptions) readSecret(ctx context.Context, flag, ref string) (map[string][]byte, error) {
	ns, name, ok := strings.Cut(ref, "/")
	if !ok || ns == "" || name == "" {
		return nil, fmt.Errorf("%s %q: want NAMESPACE/NAME", flag, ref)
	}
	cfg, err := spaces.HostingConfig(o.kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	data, err := spaces.ReadSecret(ctx, cfg, ns, name)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", flag, err)
	}
	return data, nil
}

// cacheRoot is where fetched revisions and the status branch's clone live.
func (o *runOptions) cacheRoot() string {
	if o.cacheDir != "" {
		return o.cacheDir
	}
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "gitstellar", "sources")
}

// statusWriter prepares the status branch writer, or nil without one.
func (o *runOptions) statusWriter(ctx context.Context, log logr.Logger) (*report.StatusBranchWriter, error) {
	if o.statusBranch == "" {
		return nil, nil
	}
	url, creds := o.statusRepo, source.Credentials{}
	if url == "" && source.IsOCI(o.repo) {
		log.Info("no status branch: the source is an OCI artifact, which cannot take a commit; name a Git repository for it with --status-repo")
		return nil, nil
	}
	if url == "" {
		url = o.repo
		var err error
		if creds, err = o.credentials(ctx); err != nil {
			return nil, err
		}
		creds.InsecureIgnoreHostKey = o.insecureIgnoreHostKey
	} else {
		var err error
		if creds, err = o.statusCreds.Load(); err != nil {
			return nil, fmt.Errorf("--status-repo credentials: %w", err)
		}
	}
	w, err := report.NewStatusBranchWriter(report.StatusBranchOptions{
		URL: url, Branch: o.statusBranch, Credentials: creds,
		Writer: "gitstellar run " + o.name,
		Log:    log,
	})
	if err != nil {
		return nil, fmt.Errorf("--status-branch: %w", err)
	}
	return w, nil
}

func (o *runOptions) controller(ctx context.Context, log logr.Logger) (*controller.Controller, error) {
	if o.repo == "" {
		return nil, errors.New("--repo is required")
	}
	ref, err := source.ParseRef(o.ref)
	if err != nil {
		return nil, fmt.Errorf("--ref: %w", err)
	}
	creds, err := o.credentials(ctx)
	if err != nil {
		return nil, err
	}
	creds.InsecureIgnoreHostKey = o.insecureIgnoreHostKey
	var verifier *source.CommitVerifier
	if len(o.verifyCommits) > 0 {
		if verifier, err = source.LoadCommitVerifier(o.verifyCommits); err != nil {
			return nil, fmt.Errorf("--verify-commits: %w", err)
		}
		log.Info("verifying commits", "keys", verifier.String())
	}
	cache := o.cacheRoot()
	validator, err := controlValidator()
	if err != nil {
		return nil, err
	}
	if o.chartCredentialsSecret != "" {
		if o.render.chartCredentials != "" {
			return nil, errors.New("--chart-credentials and --chart-credentials-secret exclude each other")
		}
		data, err := o.readSecret(ctx, "--chart-credentials-secret", o.chartCredentialsSecret)
		if err != nil {
			return nil, err
		}
		if o.render.chartCredentialSet, err = chartrepo.ParseCredentials(data["credentials.yaml"]); err != nil {
			return nil, fmt.Errorf("--chart-credentials-secret %s: key credentials.yaml: %w", o.chartCredentialsSecret, err)
		}
	}
	charts, err := o.render.charts(true)
	if err != nil {
		return nil, err
	}
	return controller.New(controller.Config{
		Name:             o.name,
		Validator:        validator,
		Source:           source.Options{URL: o.repo, Ref: ref, CacheDir: cache, Credentials: creds, Verifier: verifier},
		Path:             o.path,
		Limits:           o.render.limits,
		AllowRemoteBases: o.render.allowRemoteBases,
		Charts:           charts,
		Connector:        connector(o.kubeconfig),
		BindGroups:       coreGroup(o.bindGroups),
		Log:              log,
	})
}

func (o *runOptions) run(cmd *cobra.Command) error {
	log, err := o.logger(cmd.ErrOrStderr())
	if err != nil {
		return err
	}
	if o.once && (o.leaderElect || o.metricsAddr != "") {
		return &exitError{code: 2, err: errors.New("--once syncs once and exits: it takes neither --leader-elect nor --metrics-addr")}
	}
	if err := setGCPercent(cmd.Flags(), o.gcPercent); err != nil {
		return &exitError{code: 2, err: err}
	}
	if o.once && o.logFormat == "text" {
		// The summary on stdout says it all, for people.
		log = logr.Discard()
	}
	c, err := o.controller(cmd.Context(), log)
	if err != nil {
		return err
	}
	writer, err := o.statusWriter(cmd.Context(), log)
	if err != nil {
		return err
	}
	if o.once {
		ctx, cancel := context.WithTimeout(cmd.Context(), o.timeout)
		defer cancel()
		res := c.Sync(ctx, true)
		defer c.Stop()
		printSync(cmd.OutOrStdout(), res)
		bindings, berr := c.WaitBound(ctx, res)
		printBindings(cmd.OutOrStdout(), bindings)
		var derr error
		if berr == nil && res.Err() == nil {
			var delivered controller.Delivered
			delivered, derr = c.WaitDelivered(ctx)
			printDelivered(cmd.OutOrStdout(), delivered)
		}
		var rerr error
		if writer != nil {
			// The status as the WECs report it: wait for every object to be
			// ready (or the timeout), then commit it once.
			var summary report.Summary
			if berr == nil && derr == nil && res.Err() == nil {
				summary, rerr = c.WaitReported(ctx)
			} else {
				summary = c.Summary()
			}
			committed, werr := controller.WriteStatus(cmd.Context(), writer, summary)
			switch {
			case werr != nil:
				fmt.Fprintf(cmd.OutOrStdout(), "status branch %s: %v\n", o.statusBranch, werr)
				rerr = errors.Join(rerr, werr)
			case committed && summary.SourceCommit == "":
				fmt.Fprintf(cmd.OutOrStdout(), "status branch %s: committed the revision's errors\n", o.statusBranch)
			case committed:
				fmt.Fprintf(cmd.OutOrStdout(), "status branch %s: committed the status of %s\n", o.statusBranch, shortCommit(summary.SourceCommit))
			default:
				fmt.Fprintf(cmd.OutOrStdout(), "status branch %s: unchanged\n", o.statusBranch)
			}
		}
		if err := res.Err(); err != nil {
			return &exitError{code: 1, err: errors.New("sync failed")}
		}
		if err := errors.Join(berr, derr, rerr); err != nil {
			return err
		}
		return nil
	}
	runOpts := controller.RunOptions{Interval: o.interval, Signal: source.NewSignal(), ShutdownTimeout: o.shutdownTimeout}
	var srv *metrics.Server
	if o.metricsAddr != "" {
		if srv, err = metrics.Listen(cmd.Context(), o.metricsAddr); err != nil {
			return fmt.Errorf("--metrics-addr: %w", err)
		}
		log.Info("metrics listening", "addr", srv.Addr(), "paths", "/metrics /healthz /readyz")
		runOpts.OnSync = func(*controller.SyncResult) { srv.SetReady(true) }
	}
	if o.pprofAddr != "" {
		addr, err := metrics.ServeProfiles(cmd.Context(), o.pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		log.Info("profiles listening", "addr", addr, "path", "/debug/pprof/")
	}
	if o.schedule != "" {
		if runOpts.Schedule, err = source.ParseSchedule(o.schedule); err != nil {
			return err
		}
	}
	if o.webhookAddr != "" {
		if err := o.serveWebhook(cmd.Context(), runOpts.Signal, log); err != nil {
			return err
		}
	}
	work := func(ctx context.Context) {
		if writer != nil {
			go c.RunStatusBranch(ctx, writer, o.statusInterval)
		}
		_ = c.Run(ctx, runOpts)
	}
	if !o.leaderElect {
		metrics.Leader.Set(1)
		work(cmd.Context())
		return nil
	}
	le, err := o.leaderElection(log, srv)
	if err != nil {
		return err
	}
	le.Signal = runOpts.Signal // a standby passes webhooks on to the leader
	if srv != nil {
		srv.SetReady(true) // a standby is ready: it waits for the Lease
	}
	return controller.Lead(cmd.Context(), le, work)
}

// leaderElection says which Lease the replicas contend for, in the hosting
// cluster.
func (o *runOptions) leaderElection(log logr.Logger, srv *metrics.Server) (controller.LeaderElection, error) {
	cfg, err := spaces.HostingConfig(o.kubeconfig)
	if err != nil {
		return controller.LeaderElection{}, fmt.Errorf("--leader-elect: %w", err)
	}
	ns := o.leaderNamespace
	if ns == "" {
		ns = spaces.HostingNamespace()
	}
	id := o.leaderID
	if id == "" {
		id = "gitstellar-" + o.name
	}
	return controller.LeaderElection{
		Config: cfg, Namespace: ns, Name: id, LeaseDuration: o.leaseDuration,
		RenewDeadline: o.leaseDuration * 2 / 3, RetryPeriod: o.leaseDuration / 7, Log: log,
		OnLeading: func(leading bool) {
			if leading {
				metrics.Leader.Set(1)
				if srv != nil {
					srv.SetReady(false) // until this leader's first sync
				}
				return
			}
			metrics.Leader.Set(0)
		},
	}, nil
}

func (o *runOptions) serveWebhook(ctx context.Context, sig *source.Signal, log logr.Logger) error {
	if o.webhookSecretFile == "" {
		return errors.New("--webhook-addr needs --webhook-secret-file")
	}
	secret, err := os.ReadFile(o.webhookSecretFile)
	if err != nil {
		return fmt.Errorf("--webhook-secret-file: %w", err)
	}
	secret = []byte(strings.TrimRight(string(secret), "\r\n"))
	if len(secret) == 0 {
		return errors.New("--webhook-secret-file: empty secret")
	}
	mux := http.NewServeMux()
	mux.Handle("/hook", &source.Webhook{Secret: secret, Signal: sig, Rejected: func(reason string) {
		log.Info("webhook rejected", "reason", reason)
	}})
	l, err := net.Listen("tcp", o.webhookAddr)
	if err != nil {
		return fmt.Errorf("--webhook-addr: %w", err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("webhook listening", "addr", l.Addr().String(), "path", "/hook")
	return nil
}

func shortCommit(c string) string {
	if len(c) > 12 {
		return c[:12]
	}
	return c
}

// coreGroup reads "core" as the core group's "".
func coreGroup(groups []string) []string {
	out := make([]string, len(groups))
	for i, g := range groups {
		if g != "core" {
			out[i] = g
		}
	}
	return out
}

// printBindings writes what each WDS binds.
func printBindings(w io.Writer, bindings map[string][]bind.PolicySummary) {
	names := make([]string, 0, len(bindings))
	for name := range bindings {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, wds := range names {
		for _, p := range bindings[wds] {
			if len(p.Errors) > 0 {
				fmt.Fprintf(w, "%s: binding %s: %s\n", wds, p.Policy, strings.Join(p.Errors, "; "))
				continue
			}
			dest := strings.Join(p.Destinations, ", ")
			if dest == "" {
				dest = "no WEC"
			}
			fmt.Fprintf(w, "%s: binding %s: %d objects → %s\n", wds, p.Policy, p.Objects, dest)
		}
	}
}

// printDelivered writes where the WECs stand, for people: how many
// applied everything, what the Bindings say went wrong, and the WECs whose
// agent does not report (not waited for).
func printDelivered(w io.Writer, d controller.Delivered) {
	if total := len(d.Applied) + len(d.Failed) + len(d.NotConnected); total > 0 {
		fmt.Fprintf(w, "WECs converged: %d/%d\n", len(d.Applied), total)
	}
	for _, b := range slices.Sorted(maps.Keys(d.Problems)) {
		for _, p := range d.Problems[b] {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	for _, wec := range d.NotConnected {
		fmt.Fprintf(w, "  %s: no agent reports from it (none installed, or not running); not waited for\n", wec)
	}
}

// printSync writes what a sync did, for people.
func printSync(w io.Writer, res *controller.SyncResult) {
	if res.FetchErr != nil {
		fmt.Fprintf(w, "fetch failed: %v\n", res.FetchErr)
		return
	}
	rev := res.Revision
	fmt.Fprintf(w, "revision %s (%s): %s\n", rev.Short(), rev.Ref, rev.Message)
	if len(res.RenderErrors) > 0 {
		fmt.Fprintf(w, "the revision does not render; nothing was applied:\n")
		for _, e := range res.RenderErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
		return
	}
	for _, s := range res.Spaces {
		switch {
		case s.Err != nil:
			fmt.Fprintf(w, "%s (%s): %v\n", s.Name, s.Type, s.Err)
		case s.Apply != nil:
			fmt.Fprintf(w, "%s (%s): %s\n", s.Name, s.Type, s.Apply.Summary())
			for _, p := range s.Apply.Problems() {
				loc := ""
				if p.Source.File != "" {
					loc = p.Source.String() + ": "
				}
				fmt.Fprintf(w, "  %s%s\n", loc, p)
			}
		}
	}
	fmt.Fprintf(w, "synced in %s\n", res.Duration.Round(time.Millisecond))
}
