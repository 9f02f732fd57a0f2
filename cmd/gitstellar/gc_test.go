package main

import (
	"runtime/debug"
	"testing"

	"github.com/spf13/pflag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gcPercentNow reads the collector's target without changing it.
func gcPercentNow() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}

func TestGCPercent(t *testing.T) {
	defer debug.SetGCPercent(gcPercentNow())
	parse := func(args ...string) (*pflag.FlagSet, int) {
		f := pflag.NewFlagSet("run", pflag.ContinueOnError)
		var v int
		addGCFlag(f, &v)
		require.NoError(t, f.Parse(args))
		return f, v
	}

	debug.SetGCPercent(100)
	t.Setenv("GOGC", "")
	f, v := parse()
	require.NoError(t, setGCPercent(f, v))
	assert.Equal(t, defaultGCPercent, gcPercentNow(), "the default")

	debug.SetGCPercent(80)
	t.Setenv("GOGC", "80")
	f, v = parse()
	require.NoError(t, setGCPercent(f, v))
	assert.Equal(t, 80, gcPercentNow(), "$GOGC stands when the flag is not given")

	f, v = parse("--gc-percent=30")
	require.NoError(t, setGCPercent(f, v))
	assert.Equal(t, 30, gcPercentNow(), "the flag wins over $GOGC")

	f, v = parse("--gc-percent=0")
	assert.EqualError(t, setGCPercent(f, v), "--gc-percent: must be positive")
}
