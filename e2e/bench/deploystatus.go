package bench

import (
	"context"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// stubDeploymentStatus stands in for the Deployment controller the bare
// WECs lack, as the side-by-side comparison with Flux does: it watches the
// benchmark Deployments of each WEC and gives each one whose status is
// behind its generation the status that controller writes once the pods
// are available, so that health (kstatus Current) and the status branch's
// "ready" mean what they mean in a real cluster. One status write per
// Deployment generation, and no request otherwise (a watch, not a poll,
// so that the apiservers' CPU accounts for what the contenders do); it
// ends with ctx.
func stubDeploymentStatus(ctx context.Context, clients []*kubernetes.Clientset, namespace string) {
	for _, c := range clients {
		factory := informers.NewSharedInformerFactoryWithOptions(c, 0, informers.WithNamespace(namespace),
			informers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = "bench=yes" }))
		informer := factory.Apps().V1().Deployments().Informer()
		update := func(o any) {
			d, ok := o.(*appsv1.Deployment)
			if !ok || d.Status.ObservedGeneration == d.Generation {
				return
			}
			d = d.DeepCopy()
			available(d)
			_, _ = c.AppsV1().Deployments(namespace).UpdateStatus(ctx, d, metav1.UpdateOptions{FieldManager: "bench-deployment-status"})
		}
		_, _ = informer.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: update, UpdateFunc: func(_, o any) { update(o) }})
		factory.Start(ctx.Done())
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
