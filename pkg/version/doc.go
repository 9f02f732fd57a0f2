// Package version reports the version and commit gitstellar was built from.
// The Makefile sets them with -ldflags -X; a plain `go build` falls back to
// the module's build information.
package version
