package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// eventEmitter writes Kubernetes Events about a Space into that space, on
// changes only: the same reason and message twice in a row is one Event.
type eventEmitter struct {
	client kubernetes.Interface
	mu     sync.Mutex
	last   map[string]string // space → reason + message of the last Event
}

func newEventEmitter(cfg *rest.Config) (*eventEmitter, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &eventEmitter{client: cs, last: map[string]string{}}, nil
}

func (e *eventEmitter) emit(ctx context.Context, space, eventType, reason, message string) {
	e.mu.Lock()
	key := reason + "\x00" + message
	if e.last[space] == key {
		e.mu.Unlock()
		return
	}
	e.last[space] = key
	e.mu.Unlock()

	now := metav1.NewTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: space + ".",
			Namespace:    metav1.NamespaceDefault,
		},
		InvolvedObject: corev1.ObjectReference{
			APIVersion: gitstellarv1alpha1.GroupVersion.String(),
			Kind:       "Space",
			Name:       space,
		},
		Type:                eventType,
		Reason:              reason,
		Message:             truncate(message, 1024),
		Source:              corev1.EventSource{Component: "gitstellar"},
		ReportingController: "gitstellar.io/source-controller",
		ReportingInstance:   "gitstellar",
		FirstTimestamp:      now,
		LastTimestamp:       now,
		Count:               1,
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, _ = e.client.CoreV1().Events(metav1.NamespaceDefault).Create(ctx, ev, metav1.CreateOptions{})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return fmt.Sprintf("%s… (%d more bytes)", s[:n], len(s)-n)
}
