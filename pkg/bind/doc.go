// Package bind decides which WDS objects go to which WECs, with
// KubeStellar's semantics.
//
// The Resolver is pure: BindingPolicies, the WDS objects with their
// Namespaces' labels, and the WorkloadClusters of the ITS go in; one
// Binding spec per policy comes out, sorted, with no API server involved.
// The bind controller (Controller) keeps it fed from informers on the WDS
// and its ITS and writes each Binding and its policy's status (a Binding
// too large for one object in parts, see parts.go); the offline
// `gitstellar plan` calls the same resolver.
//
// What is never bound: the groups and resources KubeStellar never
// propagates (see NeverPropagated), gitstellar's own kinds and its
// gitstellar-system namespace, and the objects a control plane creates in
// every namespace (the ConfigMap kube-root-ca.crt, the ServiceAccount
// default).
package bind
