package chartrepo_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// pushChart pushes a chart archive as `helm push` does: Helm's config and
// content media types, tagged with its version.
func pushChart(t *testing.T, host, chartName, version string, archive []byte) string {
	t.Helper()
	return ocitest.Push(t, host+"/charts/"+chartName+":"+version, ocitest.HelmConfig, ocitest.HelmContent, archive, nil)
}

func TestFetchOCI(t *testing.T) {
	var requests atomic.Int64
	reg := registry.New()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		reg.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	host := strings.TrimPrefix(srv.URL, "http://")
	archives := map[string][]byte{}
	for _, v := range []string{"16.0.1", "16.0.2", "17.0.0"} {
		archives[v] = packageChart(t, "postgresql", v)
		pushChart(t, host, "postgresql", v, archives[v])
	}
	manifestDigest := pushChart(t, host, "postgresql", "15.0.0", packageChart(t, "postgresql", "15.0.0"))
	repo := "oci://" + host + "/charts"
	cache := t.TempDir()
	f := &chartrepo.Fetcher{CacheDir: cache}
	ctx := context.Background()

	c, err := f.Fetch(ctx, repo, "postgresql", "~16.0")
	require.NoError(t, err)
	assert.Equal(t, "16.0.2", c.Version, "the newest tag in the range")
	assert.Equal(t, archives["16.0.2"], c.Archive)
	assert.Equal(t, digest(c.Archive), c.Digest)

	pinned, err := f.Fetch(ctx, repo, "postgresql", "16.0.1")
	require.NoError(t, err)
	assert.Equal(t, archives["16.0.1"], pinned.Archive)

	byDigest, err := f.Fetch(ctx, repo, "postgresql", manifestDigest)
	require.NoError(t, err)
	assert.Equal(t, "15.0.0", byDigest.Version, "pulled by digest: the version its Chart.yaml gives")

	before := requests.Load()
	again, err := (&chartrepo.Fetcher{CacheDir: cache, Offline: true}).Fetch(ctx, repo, "postgresql", "~16.0")
	require.NoError(t, err)
	assert.Equal(t, "16.0.2", again.Version)
	assert.Equal(t, before, requests.Load(), "offline: no request")

	_, err = f.Fetch(ctx, repo, "mysql", "1.0.0")
	require.Error(t, err)
	_, err = f.Fetch(ctx, repo, "postgresql", ">=18")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `no version satisfies ">=18"`)
}

// TestFetchOCIStaysOnTheRegistry: a registry that sends gitstellar to
// another host for a token is refused, and that host gets no request.
func TestFetchOCIStaysOnTheRegistry(t *testing.T) {
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere.Add(1) }))
	t.Cleanup(other.Close)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// localhost: a name, which go-containerregistry's own check of
		// private realm addresses does not stop.
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+strings.Replace(other.URL, "127.0.0.1", "localhost", 1)+`/token",service="x"`)
		w.WriteHeader(http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir()}).Fetch(context.Background(), "oci://"+strings.TrimPrefix(srv.URL, "http://")+"/charts", "postgresql", "1.0.0")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "refused")
	assert.Zero(t, elsewhere.Load())
}
