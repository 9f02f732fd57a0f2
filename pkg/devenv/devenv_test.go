package devenv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	applyappsv1 "k8s.io/client-go/applyconfigurations/apps/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	applymetav1 "k8s.io/client-go/applyconfigurations/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

func TestDevEnvironment(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 2})
	ctx := context.Background()

	names := []string{}
	for _, sp := range env.Spaces() {
		names = append(names, sp.Name)
	}
	require.Equal(t, []string{"its1", "wds1", "cluster1", "cluster2"}, names)

	t.Run("server-side apply into every space", func(t *testing.T) {
		for _, sp := range env.Spaces() {
			cs := kubernetes.NewForConfigOrDie(env.Config(sp.Name))
			cm := applycorev1.ConfigMap("hello", "default").WithData(map[string]string{"space": sp.Name})
			got, err := cs.CoreV1().ConfigMaps("default").Apply(ctx, cm, metav1.ApplyOptions{FieldManager: "devenv-test"})
			require.NoError(t, err, sp.Name)
			assert.Equal(t, sp.Name, got.Data["space"])
			require.NotEmpty(t, got.ManagedFields)
			assert.Equal(t, "devenv-test", got.ManagedFields[0].Manager)
			assert.Equal(t, metav1.ManagedFieldsOperationApply, got.ManagedFields[0].Operation)
		}
	})

	t.Run("spaces are separate", func(t *testing.T) {
		// Each apiserver has its own etcd prefix: an object in one space
		// is not in another.
		wds := kubernetes.NewForConfigOrDie(env.Config("wds1"))
		_, err := wds.CoreV1().Namespaces().Apply(ctx, applycorev1.Namespace("only-in-wds1"), metav1.ApplyOptions{FieldManager: "devenv-test"})
		require.NoError(t, err)
		its := kubernetes.NewForConfigOrDie(env.Config("its1"))
		_, err = its.CoreV1().Namespaces().Get(ctx, "only-in-wds1", metav1.GetOptions{})
		assert.Error(t, err)
	})

	t.Run("a Deployment becomes Available in a WEC", func(t *testing.T) {
		cs := kubernetes.NewForConfigOrDie(env.Config("cluster1"))
		labels := map[string]string{"app": "web"}
		dep := applyappsv1.Deployment("web", "default").WithSpec(applyappsv1.DeploymentSpec().
			WithReplicas(2).
			WithSelector(applymetav1.LabelSelector().WithMatchLabels(labels)).
			WithTemplate(applycorev1.PodTemplateSpec().WithLabels(labels).WithSpec(applycorev1.PodSpec().
				WithContainers(applycorev1.Container().WithName("web").WithImage("nginx:1.27")))))
		_, err := cs.AppsV1().Deployments("default").Apply(ctx, dep, metav1.ApplyOptions{FieldManager: "devenv-test"})
		require.NoError(t, err)
		start := time.Now()
		var last *appsv1.Deployment
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 2*time.Minute, true, func(ctx context.Context) (bool, error) {
			last, err = cs.AppsV1().Deployments("default").Get(ctx, "web", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			return available(last) && last.Status.AvailableReplicas == 2, nil
		})
		require.NoError(t, err, "deployment status: %+v", last.Status)
		t.Logf("Deployment Available after %s", time.Since(start).Round(time.Millisecond))
		pods, err := cs.CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: "app=web"})
		require.NoError(t, err)
		require.Len(t, pods.Items, 2)
		for _, p := range pods.Items {
			assert.Equal(t, corev1.PodRunning, p.Status.Phase, p.Name)
			assert.True(t, strings.HasPrefix(p.Spec.NodeName, "cluster1-node-"), p.Spec.NodeName)
		}
	})

	t.Run("hub spaces collect garbage", func(t *testing.T) {
		cs := kubernetes.NewForConfigOrDie(env.Config("wds1"))
		owner, err := cs.CoreV1().ConfigMaps("default").Apply(ctx, applycorev1.ConfigMap("owner", "default"), metav1.ApplyOptions{FieldManager: "devenv-test"})
		require.NoError(t, err)
		_, err = cs.CoreV1().ConfigMaps("default").Apply(ctx, applycorev1.ConfigMap("owned", "default").
			WithOwnerReferences(applymetav1.OwnerReference().WithAPIVersion("v1").WithKind("ConfigMap").WithName("owner").WithUID(owner.UID)),
			metav1.ApplyOptions{FieldManager: "devenv-test"})
		require.NoError(t, err)
		require.NoError(t, cs.CoreV1().ConfigMaps("default").Delete(ctx, "owner", metav1.DeleteOptions{}))
		err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			_, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "owned", metav1.GetOptions{})
			return err != nil, nil
		})
		assert.NoError(t, err, "the owned ConfigMap was not garbage-collected")
	})

	t.Run("a dead apiserver is restarted by up and its data survives", func(t *testing.T) {
		before := pidOf(t, env, "cluster2-apiserver")
		require.NoError(t, env.Kill("cluster2-apiserver"))
		assert.False(t, devenvtest.Alive(before, env.Dir()))
		status := statusOf(env, "cluster2-apiserver")
		assert.Zero(t, status.PID)
		assert.False(t, status.Ready)

		again, err := devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), WECs: 2, StopWithParent: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"cluster2-apiserver"}, again.Started())
		assert.True(t, statusOf(env, "cluster2-apiserver").Ready)

		cs := kubernetes.NewForConfigOrDie(env.Config("cluster2"))
		cm, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "hello", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "cluster2", cm.Data["space"])
	})

	t.Run("up with another shape is refused", func(t *testing.T) {
		_, err := devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), WECs: 3})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "has 2 WECs")
	})
}

func TestDownLeavesNoProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	env := devenvtest.Start(t, devenvtest.Options{WECs: 1, Bare: true})
	var pids []int
	for _, ps := range env.Status(context.Background()) {
		require.NotZero(t, ps.PID, ps.Name)
		require.True(t, ps.Ready, ps.Name)
		pids = append(pids, ps.PID)
	}
	require.Len(t, pids, 1+3) // etcd, its1, wds1, cluster1
	require.NoError(t, env.Down(context.Background()))
	for _, pid := range pids {
		assert.False(t, devenvtest.Alive(pid, env.Dir()), "pid %d still running", pid)
	}
	_, err := os.Stat(env.Dir())
	assert.True(t, os.IsNotExist(err), "state directory left behind")
}

func available(d *appsv1.Deployment) bool {
	for _, c := range d.Status.Conditions {
		if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func statusOf(env *devenvtest.Env, name string) devenv.ProcessStatus {
	for _, ps := range env.Status(context.Background()) {
		if ps.Name == name {
			return ps
		}
	}
	return devenv.ProcessStatus{}
}

func pidOf(t *testing.T, env *devenvtest.Env, name string) int {
	b, err := os.ReadFile(fmt.Sprintf("%s/run/%s.pid", env.Dir(), name))
	require.NoError(t, err)
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	require.NoError(t, err)
	return pid
}

// TestUpFailureLeavesNothingRunning: when a process cannot start, Up
// reports which one and why, and stops what it had started.
func TestUpFailureLeavesNothingRunning(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real etcd")
	}
	real, err := k8sbinaries.Ensure(context.Background(), k8sbinaries.Options{Need: k8sbinaries.Hub})
	require.NoError(t, err)
	assets := t.TempDir()
	require.NoError(t, os.Symlink(real.Path(k8sbinaries.Etcd), filepath.Join(assets, "etcd")))
	broken := "#!/bin/sh\necho 'Error: invalid flag from a broken build' >&2\nexit 1\n"
	require.NoError(t, os.WriteFile(filepath.Join(assets, "kube-apiserver"), []byte(broken), 0o755))
	t.Setenv("KUBEBUILDER_ASSETS", assets)

	dir := t.TempDir()
	_, err = devenv.Up(context.Background(), devenv.Options{StateDir: dir, WECs: 1, Bare: true, StopWithParent: true, ReadyTimeout: time.Minute})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "apiserver exited (exit status 1)")
	assert.Contains(t, err.Error(), "invalid flag from a broken build")

	env, err := devenv.Load(dir)
	require.NoError(t, err)
	for _, ps := range env.Status(context.Background()) {
		assert.Zero(t, ps.PID, "%s left running", ps.Name)
	}
	pidFiles, _ := filepath.Glob(filepath.Join(dir, "run", "*.pid"))
	assert.Empty(t, pidFiles)
}
