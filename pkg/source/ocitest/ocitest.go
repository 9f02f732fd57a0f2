package ocitest

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"net/http/httptest"
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
	"github.com/stretchr/testify/require"
)

// Media types of Helm charts and Flux artifacts in registries.
const (
	HelmConfig  = "application/vnd.cncf.helm.config.v1+json"
	HelmContent = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	FluxConfig  = "application/vnd.cncf.flux.config.v1+json"
	FluxContent = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Registry serves an empty registry on 127.0.0.1 until the test ends and
// returns its host:port.
func Registry(t testing.TB) string {
	t.Helper()
	srv := httptest.NewServer(registry.New())
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

// File is one entry of an archive: a regular file (Type 0), or of another
// tar type (a directory, a symbolic link to Link, a device...).
type File struct {
	Name, Body, Link string
	Type             byte
}

// TarGz packs files, in order, as tar+gzip.
func TarGz(t testing.TB, files []File) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, f := range files {
		typ := f.Type
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: f.Name, Typeflag: typ, Linkname: f.Link, Mode: 0o644}
		if typ == tar.TypeReg {
			h.Size = int64(len(f.Body))
		}
		require.NoError(t, tw.WriteHeader(h))
		if typ == tar.TypeReg {
			_, err := tw.Write([]byte(f.Body))
			require.NoError(t, err)
		}
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// Push pushes one layer of content as an OCI manifest with the given
// config and layer media types and annotations, and returns the
// manifest's digest.
func Push(t testing.TB, ref, configMediaType, layerMediaType string, content []byte, annotations map[string]string) string {
	t.Helper()
	img, err := mutate.Append(empty.Image, mutate.Addendum{Layer: static.NewLayer(content, types.MediaType(layerMediaType))})
	require.NoError(t, err)
	img = mutate.ConfigMediaType(mutate.MediaType(img, types.OCIManifestSchema1), types.MediaType(configMediaType))
	if annotations != nil {
		img = mutate.Annotations(img, annotations).(v1.Image)
	}
	r, err := name.ParseReference(ref)
	require.NoError(t, err)
	require.NoError(t, remote.Write(r, img))
	d, err := img.Digest()
	require.NoError(t, err)
	return d.String()
}
