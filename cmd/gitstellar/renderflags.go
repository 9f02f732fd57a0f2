package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
	"github.com/gitstellar/gitstellar/pkg/validate"
)

// renderFlags are how run, plan and validate render a repository: the
// limits repository content is held to, whether kustomize may fetch
// remote bases, and where charts from chart repositories are cached.
type renderFlags struct {
	limits           render.Limits
	allowRemoteBases bool
	chartCache       string
	fetchCharts      bool
	chartCredentials string
	// chartCredentialSet, when set, replaces --chart-credentials (run
	// reads it from a Secret).
	chartCredentialSet chartrepo.CredentialSet
}

func (r *renderFlags) bind(f *pflag.FlagSet) {
	f.Var(limitsValue{&r.limits}, "limit", "raise or lower a bound on repository content, NAME=VALUE (repeatable); defaults:\n"+
		strings.TrimSpace(render.LimitHelp())+"\n(docs/security.md)")
	f.BoolVar(&r.allowRemoteBases, "allow-remote-bases", false, "let kustomize fetch remote bases and http(s) resources named by kustomizations (network access chosen by the repository's authors); off by default")
	f.StringVar(&r.chartCache, "chart-cache", "", "where charts fetched from chart repositories are kept, by digest (default: the user cache directory)")
	f.StringVar(&r.chartCredentials, "chart-credentials", "", "YAML file listing chart repository credentials: - {url: https://… or oci://…, username: …, password: …} (the longest matching URL prefix is used, on that repository's host only)")
}

// bindFetchCharts adds --fetch-charts, for the commands that render
// offline by default.
func (r *renderFlags) bindFetchCharts(f *pflag.FlagSet) {
	f.BoolVar(&r.fetchCharts, "fetch-charts", false, "fetch the charts declarations take from chart repositories (only the repositories they name); without it, charts come from --chart-cache only")
}

// charts is the chart source: online, or from the cache only.
func (r *renderFlags) charts(online bool) (*chartrepo.Fetcher, error) {
	creds := r.chartCredentialSet
	if creds == nil && r.chartCredentials != "" {
		data, err := os.ReadFile(r.chartCredentials)
		if err != nil {
			return nil, fmt.Errorf("--chart-credentials: %w", err)
		}
		if creds, err = chartrepo.ParseCredentials(data); err != nil {
			return nil, fmt.Errorf("--chart-credentials %s: %w", r.chartCredentials, err)
		}
	}
	dir := r.chartCache
	if dir == "" {
		base, err := os.UserCacheDir()
		if err != nil {
			base = os.TempDir()
		}
		dir = filepath.Join(base, "gitstellar", "charts")
	}
	f := &chartrepo.Fetcher{CacheDir: dir, Offline: !online}
	if creds != nil {
		f.Credentials = creds.For
	}
	return f, nil
}

// options are the render options of the flags, with the validator of
// control objects: a revision that a space or a controller would refuse
// does not render.
func (r *renderFlags) options(path string) (render.Options, error) {
	v, err := controlValidator()
	if err != nil {
		return render.Options{}, err
	}
	charts, err := r.charts(r.fetchCharts)
	return render.Options{Path: path, Limits: r.limits, AllowRemoteBases: r.allowRemoteBases, Validator: v, Charts: charts}, err
}

// controlValidator is made once per process: it compiles every CRD schema.
var controlValidator = sync.OnceValues(validate.New)

// limitsValue is --limit as a pflag.Value.
type limitsValue struct{ l *render.Limits }

// String is empty: the defaults are in the flag's help.
func (v limitsValue) String() string     { return "" }
func (v limitsValue) Set(s string) error { return v.l.Set(s) }
func (v limitsValue) Type() string       { return "NAME=VALUE" }
