// Package v1alpha1 holds the Go types of KubeStellar's control API,
// group control.kubestellar.io, version v1alpha1: BindingPolicy, Binding,
// CustomTransform, StatusCollector and CombinedStatus.
//
// The types are wire-compatible with KubeStellar: field names, JSON tags,
// scopes and short names are KubeStellar's, so that a BindingPolicy,
// CustomTransform or StatusCollector written for KubeStellar works unchanged.
// They hold data only; the behaviour lives in pkg/bind, pkg/propagate and
// pkg/report.
//
// +kubebuilder:object:generate=true
// +groupName=control.kubestellar.io
package v1alpha1
