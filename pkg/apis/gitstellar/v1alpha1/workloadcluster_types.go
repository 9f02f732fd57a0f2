package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// WorkloadCluster is the inventory entry of a WEC (Workload Execution
// Cluster) in its ITS. Its labels are what BindingPolicies' cluster
// selectors match; its name is the WEC's name (a BindingPolicy destination's
// clusterId) and determines its mailbox namespace (MailboxNamespace).
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName={wec}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="ITS",type=string,JSONPath=`.spec.its`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
// +kubebuilder:validation:XValidation:rule="self.metadata.name.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$') && size(self.metadata.name) <= 55",message="a WorkloadCluster's name must be a DNS label of at most 55 characters (its mailbox namespace is mailbox-<name>)"
type WorkloadCluster struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec WorkloadClusterSpec `json:"spec"`
	// +optional
	Status WorkloadClusterStatus `json:"status,omitempty"`
}

// WorkloadClusterSpec places a WEC in an ITS and says who runs its agent.
type WorkloadClusterSpec struct {
	// ITS names the ITS Space whose inventory holds this WEC.
	// +kubebuilder:validation:MinLength=1
	ITS string `json:"its"`

	// Kubeconfig, when present, says how the controller reaches the WEC; the
	// controller then runs the WEC's agent itself. Absent: an agent runs
	// inside the WEC and reaches out to the ITS.
	// +optional
	Kubeconfig *KubeconfigSource `json:"kubeconfig,omitempty"`
}

// WorkloadClusterStatus is what the WEC's agent reports.
type WorkloadClusterStatus struct {
	// Conditions: Ready (the agent is connected and applying).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// AgentVersion is the version of the agent serving the WEC.
	// +optional
	AgentVersion string `json:"agentVersion,omitempty"`
	// LastHeartbeatTime is when the agent last renewed its Lease, as of
	// the last status write: refreshed at least every 5 minutes and
	// whenever Ready changes. The Lease gitstellar-agent in the mailbox
	// has the latest renewal.
	// +optional
	LastHeartbeatTime *metav1.Time `json:"lastHeartbeatTime,omitempty"`
}

// WorkloadClusterList is a list of WorkloadClusters.
//
// +kubebuilder:object:root=true
type WorkloadClusterList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []WorkloadCluster `json:"items"`
}

func init() {
	SchemeBuilder.Register(&WorkloadCluster{}, &WorkloadClusterList{})
}
