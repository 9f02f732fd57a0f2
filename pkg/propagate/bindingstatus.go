package propagate

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/memo"
)

// maxBindingErrors bounds the problems listed in a Binding's status.
const maxBindingErrors = 20

// Progress is where a WEC stands with a Binding's Deliveries to it.
type Progress int

// The progress of a WEC.
const (
	// Waiting: not every part is written, or its agent has not reported on
	// every entry of the parts as they are.
	Waiting Progress = iota
	// Applied: the agent applied every entry of every part.
	Applied
	// Failed: the agent reported on every entry, and some are in conflict
	// or in error; or it cannot reach its WEC.
	Failed
)

func (p Progress) String() string { return [...]string{"waiting", "applied", "failed"}[p] }

// WECProgress reads, from one WEC's Deliveries of one Binding (by part),
// where the WEC stands. written gives the generation the transport last
// wrote of a Delivery (namespace/name), or 0 when it does not know: a part
// the cache shows older than that is not reported on yet.
func WECProgress(parts map[int]*unstructured.Unstructured, written func(key string) int64) Progress {
	part0, ok := parts[0]
	if !ok {
		return Waiting
	}
	n, _, _ := unstructured.NestedInt64(part0.Object, "spec", "parts")
	progress := Applied
	for i := range max(int(n), 1) {
		d, ok := parts[i]
		if !ok || written != nil && d.GetGeneration() < written(d.GetNamespace()+"/"+d.GetName()) {
			return Waiting
		}
		switch deliveryProgress(d) {
		case Waiting:
			return Waiting
		case Failed:
			progress = Failed
		}
	}
	return progress
}

// deliveryProgress is where one Delivery stands. It reads the status as
// the informer holds it, without decoding it: a status lists every entry,
// and the transport asks at every status event of the Binding's
// Deliveries.
func deliveryProgress(d *unstructured.Unstructured) Progress {
	status, _ := d.Object["status"].(map[string]any)
	if observed, _, _ := unstructured.NestedInt64(status, "observedGeneration"); observed != d.GetGeneration() {
		return Waiting
	}
	var applied map[string]any
	conds, _ := status["conditions"].([]any)
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Applied" {
			applied = m
		}
	}
	switch {
	case applied == nil:
		return Waiting
	case applied["status"] == string(metav1.ConditionTrue):
		return Applied
	case applied["reason"] == gitstellarv1alpha1.ReasonUnreachable:
		return Failed
	}
	entries, _ := status["entries"].([]any)
	for _, e := range entries {
		if m, ok := e.(map[string]any); ok && m["result"] == string(gitstellarv1alpha1.DeliveryPending) {
			return Waiting
		}
	}
	return Failed
}

// writeBindingStatus puts into the Binding's status what the transport
// knows of it: observedGeneration, the generation whose Deliveries it
// wrote; Synced, whether it could transform every object for every WEC;
// Ready, whether every WEC applied them (Unknown while some have not
// reported, False when some could not); and the errors: transform
// problems, unreachable WECs, entries the agents could not apply, and
// objects another WDS also delivers. It runs only under the Binding's
// status key, one at a time per Binding.
func (t *Transport) writeBindingStatus(ctx context.Context, name string) error {
	raw, found, err := t.bindings.GetStore().GetByKey(name)
	if err != nil || !found {
		return err
	}
	b, err := BindingHead(raw.(*unstructured.Unstructured))
	if err != nil {
		return err
	}
	t.mu.Lock()
	generation, synced := t.synced[name]
	transformProblems := slices.Clone(t.problems[name])
	if w, ok := t.statusWritten[name]; ok && olderVersion(raw.(*unstructured.Unstructured).GetResourceVersion(), w.resourceVersion) {
		b.Status = w.status // the cache does not show the last write yet
	}
	t.mu.Unlock()
	if !synced {
		return nil // its Deliveries are not written yet: nothing to say
	}
	problems := transformProblems
	objs, _ := t.deliveries.GetIndexer().ByIndex(DeliveriesByBinding, DeliveryBindingKey(t.opts.WDS, name))
	for _, o := range objs {
		d := o.(*unstructured.Unstructured)
		problems = append(problems, t.deliveryProblems.Get(memo.ObjectName(d), d.GetResourceVersion(), func() []string { return DeliveryProblems(d) })...)
	}
	slices.Sort(problems)
	problems = slices.Compact(problems)
	if len(problems) > maxBindingErrors {
		problems = append(problems[:maxBindingErrors], fmt.Sprintf("... and %d more", len(problems)-maxBindingErrors))
	}

	want := controlv1alpha1.BindingStatus{ObservedGeneration: generation, Errors: problems, Conditions: b.Status.Conditions}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	wecs := len(b.Spec.Destinations)
	syncedCond := controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeSynced, Status: corev1.ConditionTrue,
		Reason: controlv1alpha1.ReasonReconcileSuccess, Message: fmt.Sprintf("Deliveries written for %d WECs", wecs)}
	if len(transformProblems) > 0 {
		syncedCond.Status, syncedCond.Reason = corev1.ConditionFalse, controlv1alpha1.ReasonReconcileError
		syncedCond.Message = fmt.Sprintf("the objects could not be transformed for %d of %d WECs (see errors)", len(transformProblems), wecs)
	}
	changed := false
	var c bool
	want.Conditions, c = controlv1alpha1.NewConditions(want.Conditions, syncedCond, now)
	changed = changed || c
	want.Conditions, c = controlv1alpha1.NewConditions(want.Conditions, collectorsCondition(t.missingCollectors(name)), now)
	changed = changed || c
	if generation == b.Generation { // the destinations are the ones written
		want.Conditions, c = controlv1alpha1.NewConditions(want.Conditions, t.readyCondition(b, generation), now)
		changed = changed || c
	}
	if !changed && b.Status.ObservedGeneration == want.ObservedGeneration && slices.Equal(b.Status.Errors, want.Errors) {
		return nil
	}
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(&want)
	if err != nil {
		return err
	}
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": controlv1alpha1.GroupVersion.String(), "kind": "Binding",
		"metadata": map[string]any{"name": b.Name}, "status": status,
	}}
	out, err := t.wds.Resource(Bindings).ApplyStatus(ctx, b.Name, u, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager + "-transport", Force: true})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return err
	}
	t.mu.Lock()
	t.statusWritten[name] = bindingStatusWritten{status: want, resourceVersion: out.GetResourceVersion()}
	t.mu.Unlock()
	return nil
}

// bindingStatusWritten is a Binding status the transport wrote.
type bindingStatusWritten struct {
	status          controlv1alpha1.BindingStatus
	resourceVersion string
}

// olderVersion tells whether resourceVersion a is older than b. The
// apiserver's versions are etcd revisions, increasing integers; one that
// is not says nothing (false).
func olderVersion(a, b string) bool {
	x, err1 := strconv.ParseUint(a, 10, 64)
	y, err2 := strconv.ParseUint(b, 10, 64)
	return err1 == nil && err2 == nil && x < y
}

// BindingHead is a Binding's name, generation, destinations and status,
// without its workload, which the status does not need (a Binding lists
// every object it binds).
func BindingHead(u *unstructured.Unstructured) (controlv1alpha1.Binding, error) {
	b := controlv1alpha1.Binding{}
	b.Name, b.Generation = u.GetName(), u.GetGeneration()
	dests, _, _ := unstructured.NestedSlice(u.Object, "spec", "destinations")
	for _, d := range dests {
		if m, ok := d.(map[string]any); ok {
			id, _ := m["clusterId"].(string)
			b.Spec.Destinations = append(b.Spec.Destinations, controlv1alpha1.Destination{ClusterId: id})
		}
	}
	if status, ok := u.Object["status"].(map[string]any); ok {
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(status, &b.Status); err != nil {
			return b, fmt.Errorf("Binding %s: status: %w", b.Name, err)
		}
	}
	return b, nil
}

// readyCondition is the Binding's Ready condition: whether every WEC it
// names applied the Deliveries of the generation written.
func (t *Transport) readyCondition(b controlv1alpha1.Binding, generation int64) controlv1alpha1.BindingPolicyCondition {
	existing := t.existingParts(b.Name)
	var waiting, failed int
	for _, d := range b.Spec.Destinations {
		switch WECProgress(existing[d.ClusterId], t.writtenGeneration) {
		case Waiting:
			waiting++
		case Failed:
			failed++
		}
	}
	wecs := len(b.Spec.Destinations)
	switch {
	case waiting > 0:
		return controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeReady, Status: corev1.ConditionUnknown,
			Reason: controlv1alpha1.ReasonWaitingForWECs, Message: fmt.Sprintf("waiting for the WECs to apply generation %d", generation)}
	case failed > 0:
		return controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeReady, Status: corev1.ConditionFalse,
			Reason: controlv1alpha1.ReasonReconcileError, Message: fmt.Sprintf("%d of %d WECs could not apply every object (see errors)", failed, wecs)}
	}
	return controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeReady, Status: corev1.ConditionTrue,
		Reason: controlv1alpha1.ReasonReconcileSuccess, Message: fmt.Sprintf("applied in every WEC (%d)", wecs)}
}

// DeliveryProblems lists, as "WEC: problem", what a Delivery's status says
// went wrong: the WEC unreachable (once), entries in conflict or in error,
// and entries another WDS also delivers. A status older than the spec says
// nothing yet.
func DeliveryProblems(d *unstructured.Unstructured) []string {
	var status gitstellarv1alpha1.DeliveryStatus
	if s, ok := d.Object["status"].(map[string]any); ok {
		_ = runtime.DefaultUnstructuredConverter.FromUnstructured(s, &status)
	}
	if status.ObservedGeneration != d.GetGeneration() {
		return nil
	}
	wec := d.GetLabels()[gitstellarv1alpha1.LabelCluster]
	for _, c := range status.Conditions {
		if c.Type == "Applied" && c.Reason == gitstellarv1alpha1.ReasonUnreachable {
			return []string{wec + ": unreachable: " + c.Message}
		}
	}
	var out []string
	for _, e := range status.Entries {
		what := fmt.Sprintf("%s: %s %s", wec, e.Kind, path.Join(e.Namespace, e.Name))
		switch e.Result {
		case gitstellarv1alpha1.DeliveryConflict, gitstellarv1alpha1.DeliveryError:
			out = append(out, fmt.Sprintf("%s: %s: %s", what, e.Result, e.Message))
		}
		if len(e.ContestedBy) > 0 {
			out = append(out, fmt.Sprintf("%s: also delivered by %s; kept from this Binding (first writer)", what, strings.Join(e.ContestedBy, ", ")))
		}
	}
	return out
}

// missingCollectors are the StatusCollectors a Binding's objects name that
// the WDS does not hold, sorted.
func (t *Transport) missingCollectors(binding string) []string {
	t.mu.Lock()
	names := t.collectorsOf[binding]
	t.mu.Unlock()
	var missing []string
	for _, n := range names {
		if _, ok, _ := t.collectors.GetStore().GetByKey(n); !ok {
			missing = append(missing, n)
		}
	}
	return missing
}

// collectorsCondition is KubeStellar's StatusCollectorsAvailable condition
// of a Binding: whether every StatusCollector its objects name exists.
func collectorsCondition(missing []string) controlv1alpha1.BindingPolicyCondition {
	if len(missing) > 0 {
		return controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeStatusCollectorsAvailable, Status: corev1.ConditionFalse,
			Reason: controlv1alpha1.ReasonReconcileError, Message: fmt.Sprintf("Missing StatusCollector(s) %s", missing)}
	}
	return controlv1alpha1.BindingPolicyCondition{Type: controlv1alpha1.TypeStatusCollectorsAvailable, Status: corev1.ConditionTrue,
		Reason: controlv1alpha1.ReasonReconcileSuccess, Message: "All StatusCollector(s) are available"}
}
