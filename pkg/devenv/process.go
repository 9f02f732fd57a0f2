package devenv

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

// Component is the kind of program a process runs.
type Component string

// The components.
const (
	ComponentEtcd              Component = "etcd"
	ComponentAPIServer         Component = "apiserver"
	ComponentControllerManager Component = "controller-manager"
	ComponentScheduler         Component = "scheduler"
	ComponentKwok              Component = "kwok"
)

// process is one program of the environment and how to start it.
type process struct {
	Name      string // unique: "etcd", "<space>-<component>"
	Space     string // "" for etcd
	Component Component
	Binary    k8sbinaries.Name
	Args      []string
}

// processes lists every process of the environment, in start order.
func (e *Environment) processes() []process {
	st, dir := e.state, e.dir
	p := e.pki
	procs := []process{{
		Name: "etcd", Component: ComponentEtcd, Binary: k8sbinaries.Etcd,
		Args: []string{
			"--name=gitstellar-dev",
			"--data-dir=" + filepath.Join(dir, "etcd"),
			fmt.Sprintf("--listen-client-urls=http://127.0.0.1:%d", st.EtcdClientPort),
			fmt.Sprintf("--advertise-client-urls=http://127.0.0.1:%d", st.EtcdClientPort),
			fmt.Sprintf("--listen-peer-urls=http://127.0.0.1:%d", st.EtcdPeerPort),
			fmt.Sprintf("--initial-advertise-peer-urls=http://127.0.0.1:%d", st.EtcdPeerPort),
			fmt.Sprintf("--initial-cluster=gitstellar-dev=http://127.0.0.1:%d", st.EtcdPeerPort),
			"--unsafe-no-fsync",
			"--quota-backend-bytes=8589934592",
			"--log-level=warn",
		},
	}}
	for _, sp := range st.Spaces {
		procs = append(procs, process{
			Name: sp.Name + "-apiserver", Space: sp.Name, Component: ComponentAPIServer, Binary: k8sbinaries.KubeAPIServer,
			Args: []string{
				"--advertise-address=127.0.0.1",
				"--bind-address=127.0.0.1",
				fmt.Sprintf("--secure-port=%d", sp.Port),
				fmt.Sprintf("--etcd-servers=http://127.0.0.1:%d", st.EtcdClientPort),
				"--etcd-prefix=" + sp.etcdPrefix(),
				"--cert-dir=" + p.spaceDir(sp.Name),
				"--tls-cert-file=" + p.servingCert(),
				"--tls-private-key-file=" + p.servingKey(),
				"--client-ca-file=" + p.caCert(),
				"--service-account-issuer=" + sp.Server(),
				"--service-account-key-file=" + p.saPub(),
				"--service-account-signing-key-file=" + p.saKey(),
				"--service-cluster-ip-range=10.96.0.0/16",
				"--authorization-mode=RBAC",
				"--allow-privileged=true",
				"--profiling=false",
				"--endpoint-reconciler-type=none",
			},
		})
	}
	if st.Bare {
		return procs
	}
	for _, sp := range st.Spaces {
		kc := e.spaceKubeconfig(sp.Name)
		common := []string{
			"--kubeconfig=" + kc,
			"--authentication-kubeconfig=" + kc,
			"--authorization-kubeconfig=" + kc,
			"--leader-elect=false",
			"--secure-port=0",
		}
		controllers := "*,-nodeipam,-serviceaccount-token"
		if sp.Role != RoleWEC {
			controllers = "garbagecollector,namespace"
		}
		procs = append(procs, process{
			Name: sp.Name + "-controller-manager", Space: sp.Name, Component: ComponentControllerManager, Binary: k8sbinaries.KubeControllerManager,
			Args: append(append([]string{}, common...),
				"--controllers="+controllers,
				"--use-service-account-credentials=false",
			),
		})
		if sp.Role != RoleWEC {
			continue
		}
		procs = append(procs,
			process{
				Name: sp.Name + "-scheduler", Space: sp.Name, Component: ComponentScheduler, Binary: k8sbinaries.KubeScheduler,
				Args: append([]string{}, common...),
			},
			process{
				Name: sp.Name + "-kwok", Space: sp.Name, Component: ComponentKwok, Binary: k8sbinaries.Kwok,
				Args: []string{
					"--kubeconfig=" + kc,
					"--config=" + e.kwokStages(),
					"--manage-all-nodes=false",
					"--manage-nodes-with-annotation-selector=" + kwokNodeAnnotation + "=fake",
					"--cidr=10.0.0.1/24",
					"--node-ip=10.0.0.1",
					"--server-address=127.0.0.1:0",
					"--node-lease-duration-seconds=40",
				},
			})
	}
	return procs
}

func (e *Environment) pidFile(name string) string { return filepath.Join(e.dir, "run", name+".pid") }
func (e *Environment) logFile(name string) string { return filepath.Join(e.dir, "logs", name+".log") }

// pid returns the pid of a running process of this environment, or 0.
func (e *Environment) pid(name string) int {
	if v, ok := e.spawned.Load(name); ok { // started by this program: it is ours
		pid := v.(int)
		// A process being killed can be neither running nor a zombie for a
		// moment (its memory, command line included, already released):
		// isOurs, which stop waits on, says it is gone, and so must this.
		if _, exited := e.exits.Load(name); !exited && running(pid) && e.isOurs(pid) {
			return pid
		}
		// It ended; another program may have started it again since.
	}
	b, err := os.ReadFile(e.pidFile(name))
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0
	}
	if !e.isOurs(pid) {
		return 0
	}
	return pid
}

// isOurs tells whether pid is alive and is a process of this environment:
// every process has the state directory on its command line, which guards
// against a pid reused by an unrelated program.
func (e *Environment) isOurs(pid int) bool {
	for attempt := 0; ; attempt++ {
		if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
			return false
		}
		cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		if err != nil {
			// No /proc (macOS): the liveness check is all we have.
			return runtime.GOOS != "linux"
		}
		if len(cmdline) > 0 || attempt == 20 {
			return bytes.Contains(cmdline, []byte(e.dir))
		}
		// An empty command line: a zombie, or a program in the middle of
		// exec whose arguments are not set up yet. Look again shortly.
		if zombie(pid) {
			return false
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// running tells whether pid is alive and not a zombie waiting to be reaped.
func running(pid int) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	return !zombie(pid)
}

func zombie(pid int) bool {
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS == "linux" // gone; elsewhere there is no /proc to ask
	}
	// The state follows the command name, which is in parentheses.
	i := bytes.LastIndexByte(stat, ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] == 'Z' || stat[i+2] == 'X'
}

// start starts a process in the background, its output going to its log.
func (e *Environment) start(p process) error {
	bin := e.binaries.Path(p.Binary)
	if bin == "" {
		return fmt.Errorf("%s: no %s binary", p.Name, p.Binary)
	}
	for _, d := range []string{"run", "logs"} {
		if err := os.MkdirAll(filepath.Join(e.dir, d), 0o755); err != nil {
			return err
		}
	}
	logf, err := os.OpenFile(e.logFile(p.Name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	fmt.Fprintf(logf, "---- %s starting %s\n", time.Now().Format(time.RFC3339), p.Name)
	cmd := exec.Command(bin, p.Args...)
	cmd.Dir = e.dir
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if e.stopWithParent {
		err = spawnTied(cmd)
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return fmt.Errorf("start %s (%s): %w", p.Name, bin, err)
	}
	e.exits.Delete(p.Name)
	e.spawned.Store(p.Name, cmd.Process.Pid)
	go func() { // reap it if it dies while we run, and remember how
		_ = cmd.Wait()
		e.exits.Store(p.Name, cmd.ProcessState.String())
	}()
	return os.WriteFile(e.pidFile(p.Name), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644)
}

// stop ends a process of this environment: SIGTERM, then SIGKILL after a
// grace period. It only signals a pid that isOurs.
func (e *Environment) stop(name string, grace time.Duration) error {
	pid := e.pid(name)
	if pid == 0 {
		_ = os.Remove(e.pidFile(name))
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	deadline := time.Now().Add(grace)
	for time.Now().Before(deadline) {
		if !e.isOurs(pid) {
			return os.Remove(e.pidFile(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	for range 100 {
		if !e.isOurs(pid) {
			return os.Remove(e.pidFile(name))
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) did not stop", name, pid)
}
