package v1alpha1

// Labels and annotations of KubeStellar's model that users put on, or find
// on, workload objects.
const (
	// LabelSingletonStatus marks a WDS object whose status is the reported
	// state of its one WEC.
	LabelSingletonStatus = "managed-by.kubestellar.io/singletonstatus"
	// LabelMultiWECStatus marks a WDS object whose status is the reported
	// state of its WECs, aggregated.
	LabelMultiWECStatus = "managed-by.kubestellar.io/multiwecstatus"
	// AnnotationExpandTemplates asks for Go template expansion of the
	// object's string values with the properties of each WEC.
	AnnotationExpandTemplates = "control.kubestellar.io/expand-templates"
	// AnnotationPreserve with value PreserveNodePort keeps a Service's
	// nodePorts on the way to a WEC.
	AnnotationPreserve = "control.kubestellar.io/preserve"
	// PreserveNodePort is the value of AnnotationPreserve that keeps nodePorts.
	PreserveNodePort = "nodeport"
)

// PropertiesNamespace holds, in an ITS, one ConfigMap of template
// properties per WEC, named like the WEC (KubeStellar's
// customization-properties).
const PropertiesNamespace = "customization-properties"
