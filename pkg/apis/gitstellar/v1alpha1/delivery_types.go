package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Delivery is the transport object: a batch of objects, already transformed
// for one WEC, that one Binding of one WDS sends to that WEC. It lives in
// the WEC's mailbox namespace in the ITS. The hub writes its spec; the WEC's
// agent applies the entries and writes the result of each into its status.
//
// A Binding's objects for one WEC may be split over several Deliveries (see
// DeliverySpec.Part) so that each stays well under etcd's size limit.
//
// +kubebuilder:object:root=true
// +kubebuilder:resource:scope=Namespaced,shortName={dlv}
// +kubebuilder:subresource:status
// +kubebuilder:printcolumn:name="WDS",type=string,JSONPath=`.spec.source.wds`
// +kubebuilder:printcolumn:name="Binding",type=string,JSONPath=`.spec.source.binding`
// +kubebuilder:printcolumn:name="Applied",type=string,JSONPath=`.status.conditions[?(@.type=="Applied")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type Delivery struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec DeliverySpec `json:"spec"`
	// +optional
	Status DeliveryStatus `json:"status,omitempty"`
}

// DeliverySpec is what the hub asks the WEC's agent to hold.
type DeliverySpec struct {
	// Source says which WDS and Binding the entries come from.
	Source DeliverySource `json:"source"`

	// Part numbers this Delivery among the Parts that carry one Binding's
	// objects to one WEC, from 0.
	// +optional
	// +kubebuilder:validation:Minimum=0
	Part int32 `json:"part,omitempty"`
	// Parts is, on part 0, how many Deliveries carry the Binding's objects
	// to the WEC (the other parts leave it out, so that a new count
	// rewrites none of them).
	// +optional
	// +kubebuilder:validation:Minimum=1
	Parts int32 `json:"parts,omitempty"`

	// Payload carries the entries: the JSON list of DeliveryEntry,
	// gzip-compressed. The ITS stores it as one opaque value, so that
	// writing a Delivery costs it little more than its compressed size,
	// whatever the objects inside.
	// +optional
	Payload []byte `json:"payload,omitempty"`

	// Entries are the objects, each as it is to be applied in the WEC, as
	// Deliveries written before Payload carried them; read only when
	// Payload is empty.
	// +optional
	Entries []DeliveryEntry `json:"entries,omitempty"`

	// Removed lists, in part 0 only, the objects the hub took out of this
	// Binding's Deliveries to the WEC and the agent has not acknowledged
	// yet (status.observedGeneration below the removal's generation). The
	// agent deletes a WEC object it created only when the object is listed
	// here and delivered by no entry: an object merely missing from the
	// Deliveries (one deleted by hand, not yet written, or not synced) is
	// never deleted. A part 0 with no entries and only removals is a
	// tombstone: the Binding, or this WEC's place in it, is gone, and the
	// hub deletes it once the agent has acknowledged it.
	// +optional
	// +listType=atomic
	Removed []DeliveryRemoval `json:"removed,omitempty"`
}

// DeliveryRemoval is an object the hub removed from a Binding's
// Deliveries to a WEC.
type DeliveryRemoval struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// Generation is the generation of part 0 that first listed the
	// removal; the agent acknowledges it by reaching it in
	// status.observedGeneration.
	Generation int64 `json:"generation"`
}

// Key is the removed object's key: group/kind/namespace/name.
func (r DeliveryRemoval) Key() string {
	return r.Group + "/" + r.Kind + "/" + r.Namespace + "/" + r.Name
}

// DeliverySource identifies where a Delivery's entries come from.
type DeliverySource struct {
	// WDS is the name of the WDS Space.
	// +kubebuilder:validation:MinLength=1
	WDS string `json:"wds"`
	// Binding is the name of the Binding (and of its BindingPolicy).
	// +kubebuilder:validation:MinLength=1
	Binding string `json:"binding"`
	// Revision is the source commit the WDS objects were last applied from,
	// when known.
	// +optional
	Revision string `json:"revision,omitempty"`
}

// DeliveryEntry is one object for the WEC.
type DeliveryEntry struct {
	// Object is the transformed object, a full Kubernetes object.
	// +kubebuilder:pruning:PreserveUnknownFields
	// +kubebuilder:validation:EmbeddedResource
	Object runtime.RawExtension `json:"object"`

	// CreateOnly: create the object if it is absent; never update it.
	// +optional
	CreateOnly bool `json:"createOnly,omitempty"`

	// Adopt allows the agent to take over an object that already exists in
	// the WEC and was not created by it.
	// +optional
	Adopt bool `json:"adopt,omitempty"`

	// AdoptUnmanaged allows the agent to take over an object that already
	// exists in the WEC and was not created by it, unless another GitOps
	// tool (Flux, Argo CD) manages it: KubeStellar's takeover, asked for
	// by the BindingPolicy.
	// +optional
	AdoptUnmanaged bool `json:"adoptUnmanaged,omitempty"`

	// Orphan leaves the object in the WEC when the entry goes away.
	// +optional
	Orphan bool `json:"orphan,omitempty"`

	// ReturnStatus asks the agent to copy the WEC object's .status into the
	// entry's status.
	// +optional
	ReturnStatus bool `json:"returnStatus,omitempty"`
}

// DeliveryResult is the outcome of applying one entry.
// +kubebuilder:validation:Enum=Pending;Applied;Conflict;Error
type DeliveryResult string

// The outcomes of applying an entry.
const (
	// DeliveryPending: not applied yet.
	DeliveryPending DeliveryResult = "Pending"
	// DeliveryApplied: the WEC object matches the entry.
	DeliveryApplied DeliveryResult = "Applied"
	// DeliveryConflict: another field manager or tool owns the object or
	// some of its fields; the agent left it alone.
	DeliveryConflict DeliveryResult = "Conflict"
	// DeliveryError: the WEC refused the object or could not be reached.
	DeliveryError DeliveryResult = "Error"
)

// The reasons of a Delivery's Applied condition.
const (
	ReasonApplied     = "Applied"
	ReasonNotApplied  = "NotApplied"
	ReasonUnreachable = "Unreachable" // the agent cannot reach its WEC
)

// DeliveryStatus is what the WEC's agent reports.
type DeliveryStatus struct {
	// ObservedGeneration is the generation of the spec the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Conditions: Applied (every entry applied).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Entries has one element per spec entry, in the same order.
	// +optional
	Entries []DeliveryEntryStatus `json:"entries,omitempty"`
}

// DeliveryEntryStatus is the state of one entry's object in the WEC.
type DeliveryEntryStatus struct {
	// +optional
	Group string `json:"group,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Version string `json:"version"`
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`

	// Result of the last apply.
	Result DeliveryResult `json:"result"`
	// Message explains an error or a conflict.
	// +optional
	Message string `json:"message,omitempty"`
	// ConflictManager is the field manager or tool that owns the object
	// when Result is Conflict.
	// +optional
	ConflictManager string `json:"conflictManager,omitempty"`
	// ResourceVersion of the object in the WEC after the last apply.
	// +optional
	ResourceVersion string `json:"resourceVersion,omitempty"`
	// Health is the WEC object's kstatus: Current (ready), InProgress,
	// Failed, Terminating or Unknown; set once the object is applied.
	// +optional
	Health string `json:"health,omitempty"`
	// HealthMessage explains a Health other than Current.
	// +optional
	HealthMessage string `json:"healthMessage,omitempty"`
	// ContestedBy lists the other WDSes' sources ("wds/binding") that
	// deliver the same object to this WEC. This entry, delivered first,
	// keeps it; theirs are reported as conflicts.
	// +optional
	ContestedBy []string `json:"contestedBy,omitempty"`
	// ReturnedStatus is the WEC object's .status, when the entry asks for it.
	// +optional
	// +kubebuilder:pruning:PreserveUnknownFields
	ReturnedStatus *runtime.RawExtension `json:"returnedStatus,omitempty"`
	// LastUpdateTime is when the agent last changed this entry's status.
	// +optional
	LastUpdateTime *metav1.Time `json:"lastUpdateTime,omitempty"`
}

// DeliveryList is a list of Deliveries.
//
// +kubebuilder:object:root=true
type DeliveryList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []Delivery `json:"items"`
}

func init() {
	SchemeBuilder.Register(&Delivery{}, &DeliveryList{})
}
