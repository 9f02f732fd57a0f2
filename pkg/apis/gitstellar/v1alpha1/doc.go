// Package v1alpha1 holds gitstellar's own API, group gitstellar.io, version
// v1alpha1:
//
//   - Space: a WDS or ITS and how to reach it;
//   - WorkloadCluster (short name wec): the inventory entry of a WEC in its
//     ITS, whose labels BindingPolicies select on;
//   - Delivery: the transport object, a batch of transformed objects bound
//     for one WEC, kept in that WEC's mailbox namespace in the ITS, with a
//     per-object status written back by the WEC's agent.
//
// The types hold data only.
//
// +kubebuilder:object:generate=true
// +groupName=gitstellar.io
package v1alpha1
