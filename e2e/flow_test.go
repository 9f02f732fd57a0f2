package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/report"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// full runs the long variants of the suite (make e2e): a WEC stopped for a
// whole minute instead of a few seconds.
var full = os.Getenv("GITSTELLAR_E2E_FULL") != ""

// flow is a long-running `gitstellar run` following a repository on a git
// server on loopback, with push webhooks, over a dev environment with two
// WECs running controllers.
type flow struct {
	t        *testing.T
	bin      string
	env      *devenvtest.Env
	repo     *gittest.Repo
	hook     string
	metrics  string
	secret   []byte
	cache    string
	logs     string // directory of gitstellar run's logs, one file per start
	runs     int
	cmd      *exec.Cmd
	wds      dynamic.Interface
	wecs     map[string]*kubernetes.Clientset
	wecsDyn  map[string]dynamic.Interface
	lastHead string
}

func newFlow(t *testing.T) *flow {
	return newFlowOf(t, devenvtest.Options{WECs: 2}, map[string]string{
		"spaces/spaces.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n---\napiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n",
		"clusters/wecs.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: cluster1, labels: {location-group: edge, name: cluster1}}\nspec: {its: its1, kubeconfig: {context: cluster1}}\n---\n" +
			"apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: cluster2, labels: {location-group: edge, name: cluster2}}\nspec: {its: its1, kubeconfig: {context: cluster2}}\n",
	})
}

// newFlowOf is a flow over the dev environment env describes, following a
// repository whose first commit holds files.
func newFlowOf(t *testing.T, env devenvtest.Options, files map[string]string) *flow {
	f := &flow{t: t, bin: gitstellar(t), cache: t.TempDir(), logs: t.TempDir(), secret: []byte("flow-secret")}
	f.env = devenvtest.Start(t, env)
	srv := gittest.NewHTTPServer(t, nil)
	f.repo = srv.NewRepo(t, "fleet")
	f.repo.Write(t, files)
	f.lastHead = f.repo.Commit(t, "spaces and WECs")
	f.repo.Push(t, "main")
	f.hook, f.metrics = freeAddr(t), freeAddr(t)
	f.wds = dynamic.NewForConfigOrDie(f.env.Config("wds1"))
	f.wecs, f.wecsDyn = map[string]*kubernetes.Clientset{}, map[string]dynamic.Interface{}
	for _, w := range f.env.WECs() {
		f.wecs[w] = kubernetes.NewForConfigOrDie(f.env.Config(w))
		f.wecsDyn[w] = dynamic.NewForConfigOrDie(f.env.Config(w))
	}
	t.Cleanup(func() {
		f.stop(syscall.SIGTERM)
		if t.Failed() {
			f.saveLogs()
		}
	})
	f.start()
	f.waitStatus("the first sync reaches the status branch", func(s report.Summary) bool { return s.SourceCommit == f.lastHead })
	return f
}

// start starts `gitstellar run` (again).
func (f *flow) start() {
	f.t.Helper()
	if f.cmd != nil {
		f.t.Fatal("gitstellar run is running already: a second one would outlive the test")
	}
	secret := filepath.Join(f.t.TempDir(), "secret")
	require.NoError(f.t, os.WriteFile(secret, f.secret, 0o600))
	f.runs++
	log, err := os.Create(filepath.Join(f.logs, fmt.Sprintf("gitstellar-run-%d.log", f.runs)))
	require.NoError(f.t, err)
	f.cmd = exec.Command(f.bin, "run", "--repo", f.repo.URL, "--kubeconfig", f.env.KubeconfigPath(), "--cache-dir", f.cache, "--chart-cache", filepath.Join(f.cache, "charts"), "--name", "flow",
		"--interval", "30s", "--webhook-addr", f.hook, "--webhook-secret-file", secret, "--status-interval", "1s", "--log-format", "json",
		"--metrics-addr", f.metrics)
	f.cmd.Stdout, f.cmd.Stderr = log, log
	require.NoError(f.t, f.cmd.Start())
}

// stop ends `gitstellar run` with a signal and waits for it.
func (f *flow) stop(sig syscall.Signal) {
	if f.cmd == nil {
		return
	}
	_ = f.cmd.Process.Signal(sig)
	_, _ = f.cmd.Process.Wait()
	f.cmd = nil
}

// saveLogs copies the logs of every process (the dev environment's and
// gitstellar run's) where they outlive the test, and says where.
func (f *flow) saveLogs() {
	dir := os.Getenv("GITSTELLAR_E2E_LOGS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "gitstellar-e2e-logs")
	}
	dir = filepath.Join(dir, fmt.Sprintf("%s-%s", f.t.Name(), time.Now().UTC().Format("20060102T150405")))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		f.t.Logf("saving logs: %v", err)
		return
	}
	var sources []string
	for _, ps := range f.env.Status(context.Background()) {
		sources = append(sources, ps.Log)
	}
	runLogs, _ := filepath.Glob(filepath.Join(f.logs, "*.log"))
	for _, src := range append(sources, runLogs...) {
		if b, err := os.ReadFile(src); err == nil {
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(src)), b, 0o644)
		}
	}
	f.t.Logf("logs of every process saved in %s", dir)
}

// push commits files (and removals) and tells gitstellar with a signed
// webhook.
func (f *flow) push(message string, files map[string]string, remove ...string) string {
	f.t.Helper()
	if len(files) > 0 {
		f.repo.Write(f.t, files)
	}
	if len(remove) > 0 {
		f.repo.Remove(f.t, remove...)
	}
	f.lastHead = f.repo.Commit(f.t, message)
	f.repo.Push(f.t, "main")
	body := []byte(`{"ref":"refs/heads/main"}`)
	postHook(f.t, f.hook, body, "X-Hub-Signature-256", source.Sign(f.secret, body))
	return f.lastHead
}

// spaceStatus reads the status of a space's own Space object.
func (f *flow) spaceStatus(space string) gitstellarv1alpha1.SpaceStatus {
	f.t.Helper()
	u, err := dynamic.NewForConfigOrDie(f.env.Config(space)).Resource(schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "spaces"}).
		Get(context.Background(), space, metav1.GetOptions{})
	require.NoError(f.t, err)
	var sp gitstellarv1alpha1.Space
	require.NoError(f.t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &sp))
	return sp.Status
}

// syncedEvents are the messages of the Synced Events on a space's Space, oldest first.
func (f *flow) syncedEvents(space string) []string {
	f.t.Helper()
	list, err := kubernetes.NewForConfigOrDie(f.env.Config(space)).CoreV1().Events("default").List(context.Background(),
		metav1.ListOptions{FieldSelector: "involvedObject.kind=Space,reason=Synced"})
	require.NoError(f.t, err)
	slices.SortFunc(list.Items, func(a, b corev1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Message)
	}
	return out
}

func (f *flow) waitStatus(what string, ok func(report.Summary) bool) report.Summary {
	f.t.Helper()
	var last report.Summary
	require.Eventually(f.t, func() bool {
		s, err := readStatusSummary(f.repo)
		last = s
		return err == nil && ok(s)
	}, 3*time.Minute, 250*time.Millisecond, "status branch: %s; last: %+v", what, last)
	return last
}

// readyIn tells whether a summary shows an object synced and ready in
// every given WEC.
func readyIn(s report.Summary, kind, namespace, name string, wecs ...string) bool {
	for _, sp := range s.Spaces {
		for _, o := range sp.Objects {
			if o.Kind != kind || o.Namespace != namespace || o.Name != name {
				continue
			}
			n := 0
			for _, w := range o.WECs {
				if w.Synced && w.Ready && contains(wecs, w.WEC) {
					n++
				}
			}
			return n == len(wecs)
		}
	}
	return false
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (f *flow) waitAvailable(wec, namespace, name string) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		d, err := f.wecs[wec].AppsV1().Deployments(namespace).Get(context.Background(), name, metav1.GetOptions{})
		return err == nil && available(d)
	}, 2*time.Minute, 200*time.Millisecond, "Deployment %s/%s Available in %s", namespace, name, wec)
}

func (f *flow) waitGone(wec string, gvr schema.GroupVersionResource, namespace, name string) {
	f.t.Helper()
	require.Eventually(f.t, func() bool {
		_, err := f.wecsDyn[wec].Resource(gvr).Namespace(namespace).Get(context.Background(), name, metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 2*time.Minute, 200*time.Millisecond, "%s %s/%s gone from %s", gvr.Resource, namespace, name, wec)
}

var (
	deploymentsGVR = schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}
	configMapsGVR  = schema.GroupVersionResource{Version: "v1", Resource: "configmaps"}
)

const nginxPolicy = `apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: nginx}
spec:
  clusterSelectors: [{matchLabels: {location-group: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/name: nginx}}], statusCollectors: [available]}]
---
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: available}
spec:
  filter: "inventory.name.startsWith('cluster')"
  combinedFields:
  - {name: available, type: SUM, subject: returned.status.availableReplicas}
  - {name: wecs, type: COUNT}
`

const nginxDeployment = `apiVersion: apps/v1
kind: Deployment
metadata: {name: nginx, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}
spec:
  replicas: 2
  selector: {matchLabels: {app: nginx}}
  template:
    metadata: {labels: {app: nginx}}
    spec: {containers: [{name: nginx, image: "public.ecr.aws/nginx/nginx:latest"}]}
`

// TestFlow walks KubeStellar's scenarios through a long-running
// `gitstellar run`, pushes and webhooks, asserting on the WECs, the WDS and
// the status branch at every step.
func TestFlow(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	f := newFlow(t)
	ctx := context.Background()
	both := []string{"cluster1", "cluster2"}

	// A foreign object in cluster1 with the name of one the WDS will hold.
	_, err := f.wecs["cluster1"].CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "shared"}, Data: map[string]string{"owner": "someone else"}}, metav1.CreateOptions{})
	require.NoError(t, err)

	t.Run("1 nginx to both edge WECs, the Deployment pushed before its Namespace", func(t *testing.T) {
		f.push("nginx, without its namespace", map[string]string{"wds1/nginx/policy.yaml": nginxPolicy, "wds1/nginx/deployment.yaml": nginxDeployment})
		f.push("its namespace", map[string]string{
			"wds1/nginx/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: nginx, labels: {app.kubernetes.io/name: nginx}}\n",
			"wds1/nginx/shared.yaml":    "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: shared, namespace: default, labels: {app.kubernetes.io/name: nginx}}\ndata: {owner: gitstellar}\n",
		})
		for _, w := range both {
			f.waitAvailable(w, "nginx", "nginx")
		}
		b, err := f.wds.Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "bindings"}).Get(ctx, "nginx", metav1.GetOptions{})
		require.NoError(t, err)
		dest, _, _ := unstructured.NestedSlice(b.Object, "spec", "destinations")
		assert.Len(t, dest, 2, "the Binding names both WECs")
		s := f.waitStatus("nginx ready in both WECs", func(s report.Summary) bool {
			return s.SourceCommit == f.lastHead && readyIn(s, "Deployment", "nginx", "nginx", both...)
		})
		assert.False(t, readyIn(s, "ConfigMap", "default", "shared", "cluster1"), "the foreign ConfigMap is a conflict in cluster1")
		combined := f.wds.Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "combinedstatuses"}).Namespace("nginx")
		require.Eventually(t, func() bool {
			l, err := combined.List(ctx, metav1.ListOptions{LabelSelector: "status.kubestellar.io/name=nginx"})
			if err != nil || len(l.Items) != 1 {
				return false
			}
			results, _, _ := unstructured.NestedSlice(l.Items[0].Object, "results")
			if len(results) != 1 {
				return false
			}
			rows, _, _ := unstructured.NestedSlice(results[0].(map[string]any), "rows")
			if len(rows) != 1 {
				return false
			}
			cols := rows[0].(map[string]any)["columns"].([]any)
			return cols[0].(map[string]any)["float"] == "4" && cols[1].(map[string]any)["float"] == "2"
		}, time.Minute, 200*time.Millisecond, "the CombinedStatus of the nginx Deployment: 2+2 available in 2 WECs")
		cm, err := f.wecs["cluster1"].CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, "someone else", cm.Data["owner"], "a foreign object is not overwritten")
	})

	t.Run("2 a CRD and its custom resources, the CRD first", func(t *testing.T) {
		f.push("widgets", map[string]string{"wds1/widgets/widgets.yaml": `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com, labels: {ship: widgets}}
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget}
  scope: Namespaced
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, properties: {spec: {type: object, properties: {size: {type: integer}}}}}}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: small, namespace: default, labels: {ship: widgets}}
spec: {size: 1}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: large, namespace: default, labels: {ship: widgets}}
spec: {size: 10}
---
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: widgets}
spec:
  clusterSelectors: [{matchLabels: {location-group: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {ship: widgets}}]}]
`})
		widgets := schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "widgets"}
		for _, w := range both {
			require.Eventually(t, func() bool {
				l, err := f.wecsDyn[w].Resource(widgets).Namespace("default").List(ctx, metav1.ListOptions{})
				return err == nil && len(l.Items) == 2
			}, 2*time.Minute, 200*time.Millisecond, "both Widgets in %s", w)
		}
		f.waitStatus("the Widgets ready", func(s report.Summary) bool {
			return readyIn(s, "Widget", "default", "large", both...) && readyIn(s, "CustomResourceDefinition", "", "widgets.example.com", both...)
		})
	})

	t.Run("3 a Helm-rendered workload selected by Helm's labels", func(t *testing.T) {
		rendered, err := os.ReadFile("testdata/helm/podinfo.yaml")
		require.NoError(t, err)
		f.push("podinfo, rendered by helm template", map[string]string{
			"wds1/podinfo/rendered.yaml":  string(rendered),
			"wds1/podinfo/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: podinfo, labels: {app.kubernetes.io/managed-by: Helm}}\n",
			"wds1/podinfo/policy.yaml":    "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: helm}\nspec:\n  clusterSelectors: [{matchLabels: {location-group: edge}}]\n  downsync: [{objectSelectors: [{matchLabels: {app.kubernetes.io/managed-by: Helm}}]}]\n",
		})
		for _, w := range both {
			f.waitAvailable(w, "podinfo", "podinfo")
			require.Eventually(t, func() bool {
				svc, err := f.wecs[w].CoreV1().Services("podinfo").Get(ctx, "podinfo", metav1.GetOptions{})
				return err == nil && svc.Labels["app.kubernetes.io/managed-by"] == "Helm"
			}, time.Minute, 200*time.Millisecond, "the Service in %s, with Helm's labels", w)
		}
		f.waitStatus("podinfo ready", func(s report.Summary) bool { return readyIn(s, "Deployment", "podinfo", "podinfo", both...) })
	})

	t.Run("4 singleton status: scale in Git, the WDS status follows", func(t *testing.T) {
		solo := func(replicas int) string {
			return fmt.Sprintf("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: solo, namespace: default, labels: {app: solo}}\nspec:\n  replicas: %d\n  selector: {matchLabels: {app: solo}}\n  template:\n    metadata: {labels: {app: solo}}\n    spec: {containers: [{name: c, image: nginx}]}\n", replicas)
		}
		f.push("solo", map[string]string{
			"wds1/solo/deployment.yaml": solo(1),
			"wds1/solo/policy.yaml":     "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: solo}\nspec:\n  clusterSelectors: [{matchLabels: {name: cluster1}}]\n  downsync: [{objectSelectors: [{matchLabels: {app: solo}}], wantSingletonReportedState: true}]\n",
		})
		wdsSolo := func(want int64) func() bool {
			return func() bool {
				d, err := f.wds.Resource(deploymentsGVR).Namespace("default").Get(ctx, "solo", metav1.GetOptions{})
				if err != nil {
					return false
				}
				n, _, _ := unstructured.NestedInt64(d.Object, "status", "availableReplicas")
				return n == want && d.GetLabels()["managed-by.kubestellar.io/singletonstatus"] == "true"
			}
		}
		require.Eventually(t, wdsSolo(1), 2*time.Minute, 200*time.Millisecond, "the WDS shows cluster1's 1 available replica")
		f.push("two solos", map[string]string{"wds1/solo/deployment.yaml": solo(2)})
		require.Eventually(t, wdsSolo(2), 2*time.Minute, 200*time.Millisecond, "the WDS status follows the scale")
		_, err := f.wecs["cluster2"].AppsV1().Deployments("default").Get(ctx, "solo", metav1.GetOptions{})
		assert.True(t, apierrors.IsNotFound(err), "the singleton is in cluster1 only")
	})

	t.Run("5 resiliency: gitstellar run killed mid-sync; a WEC down", func(t *testing.T) {
		files := map[string]string{}
		for i := range 40 {
			files[fmt.Sprintf("wds1/nginx/many-%02d.yaml", i)] = fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: many-%02d, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\ndata: {i: \"%d\"}\n", i, i)
		}
		f.push("40 more", files)
		time.Sleep(300 * time.Millisecond) // the sync is under way
		f.stop(syscall.SIGKILL)
		f.start()
		for _, w := range both {
			require.Eventually(t, func() bool {
				l, err := f.wecs[w].CoreV1().ConfigMaps("nginx").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=nginx"})
				return err == nil && len(l.Items) == 40
			}, 2*time.Minute, 200*time.Millisecond, "all 40 in %s after the restart", w)
		}

		require.NoError(t, f.env.Kill("cluster2-apiserver"))
		f.push("one more", map[string]string{"wds1/nginx/one-more.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one-more, namespace: nginx, labels: {app.kubernetes.io/name: nginx}}\n"})
		require.Eventually(t, func() bool {
			_, err := f.wecs["cluster1"].CoreV1().ConfigMaps("nginx").Get(ctx, "one-more", metav1.GetOptions{})
			return err == nil
		}, time.Minute, 200*time.Millisecond, "cluster1 goes on while cluster2 is down")
		f.waitStatus("cluster2 not ready, cluster1 ready", func(s report.Summary) bool {
			return s.SourceCommit == f.lastHead && readyIn(s, "ConfigMap", "nginx", "one-more", "cluster1") && !readyIn(s, "ConfigMap", "nginx", "one-more", "cluster2")
		})
		down := 10 * time.Second
		if full {
			down = time.Minute
		}
		time.Sleep(down)
		_, err := devenv.Up(ctx, devenv.Options{StateDir: f.env.Dir(), WECs: 2, StopWithParent: true})
		require.NoError(t, err)
		f.waitStatus("cluster2 caught up", func(s report.Summary) bool { return readyIn(s, "ConfigMap", "nginx", "one-more", both...) })
	})

	var itsSynced int // Synced Events on the ITS's Space after step 6
	t.Run("6 a broken push changes nothing, the status branch says where, the next push recovers", func(t *testing.T) {
		good := f.lastHead
		before, err := f.wecs["cluster1"].AppsV1().Deployments("nginx").Get(ctx, "nginx", metav1.GetOptions{})
		require.NoError(t, err)
		f.push("broken", map[string]string{"wds1/nginx/deployment.yaml": strings.Replace(nginxDeployment, "replicas: 2", "replicas: [3", 1)})
		itsBefore := f.spaceStatus("its1")
		s := f.waitStatus("the broken revision's error, with file:line", func(s report.Summary) bool {
			return len(s.Errors) > 0 && strings.Contains(s.Errors[0], "wds1/nginx/deployment.yaml:")
		})
		assert.Equal(t, good, s.SourceCommit, "the spaces still hold the good revision")
		broken := f.lastHead
		for _, space := range []string{"wds1", "its1"} {
			require.Eventually(t, func() bool {
				synced := meta.FindStatusCondition(f.spaceStatus(space).Conditions, "Synced")
				return synced != nil && synced.Status == metav1.ConditionFalse && synced.Reason == "RenderFailed" && strings.Contains(synced.Message, broken[:7])
			}, time.Minute, 200*time.Millisecond, "Space %s says the revision does not render: %+v", space, f.spaceStatus(space))
		}
		assert.Equal(t, good, f.spaceStatus("wds1").LastAppliedRevision, "the WDS still holds the good revision")
		after, err := f.wecs["cluster1"].AppsV1().Deployments("nginx").Get(ctx, "nginx", metav1.GetOptions{})
		require.NoError(t, err)
		assert.Equal(t, before.Generation, after.Generation, "nothing changed in the WEC")
		f.push("fixed: 3 replicas", map[string]string{"wds1/nginx/deployment.yaml": strings.Replace(nginxDeployment, "replicas: 2", "replicas: 3", 1)})
		f.waitStatus("recovered", func(s report.Summary) bool { return len(s.Errors) == 0 && s.SourceCommit == f.lastHead })
		wds := f.spaceStatus("wds1")
		assert.Equal(t, f.lastHead, wds.LastAppliedRevision, "the WDS holds the fix")
		assert.True(t, meta.IsStatusConditionTrue(wds.Conditions, "Synced"), "%+v", wds)
		assert.True(t, meta.IsStatusConditionTrue(wds.Conditions, "Ready"), "%+v", wds)
		assert.NotZero(t, wds.ObservedGeneration)
		its := f.spaceStatus("its1")
		assert.True(t, meta.IsStatusConditionTrue(its.Conditions, "Synced"), "%+v", its)
		assert.Equal(t, itsBefore.LastAppliedRevision, its.LastAppliedRevision, "revisions that change nothing in the ITS are not written into it")
		// Events at state changes only: the recovery is one in both
		// spaces (the broken revision wrote RenderFailed).
		for _, space := range []string{"wds1", "its1"} {
			require.Eventually(t, func() bool {
				ev := f.syncedEvents(space)
				return len(ev) > 0 && strings.HasPrefix(ev[len(ev)-1], "revision "+f.lastHead[:12])
			}, 10*time.Second, 100*time.Millisecond, "%s: a Synced Event for the recovery: %v", space, f.syncedEvents(space))
		}
		itsSynced = len(f.syncedEvents("its1"))
		require.Eventually(t, func() bool {
			d, err := f.wecs["cluster2"].AppsV1().Deployments("nginx").Get(ctx, "nginx", metav1.GetOptions{})
			return err == nil && *d.Spec.Replicas == 3
		}, time.Minute, 200*time.Millisecond, "the fix lands")
	})

	t.Run("7 a policy removed takes its objects from the WECs, not the foreign ones", func(t *testing.T) {
		// A bystander in the bound Namespace, made in cluster1 by hand: the
		// Namespace leaves, the bystander and so the Namespace stay there.
		bystander, err := f.wecs["cluster1"].CoreV1().ConfigMaps("nginx").Create(ctx, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "bystander"}, Data: map[string]string{"owner": "someone"}}, metav1.CreateOptions{})
		require.NoError(t, err)
		f.push("no more nginx policy", nil, "wds1/nginx/policy.yaml")
		for _, w := range both {
			f.waitGone(w, deploymentsGVR, "nginx", "nginx")
			f.waitGone(w, configMapsGVR, "nginx", "one-more")
		}
		cm, err := f.wecs["cluster1"].CoreV1().ConfigMaps("default").Get(ctx, "shared", metav1.GetOptions{})
		require.NoError(t, err, "the foreign ConfigMap stays")
		assert.Equal(t, "someone else", cm.Data["owner"])
		f.waitGone("cluster2", configMapsGVR, "default", "shared") // the one gitstellar created there
		_, err = f.wecs["cluster1"].AppsV1().Deployments("default").Get(ctx, "solo", metav1.GetOptions{})
		assert.NoError(t, err, "another policy's object stays")
		kept, err := f.wecs["cluster1"].CoreV1().ConfigMaps("nginx").Get(ctx, "bystander", metav1.GetOptions{})
		require.NoError(t, err, "the bystander survives its Namespace leaving")
		assert.Equal(t, bystander.UID, kept.UID)
		ns, err := f.wecs["cluster1"].CoreV1().Namespaces().Get(ctx, "nginx", metav1.GetOptions{})
		require.NoError(t, err, "the Namespace holding it stays")
		assert.Nil(t, ns.DeletionTimestamp)
		require.Eventually(t, func() bool {
			evs, err := kubernetes.NewForConfigOrDie(f.env.Config("its1")).CoreV1().Events("mailbox-cluster1").List(ctx, metav1.ListOptions{FieldSelector: "reason=Kept"})
			return err == nil && len(evs.Items) > 0 && strings.Contains(evs.Items[0].Message, "Namespace nginx kept in WEC cluster1") && strings.Contains(evs.Items[0].Message, "bystander")
		}, 30*time.Second, 200*time.Millisecond, "the kept Namespace is reported")
		f.waitStatus("the status branch no longer lists nginx", func(s report.Summary) bool {
			return s.SourceCommit == f.lastHead && !readyIn(s, "Deployment", "nginx", "nginx", "cluster1")
		})
		assert.Len(t, f.syncedEvents("its1"), itsSynced, "a revision that changes nothing in the ITS writes no Event there: %v", f.syncedEvents("its1"))
		assert.True(t, strings.HasPrefix(f.syncedEvents("wds1")[len(f.syncedEvents("wds1"))-1], "revision "+f.lastHead[:12]), "the WDS changed: an Event")
	})

	t.Run("8 observability: metrics, WorkloadCluster status, Events", func(t *testing.T) {
		// A change for both WECs, applied by this process's agents (the
		// metrics are the process's own, and it was restarted).
		f.push("a probe for both", map[string]string{"wds1/probe.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: probe, namespace: default, labels: {probe: \"yes\"}}\n---\n" +
			"apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: probe}\nspec:\n  clusterSelectors: [{matchLabels: {location-group: edge}}]\n  downsync: [{objectSelectors: [{matchLabels: {probe: \"yes\"}}]}]\n"})
		f.waitStatus("the probe is ready in both WECs", func(s report.Summary) bool {
			return s.SourceCommit == f.lastHead && readyIn(s, "ConfigMap", "default", "probe", both...)
		})
		scrape := func() string {
			resp, err := http.Get("http://" + f.metrics + "/metrics")
			require.NoError(t, err)
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			return string(body)
		}
		scraped := scrape()
		for _, w := range both {
			assert.Regexp(t, `(?m)^gitstellar_propagation_latency_seconds_count\{cluster="`+w+`"\} [1-9]`, scraped)
			assert.Regexp(t, `(?m)^gitstellar_agent_applies_total\{cluster="`+w+`"\} [1-9]`, scraped)
		}
		assert.Regexp(t, `(?m)^gitstellar_leader 1$`, scraped)
		its := dynamic.NewForConfigOrDie(f.env.Config("its1"))
		for _, w := range both {
			var status any
			require.Eventually(t, func() bool { // cluster2's outage may have ended a moment ago
				u, err := its.Resource(schema.GroupVersionResource{Group: "gitstellar.io", Version: "v1alpha1", Resource: "workloadclusters"}).Get(ctx, w, metav1.GetOptions{})
				require.NoError(t, err)
				status = u.Object["status"]
				conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
				return len(conds) == 1 && conds[0].(map[string]any)["reason"] == "AgentConnected"
			}, time.Minute, 200*time.Millisecond, "%s's agent is connected: %v", w, status)
			// The agents run in-process: they beat to the process's
			// cluster monitor in memory, and renew no Lease in the ITS.
			_, err := its.Resource(schema.GroupVersionResource{Group: "coordination.k8s.io", Version: "v1", Resource: "leases"}).
				Namespace("mailbox-"+w).Get(ctx, "gitstellar-agent", metav1.GetOptions{})
			assert.True(t, apierrors.IsNotFound(err), "%s: no agent Lease in the mailbox: %v", w, err)
		}
		wdsEvents, err := kubernetes.NewForConfigOrDie(f.env.Config("wds1")).CoreV1().Events("default").List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.kind=BindingPolicy"})
		require.NoError(t, err)
		var reasons []string
		for _, e := range wdsEvents.Items {
			reasons = append(reasons, e.InvolvedObject.Name+" "+e.Reason)
		}
		assert.Contains(t, reasons, "nginx Bound", "the policy's Event")
		assert.Contains(t, reasons, "probe Bound", "the policy's Event")
	})

	t.Run("9 WEC properties from the repository feed templates", func(t *testing.T) {
		// KubeStellar's customization-properties: a ConfigMap per WEC,
		// declared beside the WorkloadClusters, applied into the ITS;
		// binaryData is read too.
		f.push("WEC properties and a templated object", map[string]string{
			"clusters/properties.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster1}\ndata: {greeting: hello-one}\n---\n" +
				"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cluster2, namespace: customization-properties}\nbinaryData: {greeting: aGVsbG8tdHdv}\n",
			"wds1/templated.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: templated, namespace: default, labels: {probe: \"yes\"}, annotations: {control.kubestellar.io/expand-templates: \"true\"}}\n" +
				"data: {says: \"{{.greeting}} from {{.clusterName}}\"}\n",
		})
		for w, want := range map[string]string{"cluster1": "hello-one from cluster1", "cluster2": "hello-two from cluster2"} {
			require.Eventually(t, func() bool {
				cm, err := f.wecs[w].CoreV1().ConfigMaps("default").Get(ctx, "templated", metav1.GetOptions{})
				return err == nil && cm.Data["says"] == want
			}, time.Minute, 200*time.Millisecond, "%s: the template expands with its properties", w)
		}
		cm, err := kubernetes.NewForConfigOrDie(f.env.Config("its1")).CoreV1().ConfigMaps("customization-properties").Get(ctx, "cluster1", metav1.GetOptions{})
		require.NoError(t, err, "the property ConfigMap is in the ITS")
		assert.Equal(t, "hello-one", cm.Data["greeting"])
	})
}
