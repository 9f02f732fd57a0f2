//go:build !linux

package devenv

import "os/exec"

// spawnTied starts cmd. Without Linux's Pdeathsig the process outlives this
// program if it is killed; Down and test clean-ups still stop it.
func spawnTied(cmd *exec.Cmd) error { return cmd.Start() }
