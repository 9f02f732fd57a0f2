// Package k8sbinaries finds, or builds once, the Kubernetes programs that
// gitstellar's local spaces and WECs run: etcd, kube-apiserver,
// kube-controller-manager, kube-scheduler and the kwok node simulator.
//
// A binary is taken from $KUBEBUILDER_ASSETS, then from $PATH, then from a
// per-version cache outside the repository
// (${XDG_CACHE_HOME:-~/.cache}/gitstellar/k8s/<version>/). When it is in none
// of them it is built from the Go module proxy with a throw-away wrapper
// module (k8s.io/kubernetes and etcd cannot be `go install`ed because of their
// replace directives), printing a progress line while it builds. Builds are
// serialised by a lock file, so parallel test processes build each binary
// once.
//
// The package does not start anything; pkg/devenv does.
package k8sbinaries
