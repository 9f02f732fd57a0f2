package report

// Bindings, BindingPolicies and the Deliveries' status, watched: what the agents report.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindings;bindingpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=gitstellar.io,resources=deliveries,verbs=get;list;watch

// StatusCollectors, watched; their status written with server-side apply.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=statuscollectors,verbs=get;list;watch
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=statuscollectors/status,verbs=patch

// CombinedStatus objects, applied (with their status) and deleted when their policy no longer asks for them.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=combinedstatuses,verbs=get;list;watch;create;patch;delete

// Namespace kubestellar-report, which holds the CombinedStatuses of cluster-scoped objects.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;create;patch
