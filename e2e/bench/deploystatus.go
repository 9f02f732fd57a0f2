package bench

import (
	"context"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// stubDeploymentStatus stands in for the Deployment controller the bare
// WECs lack, as the side-by-side comparison with Flux does: every half
// second it gives each benchmark Deployment whose status is behind its
// generation the status that controller writes once the pods are
// available, so that health (kstatus Current) and the status branch's
// "ready" mean what they mean in a real cluster. One status write per
// Deployment generation; it ends with ctx.
func stubDeploymentStatus(ctx context.Context, clients []*kubernetes.Clientset, namespace string) {
	for _, c := range clients {
		go func() {
			tick := time.NewTicker(500 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				list, err := c.AppsV1().Deployments(namespace).List(ctx, metav1.ListOptions{LabelSelector: "bench=yes"})
				if err != nil {
					continue
				}
				for i := range list.Items {
					if d := &list.Items[i]; d.Status.ObservedGeneration != d.Generation {
						available(d)
						_, _ = c.AppsV1().Deployments(namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "bench-deployment-status"})
					}
				}
			}
		}()
	}
}

// available sets the status of a Deployment whose pods all run.
func available(d *appsv1.Deployment) {
	replicas := int32(1)
	if d.Spec.Replicas != nil {
		replicas = *d.Spec.Replicas
	}
	now := metav1.Now()
	d.Status = appsv1.DeploymentStatus{
		ObservedGeneration: d.Generation, Replicas: replicas, UpdatedReplicas: replicas,
		ReadyReplicas: replicas, AvailableReplicas: replicas,
		Conditions: []appsv1.DeploymentCondition{
			{Type: appsv1.DeploymentAvailable, Status: "True", Reason: "MinimumReplicasAvailable", LastUpdateTime: now, LastTransitionTime: now},
			{Type: appsv1.DeploymentProgressing, Status: "True", Reason: "NewReplicaSetAvailable", LastUpdateTime: now, LastTransitionTime: now},
		},
	}
}
