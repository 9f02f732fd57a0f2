package helmchart

import (
	"bytes"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// limitSelf bounds the renderer's CPU time, and its address space to what
// it has mapped now (the Go runtime reserves much of it at start) plus
// memory.
func limitSelf(memory, cpuSeconds int64) error {
	if memory > 0 {
		limit := uint64(memory) + mappedNow()
		if err := syscall.Setrlimit(syscall.RLIMIT_AS, &syscall.Rlimit{Cur: limit, Max: limit}); err != nil {
			return err
		}
	}
	if cpuSeconds > 0 {
		if err := syscall.Setrlimit(syscall.RLIMIT_CPU, &syscall.Rlimit{Cur: uint64(cpuSeconds), Max: uint64(cpuSeconds)}); err != nil {
			return err
		}
	}
	return nil
}

// mappedNow is the process's address space in bytes (VmSize), 0 when
// unknown.
func mappedNow() uint64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmSize:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err == nil {
				return kb << 10
			}
		}
	}
	return 0
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
