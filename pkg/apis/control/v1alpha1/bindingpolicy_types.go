package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BindingPolicy says which objects of a WDS go to which WECs: the objects
// matched by any of its downsync clauses are bound to every WEC whose
// inventory object matches any of its cluster selectors.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName={bp}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Synced",type=string,JSONPath=`.status.conditions[?(@.type=="Synced")].status`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BindingPolicy struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec BindingPolicySpec `json:"spec,omitempty"`
	// +optional
	Status BindingPolicyStatus `json:"status,omitempty"`
}

// BindingPolicySpec selects WECs and workload objects.
type BindingPolicySpec struct {
	// ClusterSelectors select the WECs by the labels of their inventory
	// objects: a WEC is selected when any selector matches. An empty list
	// selects no WEC.
	// +optional
	ClusterSelectors []metav1.LabelSelector `json:"clusterSelectors,omitempty"`

	// Downsync selects the workload objects: an object is selected when it
	// matches at least one clause.
	// +optional
	Downsync []DownsyncPolicyClause `json:"downsync,omitempty"`
}

// DownsyncPolicyClause is an object test plus the modulation that applies to
// the objects passing it. It tests at least one thing, as KubeStellar's
// CRD requires: a clause of modulation alone would bind every object of
// the WDS.
//
// +kubebuilder:validation:XValidation:rule="has(self.apiGroup) || has(self.resources) || has(self.namespaces) || has(self.namespaceSelectors) || has(self.objectSelectors) || has(self.objectNames)",message="a downsync clause needs at least one object test (apiGroup, resources, namespaces, namespaceSelectors, objectSelectors or objectNames): without one it would bind every object of the WDS"
type DownsyncPolicyClause struct {
	DownsyncObjectTest `json:",inline"`
	DownsyncModulation `json:",inline"`
}

// DownsyncObjectTest is a test of an object: every field present must pass.
type DownsyncObjectTest struct {
	// APIGroup of the object: absent means any group, "" means the core group.
	// +optional
	APIGroup *string `json:"apiGroup,omitempty"`

	// Resources are lowercase plural resource names; "*" matches any.
	// Absent means any resource.
	// +optional
	Resources []string `json:"resources,omitempty"`

	// Namespaces the object may be in; "*" matches any namespace and is the
	// only entry that matches a cluster-scoped object. Absent means any.
	// +optional
	Namespaces []string `json:"namespaces,omitempty"`

	// NamespaceSelectors select by the labels of the object's Namespace; any
	// may match. A cluster-scoped object passes only an empty selector ({}).
	// +optional
	NamespaceSelectors []metav1.LabelSelector `json:"namespaceSelectors,omitempty"`

	// ObjectSelectors select by the object's own labels; any may match.
	// +optional
	ObjectSelectors []metav1.LabelSelector `json:"objectSelectors,omitempty"`

	// ObjectNames the object may have; "*" matches any name.
	// +optional
	ObjectNames []string `json:"objectNames,omitempty"`
}

// DownsyncModulation says how a bound object is treated.
type DownsyncModulation struct {
	// CreateOnly: create the object in the WEC if it is absent, and never
	// update it after that.
	// +optional
	CreateOnly bool `json:"createOnly,omitempty"`

	// StatusCollectors names the StatusCollectors that summarise the
	// object's reported state.
	// +optional
	StatusCollectors []string `json:"statusCollectors,omitempty"`

	// WantSingletonReportedState asks for the status of the one selected WEC
	// to be written into the WDS object.
	// +optional
	WantSingletonReportedState bool `json:"wantSingletonReportedState,omitempty"`

	// WantMultiWECReportedState asks for an aggregated status of all
	// selected WECs to be written into the WDS object.
	// +optional
	WantMultiWECReportedState bool `json:"wantMultiWECReportedState,omitempty"`
}

// BindingPolicyStatus is the observed state of a BindingPolicy.
type BindingPolicyStatus struct {
	// +optional
	Conditions []BindingPolicyCondition `json:"conditions"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// +optional
	Errors []string `json:"errors,omitempty"`
}

// BindingPolicyList is a list of BindingPolicies.
//
// +kubebuilder:object:root=true
type BindingPolicyList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BindingPolicy `json:"items"`
}

func init() {
	SchemeBuilder.Register(&BindingPolicy{}, &BindingPolicyList{})
}
