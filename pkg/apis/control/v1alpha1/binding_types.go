package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Binding is the resolved form of the BindingPolicy of the same name: the
// exact objects and the exact WECs. The policy is its controller owner.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName={bdg}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Binding struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec BindingSpec `json:"spec,omitempty"`
	// +optional
	Status BindingStatus `json:"status,omitempty"`
}

// BindingSpec lists the bound objects and the WECs they go to.
type BindingSpec struct {
	// Workload is the set of bound objects, with the modulation of each.
	// +optional
	Workload DownsyncObjectClauses `json:"workload,omitempty"`

	// Destinations are the selected WECs.
	// +optional
	// +listType=map
	// +listMapKey=clusterId
	Destinations []Destination `json:"destinations,omitempty"`
}

// DownsyncObjectClauses lists bound objects by scope: map lists keyed by
// the object's identity (its group, resource, namespace and name; not its
// version), as KubeStellar's CRD has them.
type DownsyncObjectClauses struct {
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	// +listMapKey=name
	ClusterScope []ClusterScopeDownsyncClause `json:"clusterScope,omitempty"`
	// +optional
	// +listType=map
	// +listMapKey=group
	// +listMapKey=resource
	// +listMapKey=namespace
	// +listMapKey=name
	NamespaceScope []NamespaceScopeDownsyncClause `json:"namespaceScope,omitempty"`
}

// ClusterScopeDownsyncClause is one bound cluster-scoped object.
type ClusterScopeDownsyncClause struct {
	ClusterScopeDownsyncObject `json:",inline"`
	DownsyncModulation         `json:",inline"`
}

// NamespaceScopeDownsyncClause is one bound namespaced object.
type NamespaceScopeDownsyncClause struct {
	NamespaceScopeDownsyncObject `json:",inline"`
	DownsyncModulation           `json:",inline"`
}

// ClusterScopeDownsyncObject identifies a cluster-scoped object.
type ClusterScopeDownsyncObject struct {
	metav1.GroupVersionResource `json:",inline"`
	// Name of the object.
	Name string `json:"name"`
	// ResourceVersion of the object in the WDS when it was bound.
	// +required
	ResourceVersion string `json:"resourceVersion"`
}

// NamespaceScopeDownsyncObject identifies a namespaced object.
type NamespaceScopeDownsyncObject struct {
	metav1.GroupVersionResource `json:",inline"`
	// Namespace of the object.
	Namespace string `json:"namespace"`
	// Name of the object.
	Name string `json:"name"`
	// ResourceVersion of the object in the WDS when it was bound.
	// +required
	ResourceVersion string `json:"resourceVersion"`
}

// Destination is a selected WEC.
type Destination struct {
	// ClusterId is the name of the WEC's inventory object.
	// +required
	ClusterId string `json:"clusterId"` //nolint:revive // KubeStellar's field name.
}

// BindingStatus is the observed state of a Binding.
type BindingStatus struct {
	// +optional
	Conditions []BindingPolicyCondition `json:"conditions"`
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// +optional
	Errors []string `json:"errors,omitempty"`
}

// BindingList is a list of Bindings.
//
// +kubebuilder:object:root=true
type BindingList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Binding `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Binding{}, &BindingList{})
}
