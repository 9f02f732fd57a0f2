package propagate

// The Bindings, CustomTransforms and StatusCollectors of a WDS, watched; the Bindings' status written with server-side apply.
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindings;customtransforms;statuscollectors,verbs=get;list;watch
// +kubebuilder:rbac:groups=control.kubestellar.io,resources=bindings/status,verbs=patch

// The WECs of the ITS, watched, and their status (Ready, agent version, last heartbeat) written by the ClusterMonitor.
// +kubebuilder:rbac:groups=gitstellar.io,resources=workloadclusters,verbs=get;list;watch
// +kubebuilder:rbac:groups=gitstellar.io,resources=workloadclusters/status,verbs=patch

// The template properties of the WECs: ConfigMaps in namespace customization-properties of the ITS.
// +kubebuilder:rbac:groups="",resources=configmaps,verbs=get;list;watch

// The mailbox namespaces mailbox-<wec> in the ITS, applied.
// +kubebuilder:rbac:groups="",resources=namespaces,verbs=get;create;patch

// Deliveries, written into the mailboxes and deleted when nothing asks for them; their status written by the agents run in-process.
// +kubebuilder:rbac:groups=gitstellar.io,resources=deliveries,verbs=get;list;watch;create;patch;delete
// +kubebuilder:rbac:groups=gitstellar.io,resources=deliveries/status,verbs=patch

// The agents' heartbeat Leases in the mailboxes: watched by the ClusterMonitor, applied by the agents run in-process.
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;list;watch;create;patch

// Events about WorkloadClusters (Ready changes), in namespace default of the ITS.
// +kubebuilder:rbac:groups="",resources=events,verbs=create

// The agent's identity in each mailbox (ServiceAccount, Role and RoleBinding gitstellar-agent), made by the ClusterMonitor; the Role grants only AgentRules, which this role holds too.
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;create;patch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;create;patch
