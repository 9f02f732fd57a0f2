package main

import (
	"errors"
	"os"
	"runtime/debug"

	"github.com/spf13/pflag"
)

// defaultGCPercent is the collector's target of the long-running commands
// (run, agent): the heap may grow half again past what is live before Go
// collects, instead of Go's doubling. Their live heap is mostly caches
// that stay, so a collection frees little and the headroom is what peak
// memory is made of: at 50, gitstellar run's peak resident memory is about
// a quarter lower, for about a tenth more of its CPU (docs/performance.md).
const defaultGCPercent = 50

// addGCFlag adds --gc-percent.
func addGCFlag(f *pflag.FlagSet, v *int) {
	f.IntVar(v, "gc-percent", defaultGCPercent, "how far the heap may grow past the live heap before Go collects, in percent (GOGC): lower takes less memory for more CPU; when the flag is not given, $GOGC wins")
}

// setGCPercent applies --gc-percent; $GOGC stands when the flag was not
// given.
func setGCPercent(f *pflag.FlagSet, v int) error {
	if v <= 0 {
		return errors.New("--gc-percent: must be positive")
	}
	if !f.Changed("gc-percent") && os.Getenv("GOGC") != "" {
		return nil
	}
	debug.SetGCPercent(v)
	return nil
}
