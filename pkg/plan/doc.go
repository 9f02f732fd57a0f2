// Package plan shows, without a cluster, what a change to the repository
// does to every WEC and every BindingPolicy: `gitstellar plan`.
//
// Both revisions are rendered (pkg/render), their Bindings resolved against
// the WorkloadClusters of the repository (or of a live ITS) with the
// controller's own resolver (pkg/bind), and every bound object transformed
// for each WEC with the controller's own transforms (pkg/propagate); the
// two landings are then compared per WEC and per policy.
//
// Data flow: source → render → bind → propagate → plan (instead of apply).
package plan
