package chartrepo_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// packageChart makes a chart archive as `helm package` does: the chart's
// files under a directory named like it.
func packageChart(t *testing.T, name, version string) []byte {
	t.Helper()
	return ocitest.TarGz(t, []ocitest.File{
		{Name: name + "/Chart.yaml", Body: fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)},
		{Name: name + "/values.yaml", Body: "replicas: 1\n"},
		{Name: name + "/templates/cm.yaml", Body: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}}\n"},
	})
}

func digest(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// repo serves a chart repository on 127.0.0.1: index.yaml and archives.
type repo struct {
	*httptest.Server
	archives map[string][]byte // path → archive
	index    string
	requests atomic.Int64
	auth     atomic.Value // "user:password" seen
}

func newRepo(t *testing.T, versions ...string) *repo {
	t.Helper()
	r := &repo{archives: map[string][]byte{}}
	var entries strings.Builder
	for _, v := range versions {
		a := packageChart(t, "postgresql", v)
		path := "/charts/postgresql-" + v + ".tgz"
		r.archives[path] = a
		fmt.Fprintf(&entries, "  - {version: %q, urls: [%q], digest: %q}\n", v, "charts/postgresql-"+v+".tgz", digest(a))
	}
	r.index = "apiVersion: v1\nentries:\n  postgresql:\n" + entries.String()
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.requests.Add(1)
		if u, p, ok := req.BasicAuth(); ok {
			r.auth.Store(u + ":" + p)
		}
		switch {
		case req.URL.Path == "/stable/index.yaml":
			_, _ = w.Write([]byte(r.index))
		case r.archives[strings.TrimPrefix(req.URL.Path, "/stable")] != nil:
			_, _ = w.Write(r.archives[strings.TrimPrefix(req.URL.Path, "/stable")])
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(r.Close)
	return r
}

func TestFetch(t *testing.T) {
	r := newRepo(t, "15.2.0", "16.0.1", "16.0.2", "16.1.0-rc.1", "17.0.0")
	cache := t.TempDir()
	f := &chartrepo.Fetcher{CacheDir: cache}
	ctx := context.Background()

	c, err := f.Fetch(ctx, r.URL+"/stable", "postgresql", "~16.0")
	require.NoError(t, err)
	assert.Equal(t, "16.0.2", c.Version, "the newest version in the range")
	assert.Equal(t, digest(c.Archive), c.Digest)
	assert.Equal(t, r.archives["/charts/postgresql-16.0.2.tgz"], c.Archive)

	latest, err := f.Fetch(ctx, r.URL+"/stable", "postgresql", "")
	require.NoError(t, err)
	assert.Equal(t, "17.0.0", latest.Version, "no constraint: the newest release, no pre-release")
	pinned, err := f.Fetch(ctx, r.URL+"/stable", "postgresql", "16.0.1")
	require.NoError(t, err)
	assert.Equal(t, "16.0.1", pinned.Version)

	// Offline: what was resolved comes from the cache, with no request.
	before := r.requests.Load()
	offline := &chartrepo.Fetcher{CacheDir: cache, Offline: true}
	again, err := offline.Fetch(ctx, r.URL+"/stable", "postgresql", "~16.0")
	require.NoError(t, err)
	assert.Equal(t, "16.0.2", again.Version)
	assert.Equal(t, c.Archive, again.Archive)
	_, err = offline.Fetch(ctx, r.URL+"/stable", "postgresql", "~15")
	assert.ErrorIs(t, err, chartrepo.ErrNotCached)
	assert.Equal(t, before, r.requests.Load(), "offline: no request")
}

func TestFetchRefuses(t *testing.T) {
	ctx := context.Background()
	t.Run("an archive that is not what the index says", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		r.archives["/charts/postgresql-16.0.1.tgz"] = packageChart(t, "postgresql", "16.0.9")
		_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir()}).Fetch(ctx, r.URL+"/stable", "postgresql", "16.0.1")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "the index says")
	})
	t.Run("an archive on another host", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		r.index = strings.Replace(r.index, `"charts/postgresql-16.0.1.tgz"`, `"http://127.0.0.2:1/postgresql-16.0.1.tgz"`, 1)
		_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir()}).Fetch(ctx, r.URL+"/stable", "postgresql", "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "not on the repository's host")
	})
	t.Run("an index without digests", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		r.index = strings.Replace(r.index, `digest: "`, `nodigest: "`, 1)
		_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir()}).Fetch(ctx, r.URL+"/stable", "postgresql", "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "no sha256 digest")
	})
	t.Run("an index over its bound", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir(), MaxIndex: 10}).Fetch(ctx, r.URL+"/stable", "postgresql", "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "more than 10 bytes")
	})
	t.Run("no version in the range", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		_, err := (&chartrepo.Fetcher{CacheDir: t.TempDir()}).Fetch(ctx, r.URL+"/stable", "postgresql", ">=18")
		require.Error(t, err)
		assert.Contains(t, err.Error(), `no version satisfies ">=18"`)
	})
	t.Run("credentials go to the repository and nowhere in errors", func(t *testing.T) {
		r := newRepo(t, "16.0.1")
		f := &chartrepo.Fetcher{CacheDir: t.TempDir(), Credentials: func(string) (chartrepo.Credentials, bool) {
			return chartrepo.Credentials{Username: "reader", Password: "s3cret-token"}, true
		}}
		_, err := f.Fetch(ctx, r.URL+"/stable", "postgresql", "")
		require.NoError(t, err)
		assert.Equal(t, "reader:s3cret-token", r.auth.Load())
		_, err = f.Fetch(ctx, r.URL+"/missing", "postgresql", "")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "s3cret-token")
		_, err = f.Fetch(ctx, "http://reader:s3cret-token@127.0.0.1:1/x", "postgresql", "")
		require.Error(t, err)
		assert.NotContains(t, err.Error(), "s3cret-token")
		assert.False(t, errors.Is(err, chartrepo.ErrNotCached))
	})
}
