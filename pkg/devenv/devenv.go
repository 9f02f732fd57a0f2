package devenv

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

// DefaultStateDir is where `gitstellar dev` keeps its state, relative to the
// working directory.
const DefaultStateDir = ".gitstellar/dev"

// Options configures Up.
type Options struct {
	// StateDir holds the environment's state; default DefaultStateDir.
	StateDir string
	// WECs is the number of WECs, cluster1..clusterN, beside its1 and wds1
	// (0: only those two), of an environment without Repo or Layout. Up
	// of an existing environment with another number is refused; for an
	// environment made from a layout, only when WECsSet.
	WECs int
	// WECsSet says WECs was chosen (`--wecs` given), not defaulted.
	WECsSet bool
	// Repo is a repository's work tree whose declared spaces the
	// environment runs (ReadLayout), from the directory Path in it.
	// Exclusive with Layout and WECs.
	Repo string
	Path string
	// Layout is the set of spaces to run, instead of Repo's; for tests.
	// Exclusive with Repo and WECs.
	Layout *Layout
	// Prune, with Repo or Layout, stops the spaces it does not declare
	// and removes them from the state and the kubeconfig (without it they
	// keep running, listed by Removed). Their data is deleted from etcd:
	// one declared again starts empty.
	Prune bool
	// Bare runs only etcd and the apiservers: no controllers, no fake nodes.
	Bare bool
	// Binaries are the programs to run; nil finds or builds them (see
	// pkg/k8sbinaries), reporting to Progress.
	Binaries *k8sbinaries.Set
	// Progress receives human-readable progress; nil discards.
	Progress io.Writer
	// StopWithParent makes every process end when this program ends, even
	// if it is killed (Linux). For tests; `gitstellar dev up` leaves its
	// processes running.
	StopWithParent bool
	// ReadyTimeout bounds the wait for the environment to be ready;
	// default 3 minutes.
	ReadyTimeout time.Duration
}

// Environment is a dev environment in a state directory.
type Environment struct {
	dir            string
	state          *state
	pki            pki
	binaries       *k8sbinaries.Set
	stopWithParent bool
	progress       io.Writer
	started        []string
	pruned         []string
	clientMu       sync.Mutex
	client         *http.Client // the admin's, for health probes
	spawned        sync.Map     // process name → pid, for processes this program started
	exits          sync.Map     // process name → how it ended, for processes this program started
}

// Started lists the processes the Up that returned e started: empty when
// everything was already running.
func (e *Environment) Started() []string { return append([]string(nil), e.started...) }

// Pruned lists the spaces the Up that returned e stopped and removed
// (Options.Prune).
func (e *Environment) Pruned() []string { return append([]string(nil), e.pruned...) }

// Dir is the state directory.
func (e *Environment) Dir() string { return e.dir }

// Spaces lists the spaces: its1, wds1, then the WECs; or, for an
// environment made from a layout, the ITSes, the WDSes, then the WECs, each
// by name, those Removed included.
func (e *Environment) Spaces() []Space { return append([]Space(nil), e.state.Spaces...) }

// Removed lists the spaces the layout (the repository) last read does not
// declare any more and that were not pruned: they still run.
func (e *Environment) Removed() []string {
	var names []string
	for _, sp := range e.state.Spaces {
		if sp.Removed {
			names = append(names, sp.Name)
		}
	}
	return names
}

// FromLayout tells whether the environment's spaces follow a layout (a
// repository's, Options.Repo, or Options.Layout) rather than Options.WECs.
func (e *Environment) FromLayout() bool { return e.state.Layout }

// Repo is the repository and the path in it that the environment's spaces
// were last read from; "" when they were not read from one.
func (e *Environment) Repo() (dir, path string) { return e.state.Repo, e.state.Path }

// Roles lists the names of the spaces of a role.
func (e *Environment) Roles(role Role) []string {
	var names []string
	for _, sp := range e.state.Spaces {
		if sp.Role == role {
			names = append(names, sp.Name)
		}
	}
	return names
}

// Space returns the space of that name.
func (e *Environment) Space(name string) (Space, bool) {
	for _, sp := range e.state.Spaces {
		if sp.Name == name {
			return sp, true
		}
	}
	return Space{}, false
}

// WECs lists the names of the WEC spaces.
func (e *Environment) WECs() []string { return e.Roles(RoleWEC) }

func (e *Environment) kwokStages() string {
	if e.binaries == nil {
		return ""
	}
	return e.binaries.KwokStages
}

// Load opens the environment in dir without starting anything.
func Load(dir string) (*Environment, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	st, err := loadState(abs)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w in %s", errNoEnvironment, abs)
	}
	if err != nil {
		return nil, err
	}
	return &Environment{dir: abs, state: st, pki: pki{dir: filepath.Join(abs, "pki")}, progress: io.Discard}, nil
}

// IsNotFound tells whether err says there is no environment in the directory.
func IsNotFound(err error) bool { return errors.Is(err, errNoEnvironment) }

// Up starts the environment in opts.StateDir, or brings an existing one
// back to running: processes that died are restarted, running ones are left
// alone. With Repo or Layout, it first makes the environment follow the
// declared spaces: new ones are added and started; ones no longer declared
// keep running (Removed), or with Prune are stopped and removed. On
// failure, the processes this call started are stopped again.
func Up(ctx context.Context, opts Options) (*Environment, error) {
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	layout, err := opts.layout(ctx)
	if err != nil {
		return nil, err
	}
	if opts.Progress == nil {
		opts.Progress = io.Discard
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 3 * time.Minute
	}
	dir, err := filepath.Abs(opts.StateDir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	unlock, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	defer unlock()

	st, err := loadState(dir)
	exists := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st, err = newState(opts.Bare); err != nil {
			return nil, err
		}
		if layout == nil {
			if err := st.add(wecsLayout(opts.WECs).Spaces); err != nil {
				return nil, err
			}
		}
	case err != nil:
		return nil, err
	case st.Bare != opts.Bare:
		return nil, fmt.Errorf("the dev environment in %s is bare: %t, not %t: run `gitstellar dev down --state-dir %s` first",
			dir, st.Bare, opts.Bare, opts.StateDir)
	case layout == nil && st.Layout && opts.WECsSet && st.wecs() != opts.WECs:
		return nil, fmt.Errorf("the dev environment in %s has %d WECs from its repository, not %d: run `gitstellar dev up` without --wecs to bring it back, or `gitstellar dev down --state-dir %s` first",
			dir, st.wecs(), opts.WECs, opts.StateDir)
	case layout == nil && !st.Layout && (st.wecs() != opts.WECs || st.Bare != opts.Bare):
		return nil, fmt.Errorf("the dev environment in %s has %d WECs (bare: %t), not %d (bare: %t): run `gitstellar dev down --state-dir %s` first",
			dir, st.wecs(), st.Bare, opts.WECs, opts.Bare, opts.StateDir)
	}

	e := &Environment{
		dir: dir, state: st, pki: pki{dir: filepath.Join(dir, "pki")},
		binaries: opts.Binaries, stopWithParent: opts.StopWithParent, progress: opts.Progress,
	}
	var pruned []Space
	if layout != nil {
		before := *st
		if pruned, err = st.follow(*layout, opts.Prune); err != nil {
			return nil, fmt.Errorf("the dev environment in %s: %w", dir, err)
		}
		st.Repo, st.Path = "", ""
		if opts.Repo != "" {
			if st.Repo, err = filepath.Abs(opts.Repo); err != nil {
				return nil, err
			}
			st.Path = opts.Path
		}
		if exists {
			if err := e.prune(&before, pruned); err != nil {
				return nil, err
			}
		}
	}
	if e.binaries == nil && len(e.notRunning()) > 0 {
		need := k8sbinaries.All
		if st.Bare {
			need = k8sbinaries.Hub
		}
		if e.binaries, err = k8sbinaries.Ensure(ctx, k8sbinaries.Options{Need: need, Progress: opts.Progress}); err != nil {
			return nil, err
		}
	}
	if err := e.pki.ensure(); err != nil {
		return nil, fmt.Errorf("certificates: %w", err)
	}
	if err := st.save(dir); err != nil {
		return nil, err
	}
	if err := e.writeKubeconfigs(); err != nil {
		return nil, fmt.Errorf("kubeconfig: %w", err)
	}

	ctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	started, err := e.startMissing(ctx)
	if err != nil {
		for i := len(started) - 1; i >= 0; i-- {
			_ = e.stop(started[i], 5*time.Second)
		}
		return nil, fmt.Errorf("%w (logs in %s)", err, filepath.Join(dir, "logs"))
	}
	e.started = started
	for _, sp := range pruned {
		if n, err := e.deleteEtcdPrefix(ctx, sp.etcdPrefix()); err != nil {
			fmt.Fprintf(e.progress, "%s: its data is left in etcd (under %s): %v\n", sp.Name, sp.etcdPrefix(), err)
		} else {
			fmt.Fprintf(e.progress, "%s: deleted its %d keys from etcd\n", sp.Name, n)
		}
	}
	return e, nil
}

// OptionsError is Options that contradict each other.
type OptionsError string

func (e OptionsError) Error() string { return string(e) }

// layout checks the options and returns the spaces they declare: nil for
// an environment of Options.WECs.
func (o Options) layout(ctx context.Context) (*Layout, error) {
	switch {
	case o.WECs < 0:
		return nil, OptionsError(fmt.Sprintf("--wecs %d: must be at least 0", o.WECs))
	case o.Repo != "" && o.Layout != nil:
		return nil, OptionsError("a repository and a layout: choose one")
	case (o.Repo != "" || o.Layout != nil) && (o.WECs != 0 || o.WECsSet):
		return nil, OptionsError("--repo and --wecs: the repository declares the WECs (WorkloadClusters reached by a kubeconfig context); drop --wecs")
	case o.Path != "" && o.Repo == "":
		return nil, OptionsError("--path is a directory in the repository: it needs --repo")
	case o.Prune && o.Repo == "" && o.Layout == nil:
		return nil, OptionsError("--prune stops the spaces the repository no longer declares: it needs --repo")
	case o.Layout != nil:
		l := Layout{Spaces: append([]LayoutSpace(nil), o.Layout.Spaces...)}
		if err := l.check(); err != nil {
			return nil, err
		}
		l.sort()
		return &l, nil
	case o.Repo != "":
		l, err := ReadLayout(ctx, o.Repo, o.Path)
		if err != nil {
			return nil, err
		}
		if len(l.Spaces) == 0 {
			return nil, fmt.Errorf("%s declares no space the dev environment can run: no Space nor WorkloadCluster reached by a kubeconfig context", filepath.Join(o.Repo, o.Path))
		}
		return &l, nil
	}
	return nil, nil
}

// prune stops the processes of spaces dropped from the state (before is
// the state that had them) and removes their files.
func (e *Environment) prune(before *state, spaces []Space) error {
	if len(spaces) == 0 {
		return nil
	}
	names := map[string]bool{}
	for _, sp := range spaces {
		names[sp.Name] = true
	}
	var procs []process
	for _, p := range (&Environment{dir: e.dir, state: before, pki: e.pki}).processes() {
		if names[p.Space] {
			procs = append(procs, p)
		}
	}
	var errs []error
	for _, phase := range [][]Component{
		{ComponentKwok, ComponentScheduler, ComponentControllerManager},
		{ComponentAPIServer},
	} {
		errs = append(errs, e.stopAll(procs, phase, 15*time.Second)...)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	for _, sp := range spaces {
		fmt.Fprintf(e.progress, "stopped %s\n", sp.Name)
		_ = os.Remove(e.spaceKubeconfig(sp.Name))
		_ = os.RemoveAll(e.pki.spaceDir(sp.Name))
		e.pruned = append(e.pruned, sp.Name)
	}
	return nil
}

// notRunning lists the processes that do not run.
func (e *Environment) notRunning() []string {
	var names []string
	for _, p := range e.processes() {
		if e.pid(p.Name) == 0 {
			names = append(names, p.Name)
		}
	}
	return names
}

// startWave is how many processes of a phase start together: fifty
// apiservers starting at once on two cores starve etcd, and an apiserver
// whose start-up checks time out exits.
const startWave = 8

// startMissing starts the processes that are not running, phase by phase
// and startWave at a time, waiting for each wave to be ready, and returns
// the names it started.
func (e *Environment) startMissing(ctx context.Context) ([]string, error) {
	var started []string
	phases := [][]Component{
		{ComponentEtcd},
		{ComponentAPIServer},
		{ComponentControllerManager, ComponentScheduler, ComponentKwok},
	}
	for _, phase := range phases {
		var here []process
		for _, p := range e.processes() {
			for _, c := range phase {
				if p.Component == c {
					here = append(here, p)
				}
			}
		}
		for wave := range slices.Chunk(here, startWave) {
			for _, p := range wave {
				if e.pid(p.Name) != 0 {
					continue
				}
				fmt.Fprintf(e.progress, "starting %s\n", p.Name)
				if err := e.start(p); err != nil {
					return started, err
				}
				started = append(started, p.Name)
			}
			for _, p := range wave {
				if err := e.waitReady(ctx, p); err != nil {
					return started, err
				}
			}
		}
	}
	if !e.state.Bare {
		for _, wec := range e.WECs() {
			if err := e.ensureNodes(ctx, wec); err != nil {
				return started, fmt.Errorf("%s: fake nodes: %w", wec, err)
			}
		}
	}
	return started, nil
}

// Down stops every process of the environment, controllers first and etcd
// last, then removes the state directory. Down of an environment already
// removed does nothing.
func (e *Environment) Down(ctx context.Context) error {
	unlock, err := lockDir(e.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, phase := range [][]Component{
		{ComponentKwok, ComponentScheduler, ComponentControllerManager},
		{ComponentAPIServer},
		{ComponentEtcd},
	} {
		errs = append(errs, e.stopAll(e.processes(), phase, 15*time.Second)...)
	}
	unlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(e.dir)
}

// stopAll stops the processes of some components, of procs, at once.
func (e *Environment) stopAll(procs []process, components []Component, grace time.Duration) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range procs {
		if !slices.Contains(components, p.Component) {
			continue
		}
		wg.Go(func() {
			if err := e.stop(p.Name, grace); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// Kill ends one process of the environment at once (SIGKILL), as a crash
// would, leaving its state for Up to restart it. For tests of resilience.
func (e *Environment) Kill(name string) error { return e.stop(name, 0) }

// lockDir takes an exclusive lock of the state directory, so that two `dev`
// commands do not start the same processes.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, err
	}
	return func() { _ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN); f.Close() }, nil
}
