package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// StatusCollector says how the reported state of an object in many WECs is
// summarised, in the manner of an SQL SELECT with CEL expressions.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Cluster,shortName={sc}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type StatusCollector struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// +optional
	Spec StatusCollectorSpec `json:"spec,omitempty"`
	// +optional
	Status StatusCollectorStatus `json:"status,omitempty"`
}

// StatusCollectorSpec is the query. Select and CombinedFields are mutually
// exclusive.
//
// +kubebuilder:validation:XValidation:rule="!(has(self.select) && size(self.select) > 0 && has(self.combinedFields) && size(self.combinedFields) > 0)",message="select and combinedFields are mutually exclusive"
type StatusCollectorSpec struct {
	// Filter keeps only the WECs for which it is true; null counts as false.
	// Absent keeps every WEC.
	// +optional
	Filter *Expression `json:"filter,omitempty"`

	// GroupBy groups the rows by the values of these expressions.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	GroupBy []NamedExpression `json:"groupBy,omitempty"`

	// CombinedFields are aggregates computed per group.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	CombinedFields []NamedAggregator `json:"combinedFields,omitempty"`

	// Select lists expressions evaluated per WEC.
	// +optional
	// +kubebuilder:validation:MaxItems=32
	Select []NamedExpression `json:"select,omitempty"`

	// Limit is the largest number of rows in a result.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=0
	Limit int64 `json:"limit"`
}

// Expression is a CEL expression. Its variables are `obj` (the WDS object
// without status), `returned.status` (the WEC's status), `inventory.name`
// (the WEC's name) and `propagation.lastReturnedUpdateTimestamp`.
type Expression string

// NamedExpression is an expression with a column name.
type NamedExpression struct {
	// Name of the column.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Def is the expression.
	Def Expression `json:"def"`
}

// AggregatorType is a kind of aggregate.
// +kubebuilder:validation:Enum=COUNT;SUM;AVG;MIN;MAX
type AggregatorType string

// The aggregates.
const (
	AggregatorTypeCount AggregatorType = "COUNT"
	AggregatorTypeSum   AggregatorType = "SUM"
	AggregatorTypeAvg   AggregatorType = "AVG"
	AggregatorTypeMin   AggregatorType = "MIN"
	AggregatorTypeMax   AggregatorType = "MAX"
)

// NamedAggregator is an aggregate with a column name.
type NamedAggregator struct {
	// Name of the column.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Type of the aggregate.
	Type AggregatorType `json:"type"`
	// Subject is the aggregated expression; COUNT takes none.
	// +optional
	Subject *Expression `json:"subject,omitempty"`
}

// StatusCollectorStatus is the observed state of a StatusCollector.
type StatusCollectorStatus struct {
	// +optional
	ObservedGeneration int64 `json:"observedGeneration"`
	// Errors holds compile errors of the expressions.
	// +optional
	Errors []string `json:"errors,omitempty"`
}

// StatusCollectorList is a list of StatusCollectors.
//
// +kubebuilder:object:root=true
type StatusCollectorList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []StatusCollector `json:"items"`
}

func init() {
	SchemeBuilder.Register(&StatusCollector{}, &StatusCollectorList{})
}
