package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/printable"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// statusRepo is a Git repository whose gitstellar-status branch has a
// commit with summary.yaml holding summary (and no other branch).
func statusRepo(t *testing.T, summary string) string {
	t.Helper()
	dir := t.TempDir()
	repo, err := git.PlainInit(dir, false)
	require.NoError(t, err)
	wt, err := repo.Worktree()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, report.StatusSummaryFile), []byte(summary), 0o644))
	_, err = wt.Add(report.StatusSummaryFile)
	require.NoError(t, err)
	commit, err := wt.Commit("status", &git.CommitOptions{Author: &object.Signature{Name: "t", Email: "t@example.com", When: time.Now()}})
	require.NoError(t, err)
	require.NoError(t, repo.Storer.SetReference(plumbing.NewHashReference(plumbing.NewBranchReferenceName(report.DefaultStatusBranch), commit)))
	return dir
}

const sourceCommit = "0123456789abcdef0123456789abcdef01234567"

// readySummary has one object, ready in one WEC, for sourceCommit.
var readySummary = summaryYAML(report.Summary{SourceCommit: sourceCommit, Spaces: []report.SpaceSummary{{
	Name:     "wds1",
	Policies: []report.PolicySummary{{Name: "web", WECs: []string{"cluster1"}, Objects: []string{"/ConfigMap/web/settings"}}},
	Objects: []report.ObjectSummary{{Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "settings", Policies: []string{"web"},
		WECs: []report.WECObjectStatus{{WEC: "cluster1", Synced: true, Ready: true}}}},
}}})

// summaryYAML is s as summary.yaml (JSON is YAML; printable.JSON keeps it
// readable by a YAML parser, which refuses raw DEL and C1 controls).
func summaryYAML(s report.Summary) string {
	b, err := json.Marshal(s)
	if err != nil {
		panic(err)
	}
	return string(printable.JSON(b))
}

// TestStatusWithoutStatus: a status branch whose summary.yaml holds no
// status to judge is exit code 2, not 0.
func TestStatusWithoutStatus(t *testing.T) {
	for name, c := range map[string]struct{ summary, want string }{
		"empty":             {"", "summary.yaml is empty: no status to judge"},
		"spaces: []":        {"spaces: []\n", "summary.yaml is empty: no status to judge"},
		"no WDS for commit": {"sourceCommit: " + sourceCommit + "\nspaces: []\n", "summary.yaml lists no WDS for source commit " + sourceCommit},
		"not YAML":          {"spaces: [\n", "summary.yaml"},
	} {
		t.Run(name, func(t *testing.T) {
			out, _, err := execute(t, nil, "status", "--repo", statusRepo(t, c.summary))
			require.Error(t, err)
			assert.Equal(t, 2, exitCode(err), "%v", err)
			assert.ErrorContains(t, err, c.want)
			assert.Empty(t, out)
		})
	}
}

// TestStatusExpectCommit: --expect-commit gates on the status being of
// that commit; a status of another commit is exit code 1 (not yet).
func TestStatusExpectCommit(t *testing.T) {
	dir := statusRepo(t, readySummary)
	for _, c := range []struct {
		expect string
		code   int
		want   string
	}{
		{"", 0, ""},
		{sourceCommit, 0, ""},
		{strings.ToUpper(sourceCommit[:7]), 0, ""},
		{"fedcba9876543210fedcba9876543210fedcba98", 1, "the status is of source commit " + sourceCommit + ", not fedcba9876543210fedcba9876543210fedcba98: not synced yet"},
		{"0123457", 1, "not 0123457"},
		{"HEAD", 2, "--expect-commit \"HEAD\": want a commit SHA"},
		{"012", 2, "want a commit SHA"},
	} {
		t.Run(c.expect, func(t *testing.T) {
			args := []string{"status", "--repo", dir}
			if c.expect != "" {
				args = append(args, "--expect-commit", c.expect)
			}
			out, _, err := execute(t, nil, args...)
			if c.code == 0 {
				require.NoError(t, err)
				assert.Contains(t, out, "WDS wds1: 1/1 ready")
				return
			}
			require.Error(t, err)
			assert.Equal(t, c.code, exitCode(err), "%v", err)
			assert.ErrorContains(t, err, c.want)
		})
	}
	t.Run("errors and no WDS yet", func(t *testing.T) {
		dir := statusRepo(t, summaryYAML(report.Summary{Errors: []string{"wds1/web/a.yaml:3: did not parse"}}))
		out, _, err := execute(t, nil, "status", "--repo", dir)
		require.Error(t, err)
		assert.Equal(t, 1, exitCode(err), "a status: the revision has errors")
		assert.Contains(t, out, "wds1/web/a.yaml:3: did not parse")
		_, _, err = execute(t, nil, "status", "--repo", dir, "--expect-commit", sourceCommit)
		assert.Equal(t, 1, exitCode(err))
		assert.ErrorContains(t, err, "the status is of source commit (none), not "+sourceCommit)
	})
}

// hostileSummary has, in every string a WEC or a repository fills, a
// terminal escape sequence, a bidi override, a C1 control or a workflow
// command.
var hostileSummary = report.Summary{
	SourceCommit: sourceCommit,
	Errors:       []string{"evil\x1b[31m.yaml:1: bad\n::warning file=x::pwned"},
	Spaces: []report.SpaceSummary{{
		Name:     "wds1\u202e",
		Policies: []report.PolicySummary{{Name: "web", Errors: []string{"\x1b]52;c;QQ==\x07copied"}}},
		Objects: []report.ObjectSummary{{
			Version: "v1", Kind: "Widget", Group: "evil.example\x1b[2J", Namespace: "::warning file=x::ns", Name: "x\x7f",
			WECs: []report.WECObjectStatus{{WEC: "cluster1\u2066", Synced: true, Message: "line1\n::error::pwned \u009b31m\ttab",
				Status: map[string]any{"::key\u202e": "##vso[task.setvariable variable=x]y\n::warning::z"}}},
		}},
	}},
}

var commandLine = regexp.MustCompile(`(?m)^\s*(::|##[A-Za-z]*\[)`)

func assertNoRawHidden(t *testing.T, out string) {
	t.Helper()
	for _, raw := range []string{"\x1b", "\x07", "\x7f", "\u009b", "\u202e", "\u2066"} {
		assert.NotContains(t, out, raw)
	}
	assert.NotRegexp(t, commandLine, out, "a line is a CI command")
}

// TestStatusEscapesTheBranch: whatever the status branch holds, status
// prints it visible and inert, in every output.
func TestStatusEscapesTheBranch(t *testing.T) {
	dir := statusRepo(t, summaryYAML(hostileSummary))

	table, _, err := execute(t, nil, "status", "--repo", dir)
	assert.Equal(t, 1, exitCode(err), "%v", err)
	assertNoRawHidden(t, table)
	for _, escaped := range []string{
		`  evil\x1b[31m.yaml:1: bad ::warning file=x::pwned`,
		`WDS wds1\u202e: 0/1 ready`,
		`  BindingPolicy web: \x1b]52;c;QQ==\x07copied`,
		`\x3a:warning file=x::ns  Widget.evil.example\x1b[2J/x\x7f  cluster1\u2066  yes     no     line1 ::error::pwned \u009b31m tab`,
	} {
		assert.Contains(t, table, escaped)
	}

	for _, output := range []string{"yaml", "json"} {
		t.Run(output, func(t *testing.T) {
			out, _, err := execute(t, nil, "status", "--repo", dir, "-o", output)
			assert.Equal(t, 1, exitCode(err), "%v", err)
			assertNoRawHidden(t, out)
			back, err := report.DecodeStatusSummary([]byte(out))
			require.NoError(t, err, out)
			assert.Equal(t, hostileSummary, back, "the same summary:\n%s", out)
		})
	}
}

// TestStatusYAMLUnchanged: ordinary summaries print as YAML as they did.
func TestStatusYAMLUnchanged(t *testing.T) {
	out, _, err := execute(t, nil, "status", "--repo", statusRepo(t, readySummary), "-o", "yaml")
	require.NoError(t, err)
	assert.Equal(t, `sourceCommit: `+sourceCommit+`
spaces:
- name: wds1
  objects:
  - group: ""
    kind: ConfigMap
    name: settings
    namespace: web
    policies:
    - web
    version: v1
    wecs:
    - ready: true
      synced: true
      wec: cluster1
  policies:
  - name: web
    objects:
    - /ConfigMap/web/settings
    wecs:
    - cluster1
`, out)
}
