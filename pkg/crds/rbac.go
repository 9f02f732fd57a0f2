package crds

// Install: read gitstellar's CRDs, apply them with server-side apply and wait until they are established.
// +kubebuilder:rbac:groups=apiextensions.k8s.io,resources=customresourcedefinitions,verbs=get;create;patch
