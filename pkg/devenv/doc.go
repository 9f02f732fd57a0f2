// Package devenv runs real local spaces and WECs: one etcd and one
// kube-apiserver per space (its1, wds1, cluster1..clusterN; or the spaces a
// repository declares, see ReadLayout), each apiserver with an etcd prefix
// of its own, on loopback ports picked free. Unless bare, each
// WEC also runs kube-controller-manager, kube-scheduler and the kwok node
// simulator with a few fake nodes, so that a Deployment really gets Pods and
// becomes Available; the hub spaces run a kube-controller-manager with only
// the garbage collector and the namespace controller, so that owner
// references and namespace deletion behave as in a real control plane.
//
// The processes run in the background; their pid files, logs, certificates,
// etcd data and a kubeconfig with one context per space live in a state
// directory. Up is idempotent: it reports the running environment and
// restarts any process that died; given a layout, it also adds the spaces
// the layout declares since, and prunes those it no longer declares when
// asked. Down stops exactly the processes whose pid files it holds and
// removes the state.
//
// It is the engine of `gitstellar dev`; tests use it through
// pkg/devenv/devenvtest. It is not meant for production.
package devenv
