// Package bind resolves BindingPolicies against the objects of a WDS and the
// WorkloadClusters of its ITS into Bindings, with KubeStellar's semantics:
// a pure resolver (also used offline by `gitstellar plan`) and the
// controller that keeps each policy's Binding up to date.
//
// Not implemented yet: the package only reserves its place in the data flow
// source → render → apply → bind → propagate → report.
package bind
