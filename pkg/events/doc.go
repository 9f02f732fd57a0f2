// Package events writes Kubernetes Events about gitstellar's objects
// (Space, BindingPolicy, WorkloadCluster) on state changes only: the same
// reason and message twice in a row for one object is one Event.
package events
