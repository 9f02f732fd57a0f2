// Package chartrepo fetches packaged Helm charts from chart repositories
// (an HTTP(S) index.yaml and the archives it lists) at a pinned version or
// a version range, verifies each archive against the digest its index
// gives, and keeps it in a cache keyed by that digest. Offline, it serves
// only what the cache holds, and says so when a chart is not there.
//
// Only the repository a declaration names is contacted: an index listing
// an archive on another host is refused. Indexes and archives are read
// within size bounds; credentials are sent to the repository's host only
// and never appear in errors.
package chartrepo
