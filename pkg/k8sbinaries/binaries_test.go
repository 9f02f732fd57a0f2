package k8sbinaries

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func executable(t *testing.T, dir string, n Name) string {
	t.Helper()
	require.NoError(t, os.MkdirAll(dir, 0o755))
	p := filepath.Join(dir, string(n))
	require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\n"), 0o755))
	return p
}

func TestFindOrder(t *testing.T) {
	assets, onPath, cache := t.TempDir(), t.TempDir(), t.TempDir()
	inAssets := executable(t, assets, Etcd)
	pathAPIServer := executable(t, onPath, KubeAPIServer)
	executable(t, onPath, Etcd) // shadowed by KUBEBUILDER_ASSETS
	cachedScheduler := executable(t, filepath.Join(cache, versionOf(KubeScheduler)), KubeScheduler)
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	t.Setenv("PATH", onPath)

	set, err := Ensure(context.Background(), Options{Need: []Name{Etcd, KubeAPIServer, KubeScheduler}, CacheDir: cache, NoBuild: true})
	require.NoError(t, err)
	assert.Equal(t, inAssets, set.Path(Etcd), "KUBEBUILDER_ASSETS first")
	assert.Equal(t, pathAPIServer, set.Path(KubeAPIServer), "then PATH")
	assert.Equal(t, cachedScheduler, set.Path(KubeScheduler), "then the cache")
	assert.Empty(t, set.Path(Kwok), "not asked for")
}

func TestNotFoundSaysWhatWasTried(t *testing.T) {
	empty := t.TempDir()
	t.Setenv("KUBEBUILDER_ASSETS", "")
	t.Setenv("PATH", empty)
	_, err := Ensure(context.Background(), Options{Need: []Name{KubeControllerManager}, CacheDir: empty, NoBuild: true})
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	assert.Equal(t, KubeControllerManager, nf.Name)
	msg := err.Error()
	assert.Contains(t, msg, "KUBEBUILDER_ASSETS (unset)")
	assert.Contains(t, msg, "PATH")
	assert.Contains(t, msg, filepath.Join(empty, "kubernetes-"+KubernetesVersion))
	assert.Contains(t, msg, "Point KUBEBUILDER_ASSETS at a directory")
}

func TestNonExecutableIsSkipped(t *testing.T) {
	assets := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(assets, "etcd"), []byte("not a program"), 0o644))
	t.Setenv("KUBEBUILDER_ASSETS", assets)
	t.Setenv("PATH", t.TempDir())
	_, err := Ensure(context.Background(), Options{Need: []Name{Etcd}, CacheDir: t.TempDir(), NoBuild: true})
	assert.ErrorContains(t, err, "KUBEBUILDER_ASSETS="+assets)
}

func TestWrapperModules(t *testing.T) {
	assert.Equal(t, "k8s.io/kubernetes/cmd/kube-apiserver", wrapperFor(KubeAPIServer).pkg)
	assert.Equal(t, "v0.36.3", wrapperFor(KubeScheduler).stagingVersion, "staging modules are published as v0.<minor>.<patch>")
	assert.Empty(t, wrapperFor(Etcd).stagingVersion)
	assert.Equal(t, "sigs.k8s.io/kwok/cmd/kwok", wrapperFor(Kwok).pkg)
}

func TestStagingReplaces(t *testing.T) {
	goMod := `module k8s.io/kubernetes

require k8s.io/api v0.0.0

replace (
	k8s.io/api => ./staging/src/k8s.io/api
	k8s.io/client-go => ./staging/src/k8s.io/client-go
	example.com/other => example.com/fork v1.0.0
)

replace k8s.io/kms => ./staging/src/k8s.io/kms
`
	mods, err := stagingReplaces(strings.NewReader(goMod))
	require.NoError(t, err)
	assert.Equal(t, []string{"k8s.io/api", "k8s.io/client-go", "k8s.io/kms"}, mods)
}

// TestKubectlOnPathMustMatch: a kubectl on PATH more than one minor
// version from the apiservers is skipped for the cached (or built) one.
func TestKubectlOnPathMustMatch(t *testing.T) {
	fake := func(dir, version string) string {
		require.NoError(t, os.MkdirAll(dir, 0o755))
		p := filepath.Join(dir, "kubectl")
		require.NoError(t, os.WriteFile(p, []byte("#!/bin/sh\necho '{\"clientVersion\":{\"gitVersion\":\""+version+"\"}}'\n"), 0o755))
		return p
	}
	cache := t.TempDir()
	cached := executable(t, filepath.Join(cache, versionOf(Kubectl)), Kubectl)
	t.Setenv("KUBEBUILDER_ASSETS", "")

	old := t.TempDir()
	fake(old, "v1.32.4-dispatcher")
	t.Setenv("PATH", old)
	set, err := Ensure(context.Background(), Options{Need: []Name{Kubectl}, CacheDir: cache, NoBuild: true})
	require.NoError(t, err)
	assert.Equal(t, cached, set.Path(Kubectl), "an old kubectl on PATH is skipped")

	near := t.TempDir()
	onPath := fake(near, "v1.35.1")
	t.Setenv("PATH", near)
	set, err = Ensure(context.Background(), Options{Need: []Name{Kubectl}, CacheDir: cache, NoBuild: true})
	require.NoError(t, err)
	assert.Equal(t, onPath, set.Path(Kubectl), "one minor version away is fine")

	_, err = Ensure(context.Background(), Options{Need: []Name{Kubectl}, CacheDir: t.TempDir(), NoBuild: true})
	require.NoError(t, err, "found on PATH, no build needed")
	t.Setenv("PATH", old)
	_, err = Ensure(context.Background(), Options{Need: []Name{Kubectl}, CacheDir: t.TempDir(), NoBuild: true})
	assert.ErrorContains(t, err, "is v1.32.4-dispatcher, not within one minor version of "+KubernetesVersion)
}
