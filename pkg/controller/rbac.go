package controller

// The control objects of the repository, applied into the spaces with server-side apply and pruned when they leave Git (pkg/apply), and watched by the source's label so that an unchanged re-sync reads none of them.
// +kubebuilder:rbac:groups=gitstellar.io,resources=spaces;workloadclusters,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindingpolicies;customtransforms;statuscollectors,verbs=get;list;watch;create;patch;delete

// Each space's own Space object's status: Ready, Synced, lastAppliedRevision, observedGeneration.
// +kubebuilder:rbac:groups=gitstellar.io,resources=spaces/status,verbs=patch

// Namespace gitstellar-system (the inventories) and Namespaces from Git, applied first and waited for (kstatus lists them).
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;list;watch;create;patch

// The inventory of each source in each space, ConfigMap gitstellar-system/inventory.<source>.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;create;patch

// Events about each space's Space object (Synced, ApplyProblems, ApplyFailed, RenderFailed), in namespace default.
// +kubebuilder:rbac:groups="",resources=events,verbs=create

// Leader election (Lead, `gitstellar run --leader-elect`): one Lease in the hosting cluster; the chart puts this Role into --leader-election-namespace.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update,namespace=leader-election
