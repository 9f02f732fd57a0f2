package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDevUpRefusesRepoWithWECs: --repo declares the WECs, so --wecs with
// it is a usage error, and nothing is created.
func TestDevUpRefusesRepoWithWECs(t *testing.T) {
	state := filepath.Join(t.TempDir(), "dev")
	for _, args := range [][]string{
		{"--repo", "../../examples/repo-layout", "--wecs", "2"},
		{"--wecs", "0", "--repo", "../../examples/repo-layout"},
	} {
		_, _, err := execute(t, nil, append([]string{"dev", "up", "--state-dir", state}, args...)...)
		require.Error(t, err, "%v", args)
		assert.Equal(t, 2, exitCode(err), "%v", err)
		assert.ErrorContains(t, err, "--repo and --wecs: the repository declares the WECs")
	}
	for _, args := range [][]string{{"--prune"}, {"--path", "deploy"}} {
		_, _, err := execute(t, nil, append([]string{"dev", "up", "--state-dir", state}, args...)...)
		require.Error(t, err, "%v", args)
		assert.Equal(t, 2, exitCode(err), "%v", err)
		assert.ErrorContains(t, err, "needs --repo")
	}
	_, err := os.Stat(state)
	assert.True(t, os.IsNotExist(err), "the state directory was created")
}

// TestDevUpBrokenRepo: a repository whose spaces do not render starts
// nothing and names the file and line.
func TestDevUpBrokenRepo(t *testing.T) {
	repo := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(repo, "spaces"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(repo, "spaces", "wds1.yaml"),
		[]byte("apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata:\n  name: wds1\nspec:\n  type: Nope\n"), 0o644))
	state := filepath.Join(t.TempDir(), "dev")
	_, _, err := execute(t, nil, "dev", "up", "--repo", repo, "--state-dir", state)
	require.Error(t, err)
	assert.ErrorContains(t, err, filepath.Join(repo, "spaces", "wds1.yaml")+":1: ")
	assert.ErrorContains(t, err, `spec.type must be WDS or ITS, not "Nope"`)
	_, err = os.Stat(state)
	assert.True(t, os.IsNotExist(err), "the state directory was created")
}

func TestRemovedOffer(t *testing.T) {
	assert.Equal(t, "not in the repository any more: wds3 (still running; stop them with: gitstellar dev up --repo /src/my-repo --prune)",
		removedOffer([]string{"wds3"}, "/src/my-repo", "", ".gitstellar/dev"))
	assert.Equal(t, "not in the repository any more: wds2, wds3 (still running; stop them with: gitstellar dev up --repo '/src/my repo' --path deploy --state-dir /tmp/dev --prune)",
		removedOffer([]string{"wds2", "wds3"}, "/src/my repo", "deploy", "/tmp/dev"))
}
