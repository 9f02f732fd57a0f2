package k8sbinaries

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// wrapper is a throw-away module that requires the module a program lives
// in, so that the program can be built with `go build`.
type wrapper struct {
	module  string // the module required
	version string
	pkg     string // the package of the program's main
	// replacesFromStaging: replace every module that the required module's
	// go.mod replaces with ./staging/src/... by its published version.
	stagingVersion string
}

func wrapperFor(n Name) wrapper {
	switch n {
	case Etcd:
		return wrapper{module: "go.etcd.io/etcd/server/v3", version: EtcdVersion, pkg: "go.etcd.io/etcd/server/v3"}
	case Kwok:
		return wrapper{module: "sigs.k8s.io/kwok", version: KwokVersion, pkg: "sigs.k8s.io/kwok/cmd/kwok"}
	case Helm:
		return wrapper{module: "helm.sh/helm/v3", version: HelmVersion, pkg: "helm.sh/helm/v3/cmd/helm"}
	default:
		return wrapper{
			module:         "k8s.io/kubernetes",
			version:        KubernetesVersion,
			pkg:            "k8s.io/kubernetes/cmd/" + string(n),
			stagingVersion: "v0" + strings.TrimPrefix(KubernetesVersion, "v1"),
		}
	}
}

// build builds program n into dest, under an exclusive lock of the cache.
func build(ctx context.Context, n Name, dest string, opts Options) error {
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	unlock, err := lockFile(filepath.Join(opts.CacheDir, ".lock"))
	if err != nil {
		return err
	}
	defer unlock()
	if isExecutable(dest) { // built by another process while we waited
		return nil
	}

	w := wrapperFor(n)
	src := filepath.Join(opts.CacheDir, "src", versionOf(n))
	start := time.Now()
	fmt.Fprintf(opts.Progress, "building %s %s from the Go module proxy (once; this can take minutes)\n", n, w.version)
	stop := tick(opts.Progress, string(n), start)
	defer stop()

	if err := w.write(ctx, src); err != nil {
		return err
	}
	tmp := dest + ".tmp"
	if err := goCmd(ctx, src, "build", "-ldflags=-s -w", "-o", tmp, w.pkg); err != nil {
		return err
	}
	if err := os.Rename(tmp, dest); err != nil {
		return err
	}
	stop()
	fmt.Fprintf(opts.Progress, "built %s in %s: %s\n", n, time.Since(start).Round(time.Second), dest)
	return nil
}

// write creates the wrapper module in dir, unless it is already there.
func (w wrapper) write(ctx context.Context, dir string) error {
	if _, err := os.Stat(filepath.Join(dir, "go.sum")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var mod bytes.Buffer
	fmt.Fprintf(&mod, "module gitstellar.local/k8sbinaries\n\ngo 1.26\n\nrequire %s %s\n", w.module, w.version)
	if w.stagingVersion != "" {
		staged, err := stagingModules(ctx, dir, w.module, w.version)
		if err != nil {
			return err
		}
		mod.WriteString("\nreplace (\n")
		for _, m := range staged {
			fmt.Fprintf(&mod, "\t%s => %s %s\n", m, m, w.stagingVersion)
		}
		mod.WriteString(")\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), mod.Bytes(), 0o644); err != nil {
		return err
	}
	var imports strings.Builder
	for _, n := range Known {
		if ww := wrapperFor(n); ww.module == w.module {
			fmt.Fprintf(&imports, "\t_ %q\n", ww.pkg)
		}
	}
	tools := "//go:build tools\n\npackage tools\n\nimport (\n" + imports.String() + ")\n"
	if err := os.WriteFile(filepath.Join(dir, "tools.go"), []byte(tools), 0o644); err != nil {
		return err
	}
	if err := goCmd(ctx, dir, "mod", "tidy"); err != nil {
		os.Remove(filepath.Join(dir, "go.sum"))
		return err
	}
	return nil
}

// stagingModules lists the modules that module@version's go.mod replaces
// with a directory under ./staging.
func stagingModules(ctx context.Context, dir, module, version string) ([]string, error) {
	info, err := download(ctx, dir, module, version)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(info.GoMod)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	mods, err := stagingReplaces(f)
	if err != nil {
		return nil, err
	}
	if len(mods) == 0 {
		return nil, fmt.Errorf("%s %s: no ./staging replace directives in %s", module, version, info.GoMod)
	}
	return mods, nil
}

// stagingReplaces lists the modules a go.mod replaces with ./staging/...
func stagingReplaces(goMod io.Reader) ([]string, error) {
	var mods []string
	sc := bufio.NewScanner(goMod)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) >= 3 && fields[len(fields)-2] == "=>" && strings.HasPrefix(fields[len(fields)-1], "./staging/") {
			mods = append(mods, fields[len(fields)-3])
		}
	}
	return mods, sc.Err()
}

type moduleInfo struct {
	Dir   string
	GoMod string
	Error string
}

// download fetches module@version into the module cache and tells where.
func download(ctx context.Context, dir, module, version string) (*moduleInfo, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", module+"@"+version)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.Output()
	var info moduleInfo
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return nil, fmt.Errorf("go mod download %s@%s: %s", module, version, info.Error)
	}
	if err != nil {
		return nil, fmt.Errorf("go mod download %s@%s: %w", module, version, err)
	}
	return &info, nil
}

func goCmd(ctx context.Context, dir string, args ...string) error {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = goEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, lastLines(out, 20))
	}
	return nil
}

// goEnv is the environment of the go commands building a wrapper module:
// module mode, no workspace, and no flags of the caller's own build.
func goEnv() []string {
	env := os.Environ()
	env = append(env, "GOFLAGS=-mod=mod", "GOWORK=off", "GO111MODULE=on")
	return env
}

func lastLines(out []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// tick prints the elapsed time every 15 seconds until stopped.
func tick(w io.Writer, what string, start time.Time) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(15 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(w, "  still building %s: %s elapsed\n", what, time.Since(start).Round(time.Second))
			}
		}
	}()
	var stopped bool
	return func() {
		if !stopped {
			stopped = true
			close(done)
		}
	}
}

// lockFile takes an exclusive lock on path, waiting for it.
func lockFile(path string) (unlock func(), err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

// kwokStageFiles are kwok's default "fast" stages, as shipped in its module.
var kwokStageFiles = []string{
	"kustomize/stage/node/fast/node-initialize.yaml",
	// Without heartbeats, the node lifecycle controller marks the nodes
	// NotReady after 40 s and evicts their Pods.
	"kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
	"kustomize/stage/pod/fast/pod-ready.yaml",
	"kustomize/stage/pod/fast/pod-complete.yaml",
	"kustomize/stage/pod/fast/pod-delete.yaml",
}

// ensureKwokStages writes kwok's stage configuration (without which kwok
// exits with "no stages found") from the kwok module into the cache.
func ensureKwokStages(ctx context.Context, opts Options) (string, error) {
	sum := sha256.Sum256([]byte(strings.Join(kwokStageFiles, "\n")))
	dest := filepath.Join(opts.CacheDir, versionOf(Kwok), "stages-"+hex.EncodeToString(sum[:4])+".yaml")
	if _, err := os.Stat(dest); err == nil {
		return dest, nil
	}
	dir := filepath.Join(opts.CacheDir, "src", versionOf(Kwok)+"-stages")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module gitstellar.local/kwokstages\n\ngo 1.26\n"), 0o644); err != nil {
		return "", err
	}
	info, err := download(ctx, dir, "sigs.k8s.io/kwok", KwokVersion)
	if err != nil {
		return "", err
	}
	var docs []string
	for _, f := range kwokStageFiles {
		b, err := os.ReadFile(filepath.Join(info.Dir, f))
		if err != nil {
			return "", err
		}
		docs = append(docs, strings.TrimSpace(string(b)))
	}
	tmp := dest + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(docs, "\n---\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	return dest, os.Rename(tmp, dest)
}
