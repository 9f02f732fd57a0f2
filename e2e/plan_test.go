package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"
)

// exampleClone commits examples/repo-layout into a new git repository and
// returns its directory.
func exampleClone(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("../examples/repo-layout")))
	git := func(args ...string) {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com"}, args...)...)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
	}
	git("init", "-q", "-b", "main")
	git("add", "-A")
	git("commit", "-qm", "the example")
	return dir
}

func relabel(t *testing.T, dir string) {
	t.Helper()
	path := filepath.Join(dir, "clusters/cluster2.yaml")
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(b), "location-group: edge", "location-group: core", 1)), 0o644))
}

// TestPlan: in a clone of the example, cluster2 moves to the core; `plan`
// lists what leaves cluster2, from both WDSes, and nothing else, in each format; --fail-on
// gates; a bad flag or repository is exit 2.
func TestPlan(t *testing.T) {
	bin := gitstellar(t)
	dir := exampleClone(t)
	unchanged := run(t, bin, "plan", "--repo", dir)
	assert.Equal(t, 0, unchanged.code)
	assert.Contains(t, unchanged.stdout, "No change to any WEC or BindingPolicy.")

	relabel(t, dir)
	md := run(t, bin, "plan", "--repo", dir, "--format", "markdown")
	require.Equal(t, 0, md.code, md.stderr)
	assert.Contains(t, md.stdout, "| cluster2 | 0 | 0 | 5 |")
	deleted := regexp.MustCompile(`(?m)^- ➖ delete (.*)$`).FindAllStringSubmatch(md.stdout, -1)
	var lines []string
	for _, d := range deleted {
		lines = append(lines, d[1])
	}
	assert.ElementsMatch(t, []string{
		"wds1 Namespace nginx (nginx-bpolicy)",
		"wds1 Deployment.apps nginx/nginx-deployment (nginx-bpolicy)",
		"wds1 ConfigMap nginx/hello-config (nginx-bpolicy)", // wds1/hello binds to nginx-bpolicy too
		"wds2 Namespace redis (redis-bpolicy)",
		"wds2 Deployment.apps redis/redis (redis-bpolicy)",
	}, lines, "what leaves cluster2, from both WDSes")
	assert.NotContains(t, md.stdout, "➕", "nothing is created")
	assert.NotContains(t, md.stdout, "✏️", "nothing is updated")
	assert.NotContains(t, md.stdout, "| cluster1 |", "nothing changes in cluster1")

	js := run(t, bin, "plan", "--repo", dir, "--format", "json")
	require.Equal(t, 0, js.code)
	var p struct {
		WECs []struct {
			WEC                       string
			Created, Updated, Deleted []map[string]any
		}
		Policies []struct {
			Policy   string
			WECsLost []string
		}
	}
	require.NoError(t, json.Unmarshal([]byte(js.stdout), &p))
	require.Len(t, p.WECs, 1)
	assert.Equal(t, "cluster2", p.WECs[0].WEC)
	assert.Len(t, p.WECs[0].Deleted, 5)
	require.Len(t, p.Policies, 2, "wds1's nginx-bpolicy and wds2's redis-bpolicy")
	for _, policy := range p.Policies {
		assert.Equal(t, []string{"cluster2"}, policy.WECsLost, policy.Policy)
	}

	gated := run(t, bin, "plan", "--repo", dir, "--fail-on", "deletions")
	assert.Equal(t, 1, gated.code, "--fail-on deletions")
	warned := run(t, bin, "plan", "--repo", dir, "--fail-on", "warnings")
	assert.Equal(t, 1, warned.code, "cluster2 is selected by nothing now: a warning")
	assert.Contains(t, warned.stdout, "WEC cluster2 (ITS its1) is selected by no BindingPolicy")

	assert.Equal(t, 2, run(t, bin, "plan", "--repo", dir, "--format", "html").code)
	assert.Equal(t, 2, run(t, bin, "plan", "--repo", dir, "--base", "no-such-branch").code)
	assert.Equal(t, 2, run(t, bin, "plan", "--repo", t.TempDir()).code, "not a git repository")
}

// TestCIExample runs the plan and comment steps of
// examples/ci/github-actions.yaml as written, on a pull request that
// relabels cluster2, with a recorder standing in for gh.
func TestCIExample(t *testing.T) {
	bin := gitstellar(t)
	dir := exampleClone(t)
	require.NoError(t, os.CopyFS(filepath.Join(dir, "examples/ci"), os.DirFS("../examples/ci")))
	// As actions/checkout with fetch-depth 0 leaves it: the base branch as
	// origin/base, the pull request's head checked out.
	for _, args := range [][]string{{"update-ref", "refs/remotes/origin/base", "HEAD"}, {"checkout", "-q", "-b", "change"}} {
		out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput()
		require.NoError(t, err, "%s", out)
	}
	relabel(t, dir)
	out, err := exec.Command("git", "-C", dir, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "cluster2 to the core").CombinedOutput()
	require.NoError(t, err, "%s", out)

	raw, err := os.ReadFile("../examples/ci/github-actions.yaml")
	require.NoError(t, err)
	var workflow struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string `json:"name"`
				Run  string `json:"run"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &workflow))
	steps := map[string]string{}
	for _, s := range workflow.Jobs["plan"].Steps {
		steps[s.Name] = s.Run
	}
	require.Contains(t, steps, "plan")
	require.Contains(t, steps, "comment")
	expressions := strings.NewReplacer("${{ github.base_ref }}", "base", "${{ github.event.pull_request.number }}", "42",
		"${{ github.token }}", "token", "${{ steps.plan.outputs.status }}", "1")

	// gh records what it is asked; gitstellar is the binary under test.
	tools := t.TempDir()
	record := filepath.Join(tools, "gh.log")
	require.NoError(t, os.WriteFile(filepath.Join(tools, "gh"), []byte("#!/bin/sh\necho \"$@\" >> "+record+"\n"), 0o755))
	require.NoError(t, os.Symlink(bin, filepath.Join(tools, "gitstellar")))
	outputs := filepath.Join(t.TempDir(), "outputs")
	step := func(name string) result {
		t.Helper()
		cmd := exec.Command("bash", "-e", "-c", expressions.Replace(steps[name]))
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "PATH="+tools+":"+os.Getenv("PATH"), "GITHUB_OUTPUT="+outputs)
		o, err := cmd.CombinedOutput()
		r := result{stdout: string(o)}
		if ee, ok := err.(*exec.ExitError); ok {
			r.code = ee.ExitCode()
		}
		t.Logf("step %s (exit %d):\n%s", name, r.code, o)
		return r
	}
	planned := step("plan")
	assert.Equal(t, 0, planned.code, "the plan step succeeds; the gate step fails later")
	assert.Contains(t, planned.stdout, "plan of origin/base..HEAD written to plan.md (exit 1)")
	status, err := os.ReadFile(outputs)
	require.NoError(t, err)
	assert.Equal(t, "status=1\n", string(status), "deletions: the gate will fail")
	comment, err := os.ReadFile(filepath.Join(dir, "plan.md"))
	require.NoError(t, err)
	assert.Contains(t, string(comment), "| cluster2 | 0 | 0 | 5 |")

	assert.Equal(t, 0, step("comment").code)
	calls, err := os.ReadFile(record)
	require.NoError(t, err)
	assert.Equal(t, "pr comment 42 --edit-last --body-file plan.md\n", string(calls))
	assert.Equal(t, 1, step("gate").code, "the gate fails on deletions")
}
