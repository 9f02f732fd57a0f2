package devenv

import (
	"os/exec"
	"runtime"
	"syscall"
)

// spawner starts processes from one goroutine locked to its OS thread for
// the life of this program. A child started with Pdeathsig gets the signal
// when the thread that started it ends; a thread that never ends makes that
// "when this program ends".
var spawner = make(chan spawnRequest)

type spawnRequest struct {
	cmd  *exec.Cmd
	done chan error
}

func init() {
	go func() {
		runtime.LockOSThread()
		for req := range spawner {
			req.done <- req.cmd.Start()
		}
	}()
}

func spawnTied(cmd *exec.Cmd) error {
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	req := spawnRequest{cmd: cmd, done: make(chan error, 1)}
	spawner <- req
	return <-req.done
}
