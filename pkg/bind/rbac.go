package bind

// The BindingPolicies of a WDS, watched; their status written with server-side apply.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindingpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindingpolicies/status,verbs=patch

// One Binding per BindingPolicy, applied; Bindings whose policy is gone are deleted.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindings,verbs=get;list;watch;create;patch;delete

// The inventory of WECs in the ITS.
// +kubebuilder:rbac:groups=gitstellar.io,resources=workloadclusters,verbs=get;list;watch

// CRDs of the WDS, watched to discover new resources to bind.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;list;watch

// Events about BindingPolicies (Bound, BindingFailed), in namespace default of the WDS.
// +kubebuilder:rbac:groups="",resources=events,verbs=create
