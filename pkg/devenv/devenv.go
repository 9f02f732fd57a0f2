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
	// WECs is the number of WECs, cluster1..clusterN (0: only the hub).
	WECs int
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
	clientMu       sync.Mutex
	client         *http.Client // the admin's, for health probes
	spawned        sync.Map     // process name → pid, for processes this program started
	exits          sync.Map     // process name → how it ended, for processes this program started
}

// Started lists the processes the Up that returned e started: empty when
// everything was already running.
func (e *Environment) Started() []string { return append([]string(nil), e.started...) }

// Dir is the state directory.
func (e *Environment) Dir() string { return e.dir }

// Spaces lists the spaces: its1, wds1, then the WECs.
func (e *Environment) Spaces() []Space { return append([]Space(nil), e.state.Spaces...) }

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
func (e *Environment) WECs() []string {
	var names []string
	for _, sp := range e.state.Spaces {
		if sp.Role == RoleWEC {
			names = append(names, sp.Name)
		}
	}
	return names
}

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
// alone. On failure, the processes this call started are stopped again.
func Up(ctx context.Context, opts Options) (*Environment, error) {
	if opts.StateDir == "" {
		opts.StateDir = DefaultStateDir
	}
	if opts.WECs < 0 {
		return nil, fmt.Errorf("--wecs %d: must be at least 0", opts.WECs)
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
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if st, err = newState(opts.WECs, opts.Bare); err != nil {
			return nil, err
		}
	case err != nil:
		return nil, err
	case st.wecs() != opts.WECs || st.Bare != opts.Bare:
		return nil, fmt.Errorf("the dev environment in %s has %d WECs (bare: %t), not %d (bare: %t): run `gitstellar dev down --state-dir %s` first",
			dir, st.wecs(), st.Bare, opts.WECs, opts.Bare, opts.StateDir)
	}

	e := &Environment{
		dir: dir, state: st, pki: pki{dir: filepath.Join(dir, "pki")},
		binaries: opts.Binaries, stopWithParent: opts.StopWithParent, progress: opts.Progress,
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
	return e, nil
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
		errs = append(errs, e.stopAll(phase, 15*time.Second)...)
	}
	unlock()
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	return os.RemoveAll(e.dir)
}

// stopAll stops the processes of some components at once.
func (e *Environment) stopAll(components []Component, grace time.Duration) []error {
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for _, p := range e.processes() {
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
