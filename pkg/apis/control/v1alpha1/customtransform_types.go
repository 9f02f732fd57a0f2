package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CustomTransform removes fields from the objects of one resource on their
// way to the WECs.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName={ct}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Group",type=string,JSONPath=`.spec.apiGroup`
// +kubebuilder:printcolumn:name="Resource",type=string,JSONPath=`.spec.resource`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CustomTransform struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec CustomTransformSpec `json:"spec,omitempty"`
	// +optional
	Status CustomTransformStatus `json:"status,omitempty"`
}

// CustomTransformSpec names a resource and what to remove from its objects.
type CustomTransformSpec struct {
	// APIGroup of the resource; "" is the core group.
	APIGroup string `json:"apiGroup"`
	// Resource is the lowercase plural name of the resource.
	// +kubebuilder:validation:MinLength=1
	Resource string `json:"resource"`
	// Remove lists JSONPath expressions of the fields to remove, such as
	// `$.spec.paused` or `$.metadata.labels["example.com/team"]`.
	// +optional
	Remove []string `json:"remove,omitempty"`
}

// CustomTransformStatus is the observed state of a CustomTransform.
type CustomTransformStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// +optional
	Errors []string `json:"errors,omitempty"`
	// +optional
	Warnings []string `json:"warnings,omitempty"`
}

// CustomTransformList is a list of CustomTransforms.
//
// +kubebuilder:object:root=true
type CustomTransformList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CustomTransform `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CustomTransform{}, &CustomTransformList{})
}
