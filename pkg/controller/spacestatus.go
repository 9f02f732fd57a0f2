package controller

import (
	"context"
	"fmt"
	"time"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/dynamic"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// spacesResource is where a space holds its own Space object.
var spacesResource = gitstellarv1alpha1.GroupVersion.WithResource("spaces")

// The condition types and reasons of Space.status.
const (
	conditionReady  = "Ready"
	conditionSynced = "Synced"

	reasonConnected     = "Connected"
	reasonApplied       = "Applied"
	reasonApplyProblems = "ApplyProblems"
	reasonApplyFailed   = "ApplyFailed"
	reasonRenderFailed  = "RenderFailed"
)

// spaceOutcome is what one sync says of one space.
type spaceOutcome struct {
	// synced is the Synced condition (type, status, reason, message).
	synced metav1.Condition
	// revision is the commit applied, "" when nothing was (a render error).
	revision string
	// changed: the sync wrote or deleted objects in the space.
	changed bool
}

// spaceStatusWriter keeps a space's Space.status: Ready, Synced, the
// revision last applied and the generation seen. It writes when the
// conditions or the generation change, or when a revision changed what the
// space holds. A revision that renders the space as the one before writes
// nothing into it, status included, so lastAppliedRevision names the
// newest revision that changed the space (or the first this process
// applied).
type spaceStatusWriter struct {
	client  dynamic.Interface
	name    string
	written *gitstellarv1alpha1.SpaceStatus // nil until read or written
}

func newSpaceStatusWriter(client dynamic.Interface, name string) *spaceStatusWriter {
	return &spaceStatusWriter{client: client, name: name}
}

// update writes the status an outcome calls for, when it differs from what
// the Space says. A Space not (yet) in the space is not an error: its
// status comes with the next sync.
func (w *spaceStatusWriter) update(ctx context.Context, out spaceOutcome) error {
	if w.written != nil && !out.changed && sameConditions(w.written, out) {
		return nil
	}
	u, err := w.client.Resource(spacesResource).Get(ctx, w.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read Space %s: %w", w.name, err)
	}
	var sp gitstellarv1alpha1.Space
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sp); err != nil {
		return fmt.Errorf("Space %s: %w", w.name, err)
	}
	want := sp.Status.DeepCopy()
	want.ObservedGeneration = sp.Generation
	if out.revision != "" && (out.changed || want.LastAppliedRevision == "" || w.written == nil) {
		want.LastAppliedRevision = out.revision
	}
	now := metav1.NewTime(time.Now().UTC().Truncate(time.Second))
	for _, c := range []metav1.Condition{
		{Type: conditionReady, Status: metav1.ConditionTrue, Reason: reasonConnected, Message: "reachable, gitstellar's CRDs installed"},
		out.synced,
	} {
		// The transition time moves only when the status does.
		c.ObservedGeneration, c.LastTransitionTime = sp.Generation, now
		meta.SetStatusCondition(&want.Conditions, c)
	}
	if apiequality.Semantic.DeepEqual(&sp.Status, want) {
		w.written = want
		return nil
	}
	status, err := runtime.DefaultUnstructuredConverter.ToUnstructured(want)
	if err != nil {
		return err
	}
	apply := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": gitstellarv1alpha1.GroupVersion.String(), "kind": "Space",
		"metadata": map[string]any{"name": w.name}, "status": status,
	}}
	_, err = w.client.Resource(spacesResource).ApplyStatus(ctx, w.name, apply, metav1.ApplyOptions{FieldManager: gitstellarv1alpha1.FieldManager, Force: true})
	switch {
	case apierrors.IsNotFound(err):
		return nil
	case err != nil:
		return fmt.Errorf("write the status of Space %s: %w", w.name, err)
	}
	w.written = want
	return nil
}

// sameConditions tells whether the Synced condition an outcome calls for
// is the one last written (Ready is always true when a sync reaches the
// space).
func sameConditions(s *gitstellarv1alpha1.SpaceStatus, out spaceOutcome) bool {
	old := meta.FindStatusCondition(s.Conditions, conditionSynced)
	return old != nil && old.Status == out.synced.Status && old.Reason == out.synced.Reason && old.Message == out.synced.Message &&
		meta.IsStatusConditionTrue(s.Conditions, conditionReady)
}
