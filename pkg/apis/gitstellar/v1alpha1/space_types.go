package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// SpaceType is the role of a Space.
// +kubebuilder:validation:Enum=WDS;ITS
type SpaceType string

// The space types.
const (
	// SpaceTypeWDS is a Workload Description Space: workloads in their
	// native form and the control objects that say where they go.
	SpaceTypeWDS SpaceType = "WDS"
	// SpaceTypeITS is an Inventory and Transport Space: the inventory of
	// WECs and one mailbox namespace per WEC.
	SpaceTypeITS SpaceType = "ITS"
)

// Space is a Kubernetes API server that holds no workloads of its own: a WDS
// or an ITS. The repository declares its Spaces; the object's name is the
// space's name.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Type",type=string,JSONPath=`.spec.type`
// +kubebuilder:printcolumn:name="ITS",type=string,JSONPath=`.spec.its`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Space struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec SpaceSpec `json:"spec"`
	// +optional
	Status SpaceStatus `json:"status,omitempty"`
}

// SpaceSpec is the role of a space and how to reach it.
//
// +kubebuilder:validation:XValidation:rule="self.type != 'WDS' || (has(self.its) && size(self.its) > 0)",message="a WDS must name its ITS in spec.its"
// +kubebuilder:validation:XValidation:rule="self.type != 'ITS' || !has(self.its)",message="spec.its is only for a WDS"
type SpaceSpec struct {
	// Type is WDS or ITS.
	Type SpaceType `json:"type"`

	// ITS names the ITS Space of a WDS: the inventory its BindingPolicies
	// select from and the transport its workloads travel through.
	// +optional
	ITS string `json:"its,omitempty"`

	// Kubeconfig says how to reach the space. Absent: the kubeconfig
	// context named like the space.
	// +optional
	Kubeconfig *KubeconfigSource `json:"kubeconfig,omitempty"`
}

// SpaceStatus is the observed state of a Space.
type SpaceStatus struct {
	// Conditions: Ready (reachable, CRDs installed) and Synced (True,
	// reason Applied, when every object of the revision is applied; False
	// with reason ApplyProblems, ApplyFailed or RenderFailed and the
	// revision in the message otherwise).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// ObservedGeneration is the generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// LastAppliedRevision is the source commit last applied to the space:
	// the newest one that changed what the space holds (or the first a
	// controller applied after it started). A commit that renders the
	// space exactly as the one before writes nothing into the space, this
	// status included.
	// +optional
	LastAppliedRevision string `json:"lastAppliedRevision,omitempty"`
}

// SpaceList is a list of Spaces.
//
// +kubebuilder:object:root=true
type SpaceList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Space `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Space{}, &SpaceList{})
}
