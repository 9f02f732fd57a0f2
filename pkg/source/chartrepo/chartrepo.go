package chartrepo

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Masterminds/semver/v3"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// Chart is a packaged chart, verified.
type Chart struct {
	Repository string
	Name       string
	// Version is the version the constraint resolved to.
	Version string
	// Digest is the archive's sha256, hex.
	Digest  string
	Archive []byte
}

// Credentials are a repository's basic-auth user and password.
type Credentials struct {
	Username, Password string
}

// Fetcher gets charts into, and out of, a cache directory.
type Fetcher struct {
	// CacheDir holds archives by digest and the last resolution of each
	// (repository, chart, constraint).
	CacheDir string
	// Offline serves from the cache only.
	Offline bool
	// Client makes the requests (default: 30 s timeout).
	Client *http.Client
	// MaxIndex and MaxArchive bound what is read (default 16 MiB, 32 MiB).
	MaxIndex, MaxArchive int64
	// Credentials, when set, gives the credentials of a repository URL.
	Credentials func(repository string) (Credentials, bool)
}

// ErrNotCached is an offline fetch of a chart the cache does not hold.
var ErrNotCached = errors.New("not in the chart cache: the network is needed (run it once online, or gitstellar validate --fetch-charts)")

// index is the part of a repository's index.yaml read here.
type index struct {
	Entries map[string][]struct {
		Version string   `json:"version"`
		URLs    []string `json:"urls"`
		Digest  string   `json:"digest"`
	} `json:"entries"`
}

// resolution is a cached resolution of a constraint.
type resolution struct {
	Version string `json:"version"`
	Digest  string `json:"digest"`
}

// Fetch gets chart name from the repository at the newest version
// satisfying constraint ("" for the newest release; an exact version pins
// it).
func (f *Fetcher) Fetch(ctx context.Context, repository, name, constraint string) (*Chart, error) {
	repoURL, err := url.Parse(strings.TrimSuffix(repository, "/"))
	if err != nil || (repoURL.Scheme != "http" && repoURL.Scheme != "https" && repoURL.Scheme != "oci") || repoURL.Host == "" {
		return nil, fmt.Errorf("chart repository %q: want an http(s) URL or an oci:// registry path", source.RedactURL(repository))
	}
	if repoURL.User != nil {
		return nil, fmt.Errorf("chart repository %q: credentials do not go in the URL", source.RedactURL(repository))
	}
	key := resolutionKey(repository, name, constraint)
	if f.Offline {
		return f.fromCache(repository, name, key)
	}
	if isOCI(repository) {
		c, err := f.fetchOCI(ctx, repository, name, constraint)
		if err != nil {
			return nil, err
		}
		if err := f.remember(key, resolution{Version: c.Version, Digest: c.Digest}); err != nil {
			return nil, err
		}
		return c, nil
	}
	idx, err := f.index(ctx, repoURL)
	if err != nil {
		return nil, err
	}
	version, chartURL, digest, err := resolve(idx, repoURL, name, constraint)
	if err != nil {
		return nil, err
	}
	if archive, err := f.cached(digest); err == nil {
		_ = f.remember(key, resolution{Version: version, Digest: digest})
		return &Chart{Repository: repository, Name: name, Version: version, Digest: digest, Archive: archive}, nil
	}
	archive, err := f.get(ctx, chartURL, f.maxArchive())
	if err != nil {
		return nil, fmt.Errorf("chart %s %s: %w", name, version, err)
	}
	sum := sha256.Sum256(archive)
	if got := hex.EncodeToString(sum[:]); got != digest {
		return nil, fmt.Errorf("chart %s %s: the archive's sha256 is %s, the index says %s: refused", name, version, got, digest)
	}
	if err := f.store(digest, archive); err != nil {
		return nil, err
	}
	if err := f.remember(key, resolution{Version: version, Digest: digest}); err != nil {
		return nil, err
	}
	return &Chart{Repository: repository, Name: name, Version: version, Digest: digest, Archive: archive}, nil
}

// resolve picks the version of a chart and its archive's URL and digest.
func resolve(idx *index, repoURL *url.URL, name, constraint string) (version, chartURL, digest string, err error) {
	entries, ok := idx.Entries[name]
	if !ok || len(entries) == 0 {
		return "", "", "", fmt.Errorf("chart %s is not in the repository's index", name)
	}
	versions := make([]string, len(entries))
	for i, e := range entries {
		versions[i] = e.Version
	}
	bestAt, err := newest(versions, name, constraint)
	if err != nil {
		return "", "", "", err
	}
	e := entries[bestAt]
	if len(e.URLs) == 0 {
		return "", "", "", fmt.Errorf("chart %s %s: the index lists no URL", name, e.Version)
	}
	digest = strings.ToLower(strings.TrimPrefix(e.Digest, "sha256:"))
	if len(digest) != sha256.Size*2 {
		return "", "", "", fmt.Errorf("chart %s %s: the index gives no sha256 digest: refused", name, e.Version)
	}
	u, err := repoURL.Parse(e.URLs[0])
	if err != nil {
		return "", "", "", fmt.Errorf("chart %s %s: URL: %v", name, e.Version, err)
	}
	if u.Scheme != repoURL.Scheme || u.Host != repoURL.Host {
		return "", "", "", fmt.Errorf("chart %s %s: the index puts the archive on %s, not on the repository's host: refused", name, e.Version, u.Host)
	}
	return e.Version, u.String(), digest, nil
}

// newest picks, among versions, the newest satisfying constraint (""
// for the newest release), and returns its index.
func newest(versions []string, chartName, constraint string) (int, error) {
	var c *semver.Constraints
	if constraint != "" {
		var err error
		if c, err = semver.NewConstraint(constraint); err != nil {
			return -1, fmt.Errorf("chart %s: version %q: %v", chartName, constraint, err)
		}
	}
	var best *semver.Version
	bestAt := -1
	for i, s := range versions {
		v, err := semver.NewVersion(s)
		if err != nil || (c == nil && v.Prerelease() != "") || (c != nil && !c.Check(v)) {
			continue
		}
		if best == nil || v.GreaterThan(best) {
			best, bestAt = v, i
		}
	}
	if bestAt < 0 {
		return -1, fmt.Errorf("chart %s: no version satisfies %q", chartName, constraint)
	}
	return bestAt, nil
}

// index reads a repository's index.yaml.
func (f *Fetcher) index(ctx context.Context, repoURL *url.URL) (*index, error) {
	u := *repoURL
	u.Path = strings.TrimSuffix(u.Path, "/") + "/index.yaml"
	data, err := f.get(ctx, u.String(), f.maxIndex())
	if err != nil {
		return nil, fmt.Errorf("chart repository %s: %w", source.RedactURL(repoURL.String()), err)
	}
	var idx index
	if err := yaml.Unmarshal(data, &idx); err != nil {
		return nil, fmt.Errorf("chart repository %s: index.yaml: %v", source.RedactURL(repoURL.String()), err)
	}
	return &idx, nil
}

// get reads a URL, at most max bytes.
func (f *Fetcher) get(ctx context.Context, rawURL string, max int64) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return nil, err
	}
	if f.Credentials != nil {
		if c, ok := f.Credentials(rawURL); ok {
			req.SetBasicAuth(c.Username, c.Password)
		}
	}
	client := &http.Client{Timeout: 30 * time.Second}
	if f.Client != nil {
		c := *f.Client
		client = &c
	}
	client.Transport = f.transport(req.URL.Host) // a redirect elsewhere is refused
	resp, err := client.Do(req)
	if err != nil {
		var uerr *url.Error
		if errors.As(err, &uerr) {
			return nil, fmt.Errorf("GET %s: %v", source.RedactURL(rawURL), uerr.Err)
		}
		return nil, fmt.Errorf("GET %s: %v", source.RedactURL(rawURL), err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", source.RedactURL(rawURL), resp.Status)
	}
	data, err := io.ReadAll(io.LimitReader(resp.Body, max+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %v", source.RedactURL(rawURL), err)
	}
	if int64(len(data)) > max {
		return nil, fmt.Errorf("GET %s: more than %d bytes: refused", source.RedactURL(rawURL), max)
	}
	return data, nil
}

func (f *Fetcher) maxIndex() int64 {
	if f.MaxIndex > 0 {
		return f.MaxIndex
	}
	return 16 << 20
}

func (f *Fetcher) maxArchive() int64 {
	if f.MaxArchive > 0 {
		return f.MaxArchive
	}
	return 32 << 20
}

func resolutionKey(repository, name, constraint string) string {
	sum := sha256.Sum256([]byte(strings.TrimSuffix(repository, "/") + "\x00" + name + "\x00" + constraint))
	return hex.EncodeToString(sum[:])
}

func (f *Fetcher) archivePath(digest string) string {
	return filepath.Join(f.CacheDir, "sha256", digest+".tgz")
}

func (f *Fetcher) cached(digest string) ([]byte, error) {
	data, err := os.ReadFile(f.archivePath(digest))
	if err != nil {
		return nil, err
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != digest {
		return nil, fmt.Errorf("cached chart %s is corrupt", digest)
	}
	return data, nil
}

func (f *Fetcher) fromCache(repository, name, key string) (*Chart, error) {
	raw, err := os.ReadFile(filepath.Join(f.CacheDir, "resolved", key+".json"))
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: %w", name, source.RedactURL(repository), ErrNotCached)
	}
	var res resolution
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, fmt.Errorf("chart %s from %s: %w", name, source.RedactURL(repository), ErrNotCached)
	}
	archive, err := f.cached(res.Digest)
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: %w", name, source.RedactURL(repository), ErrNotCached)
	}
	return &Chart{Repository: repository, Name: name, Version: res.Version, Digest: res.Digest, Archive: archive}, nil
}

// store writes an archive into the cache, atomically.
func (f *Fetcher) store(digest string, archive []byte) error {
	return writeAtomic(f.archivePath(digest), archive)
}

func (f *Fetcher) remember(key string, res resolution) error {
	raw, _ := json.Marshal(res)
	return writeAtomic(filepath.Join(f.CacheDir, "resolved", key+".json"), raw)
}

func writeAtomic(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// chartVersionOf reads the version in a chart archive's Chart.yaml.
func chartVersionOf(archive []byte, chartName string) string {
	gz, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		return ""
	}
	defer gz.Close()
	tr := tar.NewReader(io.LimitReader(gz, 64<<20))
	for {
		h, err := tr.Next()
		if err != nil {
			return ""
		}
		if h.Name != chartName+"/Chart.yaml" {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(tr, 1<<20))
		if err != nil {
			return ""
		}
		var meta struct {
			Version string `json:"version"`
		}
		if yaml.Unmarshal(data, &meta) != nil {
			return ""
		}
		return meta.Version
	}
}
