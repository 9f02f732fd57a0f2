package k8sbinaries

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
)

// Versions of the programs, chosen to fit the client libraries in go.mod.
const (
	KubernetesVersion = "v1.36.3"
	EtcdVersion       = "v3.6.16"
	KwokVersion       = "v0.8.0"
	HelmVersion       = "v3.22.0"
)

// Name is the file name of a program.
type Name string

// The programs.
const (
	Etcd                  Name = "etcd"
	KubeAPIServer         Name = "kube-apiserver"
	KubeControllerManager Name = "kube-controller-manager"
	KubeScheduler         Name = "kube-scheduler"
	Kwok                  Name = "kwok"
	// Kubectl is not run by the environment; tests and scripts use it.
	Kubectl Name = "kubectl"
	// Helm lints and renders the charts in charts/.
	Helm Name = "helm"
)

// Hub lists the programs a bare environment needs; All adds what makes
// Pods run in a WEC.
// Known adds the programs tests and scripts use.
var (
	Hub   = []Name{Etcd, KubeAPIServer}
	All   = []Name{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kwok}
	Known = []Name{Etcd, KubeAPIServer, KubeControllerManager, KubeScheduler, Kwok, Kubectl, Helm}
)

// Options says which programs to find and how.
type Options struct {
	// Need lists the programs to find; default All.
	Need []Name
	// CacheDir is the root of the build cache; default DefaultCacheDir().
	CacheDir string
	// Progress receives a line per program built and progress while
	// building; nil discards.
	Progress io.Writer
	// NoBuild fails instead of building a missing program.
	NoBuild bool
}

// Set is the programs found.
type Set struct {
	paths map[Name]string
	// KwokStages is the path of kwok's stage configuration (empty unless
	// kwok was needed).
	KwokStages string
}

// Path returns the path of a program, or "" when it was not asked for.
func (s *Set) Path(n Name) string { return s.paths[n] }

// DefaultCacheDir returns ${XDG_CACHE_HOME:-~/.cache}/gitstellar/k8s.
func DefaultCacheDir() string {
	base, err := os.UserCacheDir()
	if err != nil {
		base = os.TempDir()
	}
	return filepath.Join(base, "gitstellar", "k8s")
}

// NotFoundError says that a program could not be found nor built, and what
// was tried.
type NotFoundError struct {
	Name  Name
	Tried []string
	Err   error
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("%s: not found (tried %s) and could not be built: %v\n"+
		"Point KUBEBUILDER_ASSETS at a directory holding existing binaries (etcd, kube-apiserver, and for WECs "+
		"kube-controller-manager, kube-scheduler, kwok), put them on PATH, or allow access to the Go module proxy",
		e.Name, strings.Join(e.Tried, "; "), e.Err)
}

func (e *NotFoundError) Unwrap() error { return e.Err }

// Ensure finds every program in opts.Need, building the missing ones.
func Ensure(ctx context.Context, opts Options) (*Set, error) {
	if len(opts.Need) == 0 {
		opts.Need = All
	}
	if opts.CacheDir == "" {
		opts.CacheDir = DefaultCacheDir()
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	set := &Set{paths: map[Name]string{}}
	for _, n := range opts.Need {
		if !slices.Contains(Known, n) {
			return nil, fmt.Errorf("unknown program %q (known: %s)", n, joinNames(Known))
		}
		p, err := find(ctx, n, opts)
		if err != nil {
			return nil, err
		}
		set.paths[n] = p
		if n == Kwok {
			stages, err := ensureKwokStages(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("kwok stages: %w", err)
			}
			set.KwokStages = stages
		}
	}
	return set, nil
}

func find(ctx context.Context, n Name, opts Options) (string, error) {
	var tried []string
	if dir := os.Getenv("KUBEBUILDER_ASSETS"); dir != "" {
		p := filepath.Join(dir, string(n))
		if isExecutable(p) {
			return p, nil
		}
		tried = append(tried, "KUBEBUILDER_ASSETS="+dir)
	} else {
		tried = append(tried, "KUBEBUILDER_ASSETS (unset)")
	}
	if p, err := exec.LookPath(string(n)); err == nil {
		if n != Kubectl {
			return p, nil
		}
		// kubectl is supported within one minor version of the
		// apiservers: an older one on PATH is skipped (and built).
		v, ok := kubectlMatches(ctx, p)
		if ok {
			return p, nil
		}
		tried = append(tried, fmt.Sprintf("PATH (%s is %s, not within one minor version of %s)", p, v, KubernetesVersion))
	} else {
		tried = append(tried, "PATH")
	}
	cached := filepath.Join(opts.CacheDir, versionOf(n), string(n))
	if isExecutable(cached) {
		return cached, nil
	}
	tried = append(tried, "cache "+filepath.Dir(cached))
	if opts.NoBuild {
		return "", &NotFoundError{Name: n, Tried: tried, Err: errors.New("building is disabled")}
	}
	if err := build(ctx, n, cached, opts); err != nil {
		return "", &NotFoundError{Name: n, Tried: tried, Err: err}
	}
	return cached, nil
}

func versionOf(n Name) string {
	switch n {
	case Etcd:
		return "etcd-" + EtcdVersion
	case Kwok:
		return "kwok-" + KwokVersion
	case Helm:
		return "helm-" + HelmVersion
	default:
		return "kubernetes-" + KubernetesVersion
	}
}

func joinNames(names []Name) string {
	var s []string
	for _, n := range names {
		s = append(s, string(n))
	}
	return strings.Join(s, ", ")
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// kubectlMatches tells a kubectl's version and whether it is within one
// minor version of KubernetesVersion, as kubectl's skew policy asks.
func kubectlMatches(ctx context.Context, path string) (string, bool) {
	out, err := exec.CommandContext(ctx, path, "version", "--client", "-o", "json").Output()
	if err != nil {
		return "unknown", false
	}
	var v struct {
		ClientVersion struct {
			GitVersion string `json:"gitVersion"`
		} `json:"clientVersion"`
	}
	if json.Unmarshal(out, &v) != nil {
		return "unknown", false
	}
	return v.ClientVersion.GitVersion, minorSkew(v.ClientVersion.GitVersion, KubernetesVersion) <= 1
}

// minorSkew is how many minor versions apart two vMAJOR.MINOR.PATCH
// versions are (a large number when they cannot be read or the majors
// differ).
func minorSkew(a, b string) int {
	parse := func(v string) (int, int, bool) {
		var major, minor int
		_, err := fmt.Sscanf(strings.TrimPrefix(v, "v"), "%d.%d", &major, &minor)
		return major, minor, err == nil
	}
	am, an, ok1 := parse(a)
	bm, bn, ok2 := parse(b)
	if !ok1 || !ok2 || am != bm {
		return 1 << 10
	}
	if an > bn {
		return an - bn
	}
	return bn - an
}
