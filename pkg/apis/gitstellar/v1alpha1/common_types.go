package v1alpha1

// KubeconfigSource says how to reach an API server. With neither field set,
// the kubeconfig context named like the object is used.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.context) && has(self.secretRef))",message="set context or secretRef, not both"
type KubeconfigSource struct {
	// Context is the name of a context in the controller's kubeconfig.
	// +optional
	// +kubebuilder:validation:MinLength=1
	Context string `json:"context,omitempty"`

	// SecretRef names a Secret holding a kubeconfig, for a controller that
	// runs in a cluster.
	// +optional
	SecretRef *SecretKeyReference `json:"secretRef,omitempty"`
}

// SecretKeyReference names one key of a Secret.
type SecretKeyReference struct {
	// Namespace of the Secret.
	// +kubebuilder:validation:MinLength=1
	Namespace string `json:"namespace"`
	// Name of the Secret.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Key in the Secret's data; default "kubeconfig".
	// +optional
	// +kubebuilder:default=kubeconfig
	Key string `json:"key,omitempty"`
}
