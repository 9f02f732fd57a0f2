package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// execute runs the command line args with stdout to out (a buffer when
// nil) and returns stdout (when a buffer), stderr and the error.
func execute(t *testing.T, out *os.File, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	root := newRootCommand()
	var o, e bytes.Buffer
	root.SetOut(&o)
	if out != nil {
		root.SetOut(out)
	}
	root.SetErr(&e)
	root.SetArgs(args)
	err = root.ExecuteContext(context.Background())
	return o.String(), e.String(), err
}

// commandPaths are the command lines of every command, the root's ("")
// included, but help's.
func commandPaths() []string {
	var paths []string
	walk(newRootCommand(), func(cmd *cobra.Command) {
		if cmd.Name() != "help" {
			paths = append(paths, strings.TrimPrefix(strings.TrimPrefix(cmd.CommandPath(), "gitstellar"), " "))
		}
	})
	return paths
}

// TestUsageErrorsExit2: an unknown flag, a bad flag value, an unknown
// subcommand or an extra argument is exit code 2 in every command, never 1
// (problems found) nor 0.
func TestUsageErrorsExit2(t *testing.T) {
	paths := commandPaths()
	require.Contains(t, paths, "status")
	require.Contains(t, paths, "crds print")
	require.Contains(t, paths, "completion bash")
	for _, path := range paths {
		args := strings.Fields(path)
		t.Run(path+" --no-such-flag", func(t *testing.T) {
			_, _, err := execute(t, nil, append(args, "--no-such-flag")...)
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "%v", err)
			assert.Contains(t, err.Error(), "unknown flag: --no-such-flag")
		})
		cmd, _, err := newRootCommand().Find(args)
		require.NoError(t, err)
		if cmd.Args == nil { // takes any arguments (dev binaries NAME...)
			continue
		}
		t.Run(path+" extra arguments", func(t *testing.T) {
			_, _, err := execute(t, nil, append(args, "extra-1", "extra-2")...)
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "%v", err)
		})
	}
	for _, args := range [][]string{
		{"no-such-command"},
		{"dev", "no-such-command"},
		{"crds", "pritn"},
		{"dev", "up", "--wecs", "two"},
		{"status", "--insecure-ignore-host-key=maybe"},
		{"status", "-o", "xml"},
		{"status", "--expect-commit", "not-a-sha"},
		{"plan", "--format", "html"},
		{"plan", "--fail-on", "everything"},
		{"validate", "dir-1", "dir-2"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			_, _, err := execute(t, nil, args...)
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "%v", err)
		})
	}
	_, _, err := execute(t, nil, "crds", "pritn")
	assert.ErrorContains(t, err, `unknown command "pritn" for "gitstellar crds"; did you mean print?`)
}

// TestGroupAloneIsHelp: a command that groups others prints its help.
func TestGroupAloneIsHelp(t *testing.T) {
	for _, args := range [][]string{nil, {"dev"}, {"crds"}} {
		out, _, err := execute(t, nil, args...)
		require.NoError(t, err)
		assert.Contains(t, out, "Available Commands:")
	}
}

// failingWriter fails every write.
type failingWriter struct{ n int }

var errFailingWrite = errors.New("disk on fire")

func (f *failingWriter) Write([]byte) (int, error) {
	f.n++
	return 0, errFailingWrite
}

// TestLostOutputFails: a command whose output cannot be written fails with
// exit code 2, after its first failed write.
func TestLostOutputFails(t *testing.T) {
	layout := filepath.Join("..", "..", "pkg", "plan", "testdata", "base")
	repo := planRepo(t, layout)
	statusDir := statusRepo(t, readySummary)
	for name, args := range map[string][]string{
		"version":                {"version"},
		"validate":               {"validate", layout},
		"validate, problems":     {"validate", filepath.Join("..", "..", "pkg", "plan", "testdata", "cases", "broken", "overlay")}, // found, and lost
		"status":                 {"status", "--repo", statusDir},
		"status -o yaml":         {"status", "--repo", statusDir, "-o", "yaml"},
		"status -o json":         {"status", "--repo", statusDir, "-o", "json"},
		"plan":                   {"plan", "--repo", repo},
		"plan --format markdown": {"plan", "--repo", repo, "--format", "markdown"},
		"plan --format json":     {"plan", "--repo", repo, "--format", "json"},
	} {
		t.Run(name, func(t *testing.T) {
			root := newRootCommand()
			w := &failingWriter{}
			root.SetOut(w)
			root.SetErr(&bytes.Buffer{})
			root.SetArgs(args)
			err := root.ExecuteContext(context.Background())
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "%v", err)
			assert.ErrorIs(t, err, errFailingWrite)
			assert.Contains(t, err.Error(), "write the output")
			assert.Equal(t, 1, w.n, "no write after the first failure")
		})
	}
	t.Run("/dev/full", func(t *testing.T) {
		full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
		if err != nil {
			t.Skipf("no /dev/full: %v", err)
		}
		defer full.Close()
		for _, args := range [][]string{{"version"}, {"validate", layout}, {"status", "--repo", statusDir}, {"plan", "--repo", repo}} {
			_, _, err := execute(t, full, args...)
			require.Error(t, err, "%v", args)
			assert.Equal(t, 2, exitCode(err), "%v: %v", args, err)
			assert.ErrorContains(t, err, "no space left on device")
		}
	})
	t.Run("the output written is a success", func(t *testing.T) {
		out, _, err := execute(t, nil, "validate", layout)
		require.NoError(t, err)
		assert.Contains(t, out, "valid")
	})
}

// planRepo is a Git repository with the files of dir, committed.
func planRepo(t *testing.T, dir string) string {
	t.Helper()
	repo := t.TempDir()
	require.NoError(t, os.CopyFS(repo, os.DirFS(dir)))
	r, err := git.PlainInit(repo, false)
	require.NoError(t, err)
	wt, err := r.Worktree()
	require.NoError(t, err)
	require.NoError(t, wt.AddGlob("."))
	_, err = wt.Commit("the layout", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	require.NoError(t, err)
	return repo
}

// TestPlanMaxOutput: a plan longer than --max-output is cut there and
// exits 2.
func TestPlanMaxOutput(t *testing.T) {
	repo := planRepo(t, "../../examples/repo-layout")
	out, _, err := execute(t, nil, "plan", "--repo", repo, "--base", "HEAD", "--head", "HEAD", "--format", "json", "--max-output", "100")
	require.Error(t, err)
	assert.Equal(t, 2, exitCode(err))
	assert.ErrorContains(t, err, "the plan is over --max-output 100 and was cut")
	assert.Len(t, out, 100)
	full, _, err := execute(t, nil, "plan", "--repo", repo, "--base", "HEAD", "--head", "HEAD", "--format", "json")
	require.NoError(t, err)
	assert.Equal(t, full[:100], out)
}
