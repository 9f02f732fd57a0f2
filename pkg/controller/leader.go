package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/retry"

	"github.com/gitstellar/gitstellar/pkg/source"
)

// LeaderElection says which Lease the replicas of one source contend for.
type LeaderElection struct {
	// Config reaches the cluster that holds the Lease (the hosting cluster).
	Config *rest.Config
	// Namespace and Name of the Lease.
	Namespace, Name string
	// Identity of this process; default hostname_random.
	Identity string
	// LeaseDuration is how long a Lease that is not renewed stays with its
	// holder (default 15s); RenewDeadline how long the leader retries
	// renewing before it gives up (default 10s); RetryPeriod the time
	// between attempts (default 2s).
	LeaseDuration, RenewDeadline, RetryPeriod time.Duration
	// OnLeading, when set, is told when this process starts and stops
	// leading.
	OnLeading func(leading bool)
	// Signal, when set, carries the fetch requests (push webhooks) this
	// process receives. A standby passes them on to the leader through the
	// Lease <Name>-fetch: it stamps an annotation there, which the leader
	// watches; the leader then fires Signal itself.
	Signal *source.Signal
	Log    logr.Logger
}

// ErrLeaseLost is returned by Lead when the Lease could not be renewed: the
// process must stop, another replica may be writing already.
var ErrLeaseLost = errors.New("lost the leader lease")

// Lead waits for the Lease, then runs work while holding it. When ctx ends,
// work's context ends too; the Lease is kept until work has returned (a
// sync that finishes is not raced by the next leader) and then released,
// so that another replica takes over at once. A standby returns as soon as
// ctx ends. Lead returns ErrLeaseLost when the Lease was lost while
// leading.
func Lead(ctx context.Context, le LeaderElection, work func(ctx context.Context)) error {
	if le.Namespace == "" || le.Name == "" {
		return errors.New("leader election: the Lease's namespace and name are required")
	}
	if le.Identity == "" {
		host, _ := os.Hostname()
		le.Identity = host + "_" + rand.String(8)
	}
	if le.LeaseDuration <= 0 {
		le.LeaseDuration = 15 * time.Second
	}
	if le.RenewDeadline <= 0 {
		le.RenewDeadline = 10 * time.Second
	}
	if le.RetryPeriod <= 0 {
		le.RetryPeriod = 2 * time.Second
	}
	if le.Log.GetSink() == nil {
		le.Log = logr.Discard()
	}
	onLeading := le.OnLeading
	if onLeading == nil {
		onLeading = func(bool) {}
	}
	cs, err := kubernetes.NewForConfig(le.Config)
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: le.Namespace, Name: le.Name},
		Client:     cs.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: le.Identity},
	}
	// The election's own context ends after work has returned.
	elect, stopElecting := context.WithCancel(context.WithoutCancel(ctx))
	defer stopElecting()
	led := make(chan struct{})
	elector, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock:            lock,
		LeaseDuration:   le.LeaseDuration,
		RenewDeadline:   le.RenewDeadline,
		RetryPeriod:     le.RetryPeriod,
		ReleaseOnCancel: true,
		Name:            le.Namespace + "/" + le.Name,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(leading context.Context) {
				defer stopElecting() // release the Lease once work is done
				close(led)
				if le.Signal != nil {
					go watchRequests(leading, cs, le)
				}
				le.Log.Info("leading", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
				onLeading(true)
				wctx, cancel := context.WithCancel(ctx)
				defer cancel()
				go func() {
					select {
					case <-leading.Done(): // lost: stop writing now
					case <-wctx.Done():
					}
					cancel()
				}()
				work(wctx)
			},
			OnStoppedLeading: func() { onLeading(false) },
			OnNewLeader: func(identity string) {
				if identity != le.Identity {
					le.Log.Info("standing by", "leader", identity, "lease", le.Namespace+"/"+le.Name)
				}
			},
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	if le.Signal != nil {
		go forwardRequests(ctx, led, cs, le)
	}
	go func() {
		select {
		case <-ctx.Done():
			select {
			case <-led: // the leader releases once work has returned
			default:
				stopElecting()
			}
		case <-elect.Done():
		}
	}()
	le.Log.Info("waiting for the leader lease", "lease", le.Namespace+"/"+le.Name, "identity", le.Identity)
	elector.Run(elect)
	if ctx.Err() == nil {
		return ErrLeaseLost
	}
	return nil
}

// annotationFetchRequested on the Lease <Name>-fetch is when a standby
// last received a fetch request, and why.
const annotationFetchRequested = "gitstellar.io/fetch-requested"

// forwardRequests passes the fetch requests a standby receives on to the
// leader, until this process leads or ctx ends.
func forwardRequests(ctx context.Context, led <-chan struct{}, cs kubernetes.Interface, le LeaderElection) {
	leases := cs.CoordinationV1().Leases(le.Namespace)
	for {
		select {
		case <-ctx.Done():
			return
		case <-led:
			return
		case reason := <-le.Signal.C():
			select {
			case <-led: // leading now: the request is this process's own
				le.Signal.Fire(reason)
				return
			default:
			}
			stamp := time.Now().UTC().Format(time.RFC3339Nano) + " " + reason
			err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
				l, err := leases.Get(ctx, le.Name+"-fetch", metav1.GetOptions{})
				if apierrors.IsNotFound(err) {
					_, err = leases.Create(ctx, &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: le.Name + "-fetch", Namespace: le.Namespace,
						Annotations: map[string]string{annotationFetchRequested: stamp}}}, metav1.CreateOptions{})
					return err
				}
				if err != nil {
					return err
				}
				if l.Annotations == nil {
					l.Annotations = map[string]string{}
				}
				l.Annotations[annotationFetchRequested] = stamp
				_, err = leases.Update(ctx, l, metav1.UpdateOptions{})
				return err
			})
			if err != nil {
				le.Log.Error(err, "passing a fetch request on to the leader", "lease", le.Namespace+"/"+le.Name+"-fetch")
				continue
			}
			le.Log.Info("fetch request passed on to the leader", "reason", reason)
		}
	}
}

// watchRequests fires the leader's Signal when a standby passed a fetch
// request on, until ctx ends. The first look is the baseline: what came
// before this process led is covered by its first sync.
func watchRequests(ctx context.Context, cs kubernetes.Interface, le LeaderElection) {
	leases := cs.CoordinationV1().Leases(le.Namespace)
	last, first := "", true
	tick := time.NewTicker(le.RetryPeriod)
	defer tick.Stop()
	for {
		l, err := leases.Get(ctx, le.Name+"-fetch", metav1.GetOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			var stamp string
			if err == nil {
				stamp = l.Annotations[annotationFetchRequested]
			}
			if !first && stamp != last {
				le.Signal.Fire("passed on by a standby")
			}
			last, first = stamp, false
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
