package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// CombinedStatus holds the results of the StatusCollectors for one
// (workload object, BindingPolicy) pair. Its namespace is the object's
// namespace, or CombinedStatusNamespaceForClusterScoped for a
// cluster-scoped object; its name is `<workloadUID>.<bindingPolicyUID>`.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName={cs}
// +kubebuilder:printcolumn:name="Object",type=string,JSONPath=`.metadata.labels['status\.kubestellar\.io/name']`
// +kubebuilder:printcolumn:name="Policy",type=string,JSONPath=`.metadata.labels['status\.kubestellar\.io/binding-policy']`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type CombinedStatus struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Results holds one entry per StatusCollector.
	// +optional
	Results []NamedStatusCombination `json:"results,omitempty"`
}

// The namespace and labels of CombinedStatus objects.
const (
	CombinedStatusNamespaceForClusterScoped = "kubestellar-report"

	LabelCombinedStatusAPIGroup      = "status.kubestellar.io/api-group"
	LabelCombinedStatusResource      = "status.kubestellar.io/resource"
	LabelCombinedStatusNamespace     = "status.kubestellar.io/namespace"
	LabelCombinedStatusName          = "status.kubestellar.io/name"
	LabelCombinedStatusBindingPolicy = "status.kubestellar.io/binding-policy"
)

// NamedStatusCombination is the result of one StatusCollector.
type NamedStatusCombination struct {
	// Name of the StatusCollector.
	Name string `json:"name"`
	// ColumnNames names the columns of every row.
	ColumnNames []string `json:"columnNames"`
	// +optional
	Rows []StatusCombinationRow `json:"rows,omitempty"`
	// RowErrors are errors of evaluating an expression for one WEC.
	// +optional
	RowErrors []RowEvaluationError `json:"rowErrors,omitempty"`
	// AggregationErrors are errors of computing an aggregate.
	// +optional
	AggregationErrors []ErrorInColumn `json:"aggregationErrors,omitempty"`
}

// StatusCombinationRow is one row of a result.
type StatusCombinationRow struct {
	Columns []Value `json:"columns"`
}

// RowEvaluationError is an error of evaluating one column (ColumnName
// "": the filter) for one WEC: KubeStellar's shape, the WEC as a
// Destination.
type RowEvaluationError struct {
	WEC        Destination `json:"wec"`
	ColumnName string      `json:"columnName"`
	Error      string      `json:"error"`
}

// ErrorInColumn is an error of computing one column's aggregate.
type ErrorInColumn struct {
	ColumnName string `json:"columnName"`
	Error      string `json:"error"`
}

// ValueType is the type of a Value.
// +kubebuilder:validation:Enum=String;Number;Bool;Null;Object;Array
type ValueType string

// The value types.
const (
	TypeString ValueType = "String"
	TypeNumber ValueType = "Number"
	TypeBool   ValueType = "Bool"
	TypeNull   ValueType = "Null"
	TypeObject ValueType = "Object"
	TypeArray  ValueType = "Array"
)

// Value is a JSON value, tagged with its type.
type Value struct {
	Type ValueType `json:"type"`
	// +optional
	String *string `json:"string,omitempty"`
	// Float is a number, written as a JSON string.
	// +optional
	Float *string `json:"float,omitempty"`
	// +optional
	Bool *bool `json:"bool,omitempty"`
	// +optional
	Object *apiextensionsv1.JSON `json:"object,omitempty"`
	// +optional
	Array *apiextensionsv1.JSON `json:"array,omitempty"`
}

// CombinedStatusList is a list of CombinedStatuses.
//
// +kubebuilder:object:root=true
type CombinedStatusList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []CombinedStatus `json:"items"`
}

func init() {
	SchemeBuilder.Register(&CombinedStatus{}, &CombinedStatusList{})
}
