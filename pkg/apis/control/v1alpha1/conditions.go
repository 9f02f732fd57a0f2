package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ConditionType names a condition of a BindingPolicy or Binding.
type ConditionType string

// The condition types KubeStellar sets.
const (
	TypeReady                     ConditionType = "Ready"
	TypeSynced                    ConditionType = "Synced"
	TypeStatusCollectorsAvailable ConditionType = "StatusCollectorsAvailable"
)

// ConditionReason is the machine-readable reason of a condition.
type ConditionReason string

// The condition reasons KubeStellar sets.
const (
	ReasonAvailable        ConditionReason = "Available"
	ReasonUnavailable      ConditionReason = "Unavailable"
	ReasonReconcileSuccess ConditionReason = "ReconcileSuccess"
	ReasonReconcilePaused  ConditionReason = "ReconcilePaused"
	ReasonReconcileError   ConditionReason = "ReconcileError"
)

// BindingPolicyCondition describes the state of a BindingPolicy or Binding
// at a certain point. It has KubeStellar's shape (v0.30.0), which differs
// from metav1.Condition (no observedGeneration): type, status,
// lastTransitionTime, reason and message, all required.
type BindingPolicyCondition struct {
	// Type of the condition.
	// +required
	Type ConditionType `json:"type"`
	// Status of the condition, one of True, False, Unknown.
	// +required
	// +kubebuilder:validation:Enum=True;False;Unknown
	Status corev1.ConditionStatus `json:"status"`
	// Last time the condition transitioned from one status to another.
	// +required
	LastTransitionTime metav1.Time `json:"lastTransitionTime"`
	// The reason for the condition's last transition.
	// +required
	Reason ConditionReason `json:"reason"`
	// A human readable message indicating details about the transition.
	// +required
	Message string `json:"message"`
}

// ReasonWaitingForWECs says a Binding's Deliveries are written and not
// every WEC has applied them yet (a gitstellar reason: KubeStellar's
// Binding has no Ready condition to give one).
const ReasonWaitingForWECs ConditionReason = "WaitingForWECs"

// NewConditions is conds with c set in place of the condition of its type,
// as KubeStellar keeps them: the last transition time moves only when the
// status does (KubeStellar dropped the last update time in v0.25). The
// second result tells whether anything changed: status, reason or
// message.
func NewConditions(conds []BindingPolicyCondition, c BindingPolicyCondition, now metav1.Time) ([]BindingPolicyCondition, bool) {
	c.LastTransitionTime = now
	for i, old := range conds {
		if old.Type != c.Type {
			continue
		}
		if old.Status == c.Status {
			c.LastTransitionTime = old.LastTransitionTime
			if old.Reason == c.Reason && old.Message == c.Message {
				return conds, false
			}
		}
		out := append([]BindingPolicyCondition(nil), conds...)
		out[i] = c
		return out, true
	}
	return append(append([]BindingPolicyCondition(nil), conds...), c), true
}

// FindCondition is the condition of a type in conds, or nil.
func FindCondition(conds []BindingPolicyCondition, t ConditionType) *BindingPolicyCondition {
	for i := range conds {
		if conds[i].Type == t {
			return &conds[i]
		}
	}
	return nil
}
