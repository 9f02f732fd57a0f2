package chartrepo

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// Helm's media types for a chart pushed to an OCI registry.
const (
	helmConfigMediaType  types.MediaType = "application/vnd.cncf.helm.config.v1+json"
	helmContentMediaType types.MediaType = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
)

// isOCI tells whether a repository is an OCI registry path.
func isOCI(repository string) bool { return strings.HasPrefix(repository, "oci://") }

// fetchOCI gets chart name from an OCI registry path (oci://host/path),
// at a tag that is the newest version satisfying constraint (the
// registry's tags are listed), or at the digest constraint names
// (sha256:...). The chart's content layer is verified against its digest
// as it is read.
func (f *Fetcher) fetchOCI(ctx context.Context, repository, chartName, constraint string) (*Chart, error) {
	base := strings.TrimSuffix(strings.TrimPrefix(repository, "oci://"), "/")
	repo, err := name.NewRepository(base + "/" + chartName)
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: %v", chartName, source.RedactURL(repository), err)
	}
	opts := []remote.Option{remote.WithContext(ctx), remote.WithTransport(f.transport(repo.RegistryStr())), remote.WithAuthFromKeychain(f.keychain(repository))}
	var ref name.Reference
	version := constraint
	switch {
	case strings.HasPrefix(constraint, "sha256:"):
		ref = repo.Digest(constraint)
	case constraint != "" && isExactVersion(constraint):
		ref = repo.Tag(constraint)
	default:
		tags, err := remote.List(repo, opts...)
		if err != nil {
			return nil, fmt.Errorf("chart %s from %s: list its versions: %v", chartName, source.RedactURL(repository), err)
		}
		versions := make([]string, len(tags))
		for i, tag := range tags {
			versions[i] = strings.ReplaceAll(tag, "_", "+") // Helm writes + as _ in tags
		}
		at, err := newest(versions, chartName, constraint)
		if err != nil {
			return nil, err
		}
		version, ref = versions[at], repo.Tag(tags[at])
	}
	img, err := remote.Image(ref, opts...)
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: %v", chartName, source.RedactURL(repository), err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, fmt.Errorf("chart %s from %s: manifest: %v", chartName, source.RedactURL(repository), err)
	}
	if manifest.Config.MediaType != helmConfigMediaType {
		return nil, fmt.Errorf("chart %s from %s: %s is not a Helm chart (config %s)", chartName, source.RedactURL(repository), ref, manifest.Config.MediaType)
	}
	for _, l := range manifest.Layers {
		if l.MediaType != helmContentMediaType {
			continue
		}
		if l.Size > f.maxArchive() {
			return nil, fmt.Errorf("chart %s from %s: the chart is %d bytes, more than %d: refused", chartName, source.RedactURL(repository), l.Size, f.maxArchive())
		}
		layer, err := img.LayerByDigest(l.Digest)
		if err != nil {
			return nil, err
		}
		rc, err := layer.Compressed() // verified against l.Digest as it is read
		if err != nil {
			return nil, fmt.Errorf("chart %s from %s: %v", chartName, source.RedactURL(repository), err)
		}
		archive, err := io.ReadAll(io.LimitReader(rc, f.maxArchive()+1))
		rc.Close()
		if err != nil {
			return nil, fmt.Errorf("chart %s from %s: %v", chartName, source.RedactURL(repository), err)
		}
		sum := sha256.Sum256(archive)
		digest := hex.EncodeToString(sum[:])
		if "sha256:"+digest != l.Digest.String() {
			return nil, fmt.Errorf("chart %s from %s: the chart's sha256 is %s, the manifest says %s: refused", chartName, source.RedactURL(repository), digest, l.Digest)
		}
		if strings.HasPrefix(version, "sha256:") || version == "" {
			version = chartVersionOf(archive, chartName) // pulled by digest: as its Chart.yaml says
		}
		if err := f.store(digest, archive); err != nil {
			return nil, err
		}
		return &Chart{Repository: repository, Name: chartName, Version: version, Digest: digest, Archive: archive}, nil
	}
	return nil, fmt.Errorf("chart %s from %s: the manifest has no chart content layer", chartName, source.RedactURL(repository))
}

// isExactVersion tells whether a constraint is one version.
func isExactVersion(s string) bool {
	_, err := semver.StrictNewVersion(strings.TrimPrefix(s, "v"))
	return err == nil
}

// transport confines requests to a repository's host.
func (f *Fetcher) transport(host string) http.RoundTripper {
	var inner http.RoundTripper
	if f.Client != nil {
		inner = f.Client.Transport
	}
	return source.HostOnly{Host: host, Inner: inner}
}

// keychain gives the registry's credentials, anonymous without any.
func (f *Fetcher) keychain(repository string) authn.Keychain {
	return keychainFunc(func(authn.Resource) (authn.Authenticator, error) {
		if f.Credentials != nil {
			if c, ok := f.Credentials(repository); ok {
				return &authn.Basic{Username: c.Username, Password: c.Password}, nil
			}
		}
		return authn.Anonymous, nil
	})
}

type keychainFunc func(authn.Resource) (authn.Authenticator, error)

func (k keychainFunc) Resolve(r authn.Resource) (authn.Authenticator, error) { return k(r) }
