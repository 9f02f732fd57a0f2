package events

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// Event types.
const (
	Normal  = corev1.EventTypeNormal
	Warning = corev1.EventTypeWarning
)

// Emitter writes Events into one space (API server).
type Emitter struct {
	client    kubernetes.Interface
	component string
	mu        sync.Mutex
	last      map[string]string // object → reason + message of its last Event
}

// NewEmitter writes Events through cfg, as component (e.g.
// "gitstellar.io/bind-controller").
func NewEmitter(cfg *rest.Config, component string) (*Emitter, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Emitter{client: cs, component: component, last: map[string]string{}}, nil
}

// Emit writes an Event about the object, unless its last Event had the
// same reason and message. Events of cluster-scoped objects go to the
// default namespace. Failures are dropped: Events are best effort.
func (e *Emitter) Emit(ctx context.Context, about corev1.ObjectReference, eventType, reason, message string) {
	id := objectID(about)
	key := reason + "\x00" + message
	e.mu.Lock()
	if e.last[id] == key {
		e.mu.Unlock()
		return
	}
	e.last[id] = key
	e.mu.Unlock()

	ns := about.Namespace
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta:          metav1.ObjectMeta{GenerateName: about.Name + ".", Namespace: ns},
		InvolvedObject:      about,
		Type:                eventType,
		Reason:              reason,
		Message:             truncate(message, 1024),
		Source:              corev1.EventSource{Component: "gitstellar"},
		ReportingController: e.component,
		ReportingInstance:   "gitstellar",
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := e.client.CoreV1().Events(ns).Create(ctx, ev, metav1.CreateOptions{}); err != nil {
		e.mu.Lock()
		delete(e.last, id) // try again at the next change or repeat
		e.mu.Unlock()
	}
}

// Forget drops what is known of an object's last Event (it was deleted).
func (e *Emitter) Forget(about corev1.ObjectReference) {
	e.mu.Lock()
	delete(e.last, objectID(about))
	e.mu.Unlock()
}

func objectID(o corev1.ObjectReference) string {
	return o.APIVersion + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:n], len(s)-n)
}
