package source_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// tarEntry is one entry of an artifact's content.
type tarEntry struct {
	name, body, link string
	typ              byte
}

// pushArtifact pushes a directory's content as `flux push artifact` does:
// Flux's config and content media types, the source and revision
// annotations.
func pushArtifact(t *testing.T, ref string, entries []tarEntry) string {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, e := range entries {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: e.name, Typeflag: typ, Linkname: e.link, Mode: 0o644, Size: int64(len(e.body))}))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(e.body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(buf.Bytes(), "application/vnd.cncf.flux.content.v1.tar+gzip")})
	require.NoError(t, err)
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), "application/vnd.cncf.flux.config.v1+json")
	img = mutate.Annotations(img, map[string]string{
		"org.opencontainers.image.source":   "https://example.com/fleet.git",
		"org.opencontainers.image.revision": "main@sha1:0123456789abcdef",
	}).(v1.Image)
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}

func TestOCIArtifactSource(t *testing.T) {
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	ref := host + "/fleet/repo:latest"
	first := pushArtifact(t, ref, []tarEntry{
		{name: "spaces/", typ: tar.TypeDir},
		{name: "spaces/wds1.yaml", body: "kind: Space\n"},
		{name: "wds1/app/cm.yaml", body: "kind: ConfigMap\n"},
		{name: "wds1/shared", typ: tar.TypeSymlink, link: "app"},
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

	second := pushArtifact(t, ref, []tarEntry{{name: "wds1/app/cm.yaml", body: "kind: ConfigMap\nv: 2\n"}})
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
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	outside := t.TempDir()
	for _, tc := range []struct {
		name    string
		entries []tarEntry
		want    string
	}{
		{"a path that climbs out", []tarEntry{{name: "../../escaped.yaml", body: "x"}}, "leads outside the artifact"},
		{"an absolute path", []tarEntry{{name: filepath.Join(outside, "abs.yaml"), body: "x"}}, "leads outside the artifact"},
		{"a device", []tarEntry{{name: "dev", typ: tar.TypeChar}}, "neither a file"},
		{"a link out then a write through it", []tarEntry{{name: "out", typ: tar.TypeSymlink, link: outside}, {name: "out/planted.yaml", body: "x"}}, ""},
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
