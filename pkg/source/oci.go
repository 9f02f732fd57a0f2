package source

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// An OCI artifact as a source: the repository layout pushed as `flux push
// artifact` pushes it (one tar+gzip layer of the directory), followed by
// tag (oci://host/repo:tag) or pinned by digest (oci://host/repo@sha256:…).
// Each artifact is unpacked once, by its manifest digest, into the cache,
// through os.Root and within bounds, and read from there like a work tree.

// Flux's media types for an artifact; a single layer of another tar+gzip
// type is accepted too.
const (
	fluxContentMediaType types.MediaType = "application/vnd.cncf.flux.content.v1.tar+gzip"
)

// Bounds on an artifact's content: its compressed layer, what it unpacks
// to, and how many entries.
const (
	maxArtifactLayer   = 256 << 20
	maxArtifactContent = 512 << 20
	maxArtifactEntries = 100000
)

// IsOCI tells whether a source URL is an OCI artifact.
func IsOCI(url string) bool { return strings.HasPrefix(url, "oci://") }

// ociSource follows one OCI artifact reference.
type ociSource struct {
	ref       name.Reference
	dir       string
	auth      authn.Authenticator
	current   *Revision
	closeTree func() error
}

func newOCISource(opts Options) (*ociSource, error) {
	ref, err := name.ParseReference(strings.TrimPrefix(opts.URL, "oci://"))
	if err != nil {
		return nil, fmt.Errorf("OCI artifact %s: %v", opts.URL, err)
	}
	auth := authn.Anonymous
	switch {
	case opts.Credentials.Username != "":
		auth = &authn.Basic{Username: opts.Credentials.Username, Password: string(opts.Credentials.Password)}
	case len(opts.Credentials.Token) > 0:
		auth = &authn.Bearer{Token: string(opts.Credentials.Token)}
	}
	return &ociSource{ref: ref, auth: auth, dir: filepath.Join(opts.CacheDir, "oci")}, nil
}

// fetch resolves the reference to a manifest digest and, when it moved,
// unpacks that artifact.
func (o *ociSource) fetch(ctx context.Context) (*Revision, bool, error) {
	opts := []remote.Option{remote.WithContext(ctx), remote.WithAuth(o.auth), remote.WithTransport(HostOnly{Host: o.ref.Context().RegistryStr()})}
	desc, err := remote.Head(o.ref, opts...)
	if err != nil {
		return nil, false, fmt.Errorf("OCI artifact %s: %v", o.ref, err)
	}
	digest := desc.Digest.String()
	if o.current != nil && o.current.Commit == digest {
		return o.current, false, nil
	}
	img, err := remote.Image(o.ref.Context().Digest(digest), opts...)
	if err != nil {
		return nil, false, fmt.Errorf("OCI artifact %s: %v", o.ref, err)
	}
	manifest, err := img.Manifest()
	if err != nil {
		return nil, false, fmt.Errorf("OCI artifact %s: %v", o.ref, err)
	}
	layer, err := contentLayer(img, manifest)
	if err != nil {
		return nil, false, fmt.Errorf("OCI artifact %s: %v", o.ref, err)
	}
	dir := filepath.Join(o.dir, strings.ReplaceAll(digest, ":", "-"))
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err != nil {
		if err := unpack(layer, dir); err != nil {
			return nil, false, fmt.Errorf("OCI artifact %s: %v", o.ref, err)
		}
	}
	tree, closeTree, err := DirTree(filepath.Join(dir, "tree"))
	if err != nil {
		return nil, false, err
	}
	tree.Name = "artifact " + digest
	if o.closeTree != nil {
		_ = o.closeTree()
	}
	o.closeTree = closeTree
	ann := manifest.Annotations
	rev := &Revision{Commit: digest, Ref: o.ref.String(), Tree: tree, Message: artifactMessage(ann)}
	if t, err := time.Parse(time.RFC3339, ann["org.opencontainers.image.created"]); err == nil {
		rev.Time = t
	}
	o.current = rev
	return rev, true, nil
}

// artifactMessage says where an artifact comes from, from the
// annotations `flux push artifact` writes.
func artifactMessage(ann map[string]string) string {
	var parts []string
	if s := ann["org.opencontainers.image.source"]; s != "" {
		parts = append(parts, "source "+firstLine(s))
	}
	if r := ann["org.opencontainers.image.revision"]; r != "" {
		parts = append(parts, "revision "+firstLine(r))
	}
	return strings.Join(parts, ", ")
}

// contentLayer is the artifact's content: Flux's layer, or its only layer.
func contentLayer(img v1.Image, manifest *v1.Manifest) (v1.Layer, error) {
	var pick *v1.Descriptor
	for i := range manifest.Layers {
		if manifest.Layers[i].MediaType == fluxContentMediaType {
			pick = &manifest.Layers[i]
		}
	}
	if pick == nil && len(manifest.Layers) == 1 {
		pick = &manifest.Layers[0]
	}
	switch {
	case pick == nil:
		return nil, errors.New("no content layer (want one of media type " + string(fluxContentMediaType) + ")")
	case pick.Size > maxArtifactLayer:
		return nil, fmt.Errorf("the content layer is %d bytes, more than %d: refused", pick.Size, maxArtifactLayer)
	}
	return img.LayerByDigest(pick.Digest)
}

// unpack writes a tar+gzip layer into dir/tree through os.Root: regular
// files, directories and symbolic links only (links are followed by the
// tree reader, inside the tree only), within the bounds; dir/.complete
// marks it done.
func unpack(layer v1.Layer, dir string) error {
	_ = os.RemoveAll(dir)
	if err := os.MkdirAll(filepath.Join(dir, "tree"), 0o700); err != nil {
		return err
	}
	root, err := os.OpenRoot(filepath.Join(dir, "tree"))
	if err != nil {
		return err
	}
	defer root.Close()
	rc, err := layer.Compressed() // verified against its digest as it is read
	if err != nil {
		return err
	}
	defer rc.Close()
	gz, err := gzip.NewReader(io.LimitReader(rc, maxArtifactLayer+1))
	if err != nil {
		return fmt.Errorf("content: %v", err)
	}
	tr := tar.NewReader(gz)
	var total int64
	for entries := 0; ; entries++ {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return fmt.Errorf("content: %v", err)
		}
		if entries >= maxArtifactEntries {
			return fmt.Errorf("content: more than %d entries: refused", maxArtifactEntries)
		}
		clean := path.Clean(strings.TrimPrefix(h.Name, "./"))
		if clean == "." {
			continue
		}
		if !fs.ValidPath(clean) {
			return fmt.Errorf("content: entry %q leads outside the artifact: refused", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(clean, 0o700); err != nil {
				return err
			}
		case tar.TypeReg:
			total += h.Size
			if total > maxArtifactContent {
				return fmt.Errorf("content: more than %d bytes unpacked: refused", maxArtifactContent)
			}
			if err := root.MkdirAll(path.Dir(clean), 0o700); err != nil {
				return err
			}
			f, err := root.OpenFile(clean, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, io.LimitReader(tr, h.Size))
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := root.MkdirAll(path.Dir(clean), 0o700); err != nil {
				return err
			}
			if err := root.Symlink(h.Linkname, clean); err != nil {
				return err
			}
		default:
			return fmt.Errorf("content: entry %q is neither a file, a directory nor a symbolic link: refused", h.Name)
		}
	}
	return os.WriteFile(filepath.Join(dir, ".complete"), nil, 0o600)
}
