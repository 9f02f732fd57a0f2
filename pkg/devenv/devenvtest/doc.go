// Package devenvtest starts a dev environment (pkg/devenv) from a Go test
// and stops it when the test ends, so that integration and end-to-end tests
// run on real kube-apiservers. On failure it prints the tail of every
// process's log.
package devenvtest
