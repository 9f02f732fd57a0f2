package main

import (
	"strings"
	"sync"

	"github.com/spf13/pflag"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/validate"
)

// renderFlags are how run, plan and validate render a repository: the
// limits repository content is held to, and whether kustomize may fetch
// remote bases.
type renderFlags struct {
	limits           render.Limits
	allowRemoteBases bool
}

func (r *renderFlags) bind(f *pflag.FlagSet) {
	f.Var(limitsValue{&r.limits}, "limit", "raise or lower a bound on repository content, NAME=VALUE (repeatable); defaults:\n"+
		strings.TrimSpace(render.LimitHelp())+"\n(docs/security.md)")
	f.BoolVar(&r.allowRemoteBases, "allow-remote-bases", false, "let kustomize fetch remote bases and http(s) resources named by kustomizations (network access chosen by the repository's authors); off by default")
}

// options are the render options of the flags, with the validator of
// control objects: a revision that a space or a controller would refuse
// does not render.
func (r *renderFlags) options(path string) (render.Options, error) {
	v, err := controlValidator()
	return render.Options{Path: path, Limits: r.limits, AllowRemoteBases: r.allowRemoteBases, Validator: v}, err
}

// controlValidator is made once per process: it compiles every CRD schema.
var controlValidator = sync.OnceValues(validate.New)

// limitsValue is --limit as a pflag.Value.
type limitsValue struct{ l *render.Limits }

// String is empty: the defaults are in the flag's help.
func (v limitsValue) String() string     { return "" }
func (v limitsValue) Set(s string) error { return v.l.Set(s) }
func (v limitsValue) Type() string       { return "NAME=VALUE" }
