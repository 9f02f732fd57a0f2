// Package chartrepo fetches packaged Helm charts from chart repositories
// (an HTTP(S) index.yaml and the archives it lists) and from OCI
// registries (oci://host/path, charts pushed as `helm push` does) at a
// pinned version, a version range or (OCI) a manifest digest, verifies
// each archive against the digest its index or manifest gives, and keeps
// it in a cache keyed by that digest. Offline, it serves
// only what the cache holds, and says so when a chart is not there.
//
// Only the repository a declaration names is contacted: an index listing
// an archive on another host, a redirect or a registry's token realm
// elsewhere are refused. Indexes and archives are read
// within size bounds; credentials are sent to the repository's host only
// and never appear in errors.
package chartrepo
