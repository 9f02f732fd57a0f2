package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// statusCLISummary has two WDSes; wds1's nginx is ready in cluster1 and,
// unless ready is false, in cluster2; wds2's ConfigMap is ready in both.
func statusCLISummary(commit string, ready bool) report.Summary {
	wecs := func(secondReady bool) []report.WECObjectStatus {
		second := report.WECObjectStatus{WEC: "cluster2", Synced: true, Ready: secondReady}
		if !secondReady {
			second.Message = "0/2 replicas available"
		}
		return []report.WECObjectStatus{{WEC: "cluster1", Synced: true, Ready: true}, second}
	}
	return report.Summary{SourceCommit: commit, Spaces: []report.SpaceSummary{{
		Name:     "wds1",
		Policies: []report.PolicySummary{{Name: "nginx", WECs: []string{"cluster1", "cluster2"}, Objects: []string{"apps/Deployment/nginx/nginx"}}},
		Objects: []report.ObjectSummary{{Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "nginx", Name: "nginx",
			Policies: []string{"nginx"}, WECs: wecs(ready)}},
	}, {
		Name:     "wds2",
		Policies: []report.PolicySummary{{Name: "db", WECs: []string{"cluster1", "cluster2"}, Objects: []string{"/ConfigMap/db/settings"}}},
		Objects: []report.ObjectSummary{{Version: "v1", Kind: "ConfigMap", Namespace: "db", Name: "settings",
			Policies: []string{"db"}, WECs: wecs(true)}},
	}}}
}

// statusCLIGit runs git in dir with a fixed identity.
func statusCLIGit(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
		"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+t.TempDir())
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "git %s: %s", strings.Join(args, " "), out)
	return strings.TrimSpace(string(out))
}

func writeStatusBranch(t *testing.T, url string, s report.Summary) {
	t.Helper()
	w, err := report.NewStatusBranchWriter(report.StatusBranchOptions{
		URL: url, Writer: "e2e status test", Log: testr.New(t),
		Credentials: source.Credentials{Username: "reader", Password: []byte("status-pass")},
	})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pushed, err := w.Write(ctx, s)
	require.NoError(t, err)
	require.True(t, pushed)
}

// TestStatusCommand writes status branches with the StatusBranchWriter and
// reads them with `gitstellar status`: from a local repository, a clone
// (origin/gitstellar-status), and over HTTP; exit 0 when all is ready, 1
// when not, 2 when the branch cannot be read or the command is misused.
func TestStatusCommand(t *testing.T) {
	bin := gitstellar(t)
	dir := filepath.Join(t.TempDir(), "repo")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	statusCLIGit(t, dir, "init", "--quiet", "--initial-branch=main")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "README.md"), []byte("fleet\n"), 0o644))
	statusCLIGit(t, dir, "add", "README.md")
	statusCLIGit(t, dir, "commit", "--quiet", "-m", "the source")
	commit := statusCLIGit(t, dir, "rev-parse", "HEAD")

	missing := run(t, bin, "status", "--repo", dir)
	assert.Equal(t, 2, missing.code, "no status branch yet")
	assert.Contains(t, missing.stderr, "no branch gitstellar-status")

	writeStatusBranch(t, dir, statusCLISummary(commit, true))
	ok := run(t, bin, "status", "--repo", dir)
	assert.Equal(t, 0, ok.code, ok.stderr)
	assert.Contains(t, ok.stdout, "Source commit: "+commit)
	assert.Contains(t, ok.stdout, "WDS wds1: 2/2 ready")
	assert.Regexp(t, `NAMESPACE +OBJECT +WEC +SYNCED +READY +MESSAGE\nnginx +Deployment\.apps/nginx +cluster1 +yes +yes`, ok.stdout)
	assert.Equal(t, "main", statusCLIGit(t, dir, "rev-parse", "--abbrev-ref", "HEAD"), "the checkout is untouched")

	writeStatusBranch(t, dir, statusCLISummary(commit, false))
	notReady := run(t, bin, "status", "--repo", dir)
	assert.Equal(t, 1, notReady.code)
	assert.Contains(t, notReady.stdout, "WDS wds1: 1/2 ready")
	assert.Regexp(t, `nginx +Deployment\.apps/nginx +cluster2 +yes +no +0/2 replicas available`, notReady.stdout)
	assert.Contains(t, notReady.stderr, "3/4 ready, 0 error(s)")

	t.Run("--wds filters, and gates on that WDS only", func(t *testing.T) {
		r := run(t, bin, "status", "--repo", dir, "--wds", "wds2")
		assert.Equal(t, 0, r.code)
		assert.NotContains(t, r.stdout, "wds1")
		assert.Contains(t, r.stdout, "WDS wds2: 2/2 ready")
		assert.Equal(t, 2, run(t, bin, "status", "--repo", dir, "--wds", "wds9").code)
	})

	t.Run("-o json is the summary", func(t *testing.T) {
		r := run(t, bin, "status", "--repo", dir, "-o", "json")
		assert.Equal(t, 1, r.code)
		var s report.Summary
		require.NoError(t, json.Unmarshal([]byte(r.stdout), &s))
		assert.Equal(t, statusCLISummary(commit, false), s)
		assert.Contains(t, run(t, bin, "status", "--repo", dir, "-o", "yaml").stdout, "sourceCommit: "+commit)
	})

	t.Run("a clone has origin/gitstellar-status", func(t *testing.T) {
		clone := filepath.Join(t.TempDir(), "clone")
		statusCLIGit(t, "", "clone", "--quiet", dir, clone)
		r := run(t, bin, "status", "--repo", filepath.Join(clone, "README.md")+"/..")
		assert.Equal(t, 1, r.code, r.stderr)
		assert.Contains(t, r.stdout, "WDS wds1: 1/2 ready")
	})

	t.Run("over HTTP, with credentials", func(t *testing.T) {
		srv := gittest.NewHTTPServer(t, &gittest.BasicAuth{Username: "reader", Password: "status-pass"})
		repo := srv.NewRepo(t, "fleet")
		head := repo.Commit(t, "the source")
		repo.Push(t, "main")
		writeStatusBranch(t, repo.URL, statusCLISummary(head, true))
		password := filepath.Join(t.TempDir(), "password")
		require.NoError(t, os.WriteFile(password, []byte("status-pass\n"), 0o600))
		r := run(t, bin, "status", "--repo", repo.URL, "--username", "reader", "--password-file", password)
		assert.Equal(t, 0, r.code, r.stderr)
		assert.Contains(t, r.stdout, "Source commit: "+head)
		denied := run(t, bin, "status", "--repo", repo.URL)
		assert.Equal(t, 2, denied.code, "unreadable without credentials")
		assert.NotContains(t, denied.stderr, "status-pass")
	})

	t.Run("usage errors", func(t *testing.T) {
		assert.Equal(t, 2, run(t, bin, "status", "--repo", dir, "-o", "xml").code)
		assert.Equal(t, 2, run(t, bin, "status", "--no-such-flag").code)
		assert.Equal(t, 2, run(t, bin, "status", "extra-argument").code)
		assert.Equal(t, 2, run(t, bin, "status", "--repo", t.TempDir()).code, "not a repository")
	})
}
