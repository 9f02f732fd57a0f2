package source_test

import (
	"archive/tar"
	"context"
	"io/fs"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// pushArtifact pushes a layout as `flux push artifact` does, with its
// source and revision annotations.
func pushArtifact(t *testing.T, ref string, entries []ocitest.File) string {
	t.Helper()
	return ocitest.Push(t, ref, ocitest.FluxConfig, ocitest.FluxContent, ocitest.TarGz(t, entries), map[string]string{
		"org.opencontainers.image.source":   "https://example.com/fleet.git",
		"org.opencontainers.image.revision": "main@sha1:0123456789abcdef",
	})
}

func TestOCIArtifactSource(t *testing.T) {
	host := ocitest.Registry(t)
	ref := host + "/fleet/repo:latest"
	first := pushArtifact(t, ref, []ocitest.File{
		{Name: "spaces/", Type: tar.TypeDir},
		{Name: "spaces/wds1.yaml", Body: "kind: Space\n"},
		{Name: "wds1/app/cm.yaml", Body: "kind: ConfigMap\n"},
		{Name: "wds1/shared", Type: tar.TypeSymlink, Link: "app"},
	})
	f, err := source.NewFetcher(source.Options{URL: "oci://" + ref, CacheDir: t.TempDir()})
	require.NoError(t, err)
	ctx := context.Background()
	rev, changed, err := f.Fetch(ctx)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, first, rev.Commit, "the revision is the manifest's digest")
	assert.Equal(t, "source https://example.com/fleet.git, revision main@sha1:0123456789abcdef", rev.Message)
	data, err := fs.ReadFile(rev.Tree, "wds1/app/cm.yaml")
	require.NoError(t, err)
	assert.Equal(t, "kind: ConfigMap\n", string(data))
	data, err = fs.ReadFile(rev.Tree, "wds1/shared/cm.yaml")
	require.NoError(t, err, "a link inside the artifact is followed")
	assert.Equal(t, "kind: ConfigMap\n", string(data))

	_, changed, err = f.Fetch(ctx)
	require.NoError(t, err)
	assert.False(t, changed, "the tag still names the same artifact")

	second := pushArtifact(t, ref, []ocitest.File{{Name: "wds1/app/cm.yaml", Body: "kind: ConfigMap\nv: 2\n"}})
	rev, changed, err = f.Fetch(ctx)
	require.NoError(t, err)
	assert.True(t, changed)
	assert.Equal(t, second, rev.Commit)
	data, err = fs.ReadFile(rev.Tree, "wds1/app/cm.yaml")
	require.NoError(t, err)
	assert.Contains(t, string(data), "v: 2")

	// Pinned by digest.
	pinned, err := source.NewFetcher(source.Options{URL: "oci://" + host + "/fleet/repo@" + first, CacheDir: t.TempDir()})
	require.NoError(t, err)
	rev, _, err = pinned.Fetch(ctx)
	require.NoError(t, err)
	assert.Equal(t, first, rev.Commit)
}

func TestOCIArtifactHostile(t *testing.T) {
	host := ocitest.Registry(t)
	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		entries []ocitest.File
		want    string
	}{
		{"a path that climbs out", []ocitest.File{{Name: "../../escaped.yaml", Body: "x"}}, "leads outside the artifact"},
		{"an absolute path", []ocitest.File{{Name: filepath.Join(outside, "abs.yaml"), Body: "x"}}, "leads outside the artifact"},
		{"a device", []ocitest.File{{Name: "dev", Type: tar.TypeChar}}, "neither a file"},
		{"a link out then a write through it", []ocitest.File{{Name: "out", Type: tar.TypeSymlink, Link: outside}, {Name: "out/planted.yaml", Body: "x"}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ref := host + "/hostile/" + strings.ReplaceAll(tc.name, " ", "-") + ":v1"
			pushArtifact(t, ref, tc.entries)
			f, err := source.NewFetcher(source.Options{URL: "oci://" + ref, CacheDir: t.TempDir()})
			require.NoError(t, err)
			_, _, err = f.Fetch(context.Background())
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			matches, _ := filepath.Glob(filepath.Join(outside, "*"))
			assert.Empty(t, matches, "nothing written outside")
		})
	}
}
