package e2e

import (
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
)

// TestRunVerifyCommits: with --verify-commits, `gitstellar run --once`
// refuses an unsigned head commit (nothing is applied, the error names the
// commit) and applies the next one, signed with a trusted SSH key.
func TestRunVerifyCommits(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ssh, err := exec.LookPath("ssh-keygen")
	require.NoError(t, err, "ssh-keygen signs the commits")
	bin := gitstellar(t)
	env := devenvtest.Start(t, devenvtest.Options{Layout: exampleLayout(t, false), Bare: true})
	key := filepath.Join(t.TempDir(), "id_ed25519")
	run(t, ssh, "-q", "-t", "ed25519", "-N", "", "-C", "release@example.com", "-f", key)

	_, repo, unsigned := serveExample(t, "signed")
	once := func() result {
		return run(t, bin, "run", "--once", "--repo", repo.URL, "--kubeconfig", env.KubeconfigPath(), "--cache-dir", t.TempDir(),
			"--status-branch", "", "--verify-commits", key+".pub")
	}
	r := once()
	assert.Equal(t, 1, r.code)
	bad := run(t, bin, "run", "--once", "--repo", repo.URL, "--verify-commits", filepath.Join(t.TempDir(), "missing.pub"))
	assert.Equal(t, 1, bad.code)
	assert.Contains(t, bad.stderr, "--verify-commits: ", "a key file that cannot be read stops run at start")
	usage := run(t, bin, "run", "--once", "--repo", repo.URL, "--leader-elect")
	assert.Equal(t, 2, usage.code, "--once takes no --leader-elect")
	assert.Contains(t, r.stdout, "commit "+unsigned[:12]+" (HEAD) is not signed; --verify-commits requires a signature by a trusted key")
	assert.NotContains(t, r.stdout, "wds1 (WDS)", "nothing is applied")

	repo.Git(t, "-c", "gpg.format=ssh", "-c", "user.signingKey="+key, "commit", "--quiet", "--allow-empty", "-S", "-m", "signed")
	signed := repo.Head(t)
	repo.Push(t, "main")
	r = once()
	assert.Equal(t, 0, r.code, "a commit signed by a trusted key is applied")
	assert.Contains(t, r.stdout, "revision "+signed[:12])
	assert.Contains(t, r.stdout, "wds1 (WDS)")
}
