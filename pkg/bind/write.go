package bind

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/events"
)

// writeBinding applies part n of the policy's Binding (of parts): named
// like the policy for part 0 (BindingPartName), the policy as its
// controller owner.
func (c *Controller) writeBinding(ctx context.Context, bp *controlv1alpha1.BindingPolicy, n, parts int, spec controlv1alpha1.BindingSpec) error {
	specMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&spec)
	if err != nil {
		return err
	}
	name := gitstellarv1alpha1.BindingPartName(bp.Name, n)
	labels := map[string]any{gitstellarv1alpha1.LabelManagedBy: gitstellarv1alpha1.ManagedByValue}
	if n > 0 {
		labels[gitstellarv1alpha1.LabelBindingPolicy] = bp.Name
	}
	annotations := map[string]any{}
	if n == 0 && parts > 1 {
		annotations[gitstellarv1alpha1.AnnotationBindingParts] = strconv.Itoa(parts)
	}
	metadata := map[string]any{
		"name":   name,
		"labels": labels,
		"ownerReferences": []any{map[string]any{
			"apiVersion": controlv1alpha1.GroupVersion.String(),
			"kind":       "BindingPolicy",
			"name":       bp.Name,
			"uid":        string(bp.UID),
			"controller": true,
		}},
	}
	if orphans(bp) {
		annotations[gitstellarv1alpha1.AnnotationDeletion] = gitstellarv1alpha1.DeletionOrphan
	}
	if adoptsUnmanaged(bp) {
		annotations[gitstellarv1alpha1.AnnotationAdopt] = gitstellarv1alpha1.AdoptUnmanaged
	}
	if len(annotations) > 0 {
		metadata["annotations"] = annotations
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": controlv1alpha1.GroupVersion.String(),
		"kind":       "Binding",
		"metadata":   metadata,
		"spec":       specMap,
	}}
	_, err = c.wds.Resource(Bindings).Apply(ctx, name, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true})
	return err
}

// orphans tells whether a policy keeps the WEC copies of what it unbinds
// (annotation gitstellar.io/deletion: orphan); its Binding carries the
// annotation to the transport.
func orphans(bp *controlv1alpha1.BindingPolicy) bool {
	return bp.Annotations[gitstellarv1alpha1.AnnotationDeletion] == gitstellarv1alpha1.DeletionOrphan
}

// bindingMarks are the annotations a policy's Binding carries from it.
type bindingMarks struct{ orphan, adoptUnmanaged bool }

func marksOf(bp *controlv1alpha1.BindingPolicy) bindingMarks {
	return bindingMarks{orphan: orphans(bp), adoptUnmanaged: adoptsUnmanaged(bp)}
}

// adoptsUnmanaged tells whether a policy takes over objects in the WECs
// that no other tool manages (annotation gitstellar.io/adopt: unmanaged);
// its Binding carries the annotation to the transport.
func adoptsUnmanaged(bp *controlv1alpha1.BindingPolicy) bool {
	return bp.Annotations[gitstellarv1alpha1.AnnotationAdopt] == gitstellarv1alpha1.AdoptUnmanaged
}

// deleteBindings removes the Binding of a deleted policy and its other
// parts (the garbage collector would too, where one runs), if gitstellar
// wrote them.
func (c *Controller) deleteBindings(ctx context.Context, policy string) error {
	names := []string{policy}
	c.mu.Lock()
	if c.bindings != nil {
		for _, o := range c.bindings.List() {
			if u, ok := o.(*unstructured.Unstructured); ok && u.GetName() != policy && PolicyOfBinding(u) == policy {
				names = append(names, u.GetName())
			}
		}
	}
	c.mu.Unlock()
	for _, name := range names {
		if err := c.deleteBinding(ctx, name); err != nil {
			return err
		}
	}
	return nil
}

// deleteBinding removes one Binding, if gitstellar wrote it.
func (c *Controller) deleteBinding(ctx context.Context, name string) error {
	b, err := c.wds.Resource(Bindings).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if b.GetLabels()[gitstellarv1alpha1.LabelManagedBy] != gitstellarv1alpha1.ManagedByValue {
		return nil
	}
	err = c.wds.Resource(Bindings).Delete(ctx, name, metav1.DeleteOptions{Preconditions: &metav1.Preconditions{UID: ptr(b.GetUID())}})
	if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
		return nil
	}
	if err == nil {
		c.opts.Log.Info("binding deleted", "wds", c.opts.WDS, "policy", name)
	}
	return err
}

func ptr[T any](v T) *T { return &v }

// writeStatus sets the policy's status when it differs from what it says:
// Synced and Ready, observedGeneration, errors.
//
// As KubeStellar's, a policy that binds repeats its Binding's conditions
// (Synced, Ready, StatusCollectorsAvailable, as the transport writes them)
// and lists its own errors, then its Binding's; until its Binding has
// conditions, and when it cannot bind, its own Synced and Ready say so.
func (c *Controller) writeStatus(ctx context.Context, bp *controlv1alpha1.BindingPolicy, valid bool, errs []string, cause error) error {
	if cause == nil {
		c.mu.Lock()
		if ps, ok := c.policies[bp.Name]; ok && ps.bp.UID == bp.UID {
			ps.resolved = &resolvedOutcome{valid: valid, errs: slices.Clone(errs)}
		}
		c.mu.Unlock()
	}
	want := controlv1alpha1.BindingPolicyStatus{ObservedGeneration: bp.Generation, Errors: errs, Conditions: bp.Status.Conditions}
	status, reason, message := corev1.ConditionTrue, controlv1alpha1.ReasonReconcileSuccess, "Binding "+bp.Name+" is up to date"
	if !valid || cause != nil {
		status, reason, message = corev1.ConditionFalse, controlv1alpha1.ReasonReconcileError, strings.Join(errs, "; ")
	}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	changed := false
	bindingConds, bindingErrs := c.bindingStatus(bp.Name)
	if valid && cause == nil && len(bindingConds) > 0 {
		for _, cond := range bindingConds { // as the Binding has it, transition time included
			var c bool
			want.Conditions, c = controlv1alpha1.NewConditions(want.Conditions, cond, cond.LastTransitionTime)
			changed = changed || c
		}
	} else {
		for _, t := range []controlv1alpha1.ConditionType{controlv1alpha1.TypeSynced, controlv1alpha1.TypeReady} {
			var c bool
			want.Conditions, c = controlv1alpha1.NewConditions(want.Conditions, controlv1alpha1.BindingPolicyCondition{Type: t, Status: status, Reason: reason, Message: message}, now)
			changed = changed || c
		}
	}
	if valid {
		want.Errors = slices.Clone(errs)
		c.mu.Lock()
		if e := c.singletonError(bp.Name); e != "" {
			want.Errors = append(want.Errors, e)
		}
		c.mu.Unlock()
		want.Errors = append(want.Errors, bindingErrs...)
	}
	if status == corev1.ConditionFalse {
		c.events.Emit(ctx, policyRef(bp.Name, bp.UID), events.Warning, "BindingFailed", message)
	}
	if !changed && bp.Status.ObservedGeneration == want.ObservedGeneration && slices.Equal(bp.Status.Errors, want.Errors) {
		return cause
	}
	statusMap, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&want)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": controlv1alpha1.GroupVersion.String(),
		"kind":       "BindingPolicy",
		"metadata":   map[string]any{"name": bp.Name},
		"status":     statusMap,
	}}
	if _, err := c.wds.Resource(BindingPolicies).ApplyStatus(ctx, bp.Name, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true}); err != nil && !apierrors.IsNotFound(err) {
		return err
	}
	return cause
}

// policyRef names a BindingPolicy in Events.
func policyRef(name string, uid types.UID) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: controlv1alpha1.GroupVersion.String(), Kind: "BindingPolicy", Name: name, UID: uid}
}

// boundMessage says what a Binding binds, for its policy's Event.
func boundMessage(objects int, spec controlv1alpha1.BindingSpec) string {
	var wecs []string
	for _, d := range spec.Destinations {
		wecs = append(wecs, d.ClusterId)
	}
	if len(wecs) == 0 {
		return fmt.Sprintf("binds %d objects to no WEC", objects)
	}
	return fmt.Sprintf("binds %d objects to %d WECs: %s", objects, len(wecs), strings.Join(wecs, ", "))
}

// bindingStatus is the status of a policy's Binding as the WDS has it:
// its conditions (over parts, each type as the worst part has it) and the
// errors of every part.
func (c *Controller) bindingStatus(policy string) ([]controlv1alpha1.BindingPolicyCondition, []string) {
	c.mu.Lock()
	store, parts := c.bindings, 1
	if ps, ok := c.policies[policy]; ok && len(ps.written) > 1 {
		parts = len(ps.written)
	}
	c.mu.Unlock()
	if store == nil {
		return nil, nil
	}
	var (
		conds []controlv1alpha1.BindingPolicyCondition
		errs  []string
	)
	badness := map[corev1.ConditionStatus]int{corev1.ConditionTrue: 0, corev1.ConditionUnknown: 1, corev1.ConditionFalse: 2}
	for n := range parts {
		o, ok, _ := store.GetByKey(gitstellarv1alpha1.BindingPartName(policy, n))
		if !ok {
			continue
		}
		var st controlv1alpha1.BindingStatus
		if raw, found := o.(*unstructured.Unstructured).Object["status"].(map[string]any); !found ||
			runtime.DefaultUnstructuredConverter.FromUnstructured(raw, &st) != nil {
			continue
		}
		errs = append(errs, st.Errors...)
		for _, cond := range st.Conditions {
			i := slices.IndexFunc(conds, func(have controlv1alpha1.BindingPolicyCondition) bool { return have.Type == cond.Type })
			switch {
			case i < 0:
				conds = append(conds, cond)
			case badness[cond.Status] > badness[conds[i].Status]:
				conds[i] = cond
			}
		}
	}
	return conds, errs
}
