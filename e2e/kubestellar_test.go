package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// scenarioExpect is a scenario's expect.yaml: what KubeStellar's
// documentation says a user sees once the scenario is applied.
type scenarioExpect struct {
	// WECs: objects in the named WECs, holding at least the fields of
	// Object (maps compared key by key, everything else exactly), and
	// none of AbsentFields (dotted paths).
	WECs []struct {
		In           []string       `json:"in"`
		Object       map[string]any `json:"object"`
		AbsentFields []fieldPath    `json:"absentFields"`
	} `json:"wecs"`
	// Absent: objects that must not be in the named WECs.
	Absent []struct {
		In     []string       `json:"in"`
		Object map[string]any `json:"object"`
	} `json:"absent"`
	// WDS: objects of the WDS, as for WECs.
	WDS []struct {
		Object       map[string]any `json:"object"`
		AbsentFields []fieldPath    `json:"absentFields"`
	} `json:"wds"`
	// CombinedStatuses: the exact results of the CombinedStatus of an
	// object and a policy.
	CombinedStatuses []struct {
		Group     string `json:"group"`
		Resource  string `json:"resource"`
		Namespace string `json:"namespace"`
		Name      string `json:"name"`
		Policy    string `json:"policy"`
		Results   []any  `json:"results"`
	} `json:"combinedStatuses"`
	// StatusBranchCharts: chart releases the status branch's summary
	// lists (subset of each, by field).
	StatusBranchCharts []map[string]string `json:"statusBranchCharts"`
}

// fieldPath is a field's path: dotted ("spec.ports"), or a list of keys
// when a key holds dots ([metadata, labels, example.com/x]).
type fieldPath []string

func (p *fieldPath) UnmarshalJSON(b []byte) error {
	var dotted string
	if err := json.Unmarshal(b, &dotted); err == nil {
		*p = strings.Split(dotted, ".")
		return nil
	}
	return json.Unmarshal(b, (*[]string)(p))
}

// TestKubeStellarScenarios runs KubeStellar's documented scenarios, each a
// directory of testdata/kubestellar, on one `gitstellar run` with two WECs
// labelled as in KubeStellar's examples: the scenario's wds/ is pushed as
// wds1/<scenario>/, and what its expect.yaml says must come to hold.
func TestKubeStellarScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	entries, err := os.ReadDir("testdata/kubestellar")
	require.NoError(t, err)
	f := newFlow(t)
	clusters := map[string]*scenarioCluster{"wds1": newScenarioCluster(t, f, "wds1")}
	for _, w := range []string{"cluster1", "cluster2"} {
		clusters[w] = newScenarioCluster(t, f, w)
	}
	outer := t // what every later revision renders lives as long as the test
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			dir := filepath.Join("testdata/kubestellar", e.Name())
			files := scenarioFiles(t, filepath.Join(dir, "wds"), "wds1/"+e.Name())
			if charts, err := os.ReadFile(filepath.Join(dir, "chartrepo.txt")); err == nil {
				repo := serveChartRepository(outer, dir, strings.Fields(string(charts)))
				for name, content := range files {
					files[name] = strings.ReplaceAll(content, "${CHART_REPO}", repo)
				}
			}
			if charts, err := os.ReadFile(filepath.Join(dir, "ociregistry.txt")); err == nil {
				repo := serveChartRegistry(outer, dir, strings.Fields(string(charts)))
				for name, content := range files {
					files[name] = strings.ReplaceAll(content, "${CHART_OCI}", repo)
				}
			}
			f.push("KubeStellar scenario "+e.Name(), files)
			expectScenario(t, f, clusters, filepath.Join(dir, "expect.yaml"))
			// then/: a second commit on top of the first, and what
			// holds after it.
			if _, err := os.Stat(filepath.Join(dir, "then")); err == nil {
				f.push("KubeStellar scenario "+e.Name()+", then", scenarioFiles(t, filepath.Join(dir, "then", "wds"), "wds1/"+e.Name()))
				expectScenario(t, f, clusters, filepath.Join(dir, "then", "expect.yaml"))
			}
		})
	}
}

// scenarioFiles reads a scenario's wds/ as the repository files under
// prefix.
func scenarioFiles(t *testing.T, dir, prefix string) map[string]string {
	t.Helper()
	files := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[prefix+"/"+filepath.ToSlash(rel)] = string(b)
		return err
	}))
	return files
}

// expectScenario waits, in the order expect.yaml lists them, until each of
// its expectations holds.
func expectScenario(t *testing.T, f *flow, clusters map[string]*scenarioCluster, expectFile string) {
	t.Helper()
	raw, err := os.ReadFile(expectFile)
	require.NoError(t, err)
	var want scenarioExpect
	require.NoError(t, yaml.UnmarshalStrict(raw, &want))
	check := func(what string, ok func() string) {
		t.Helper()
		var last string
		if !eventuallyTrue(2*time.Minute, func() bool { last = ok(); return last == "" }) {
			t.Errorf("%s: %s", what, last)
		}
	}
	for _, w := range want.WECs {
		for _, wec := range w.In {
			check(wec+": "+describe(w.Object), func() string { return clusters[wec].holds(w.Object, w.AbsentFields) })
		}
	}
	for _, a := range want.Absent {
		for _, wec := range a.In {
			check(wec+": no "+describe(a.Object), func() string { return clusters[wec].lacks(a.Object) })
		}
	}
	for _, w := range want.WDS {
		check("wds1: "+describe(w.Object), func() string { return clusters["wds1"].holds(w.Object, w.AbsentFields) })
	}
	for _, want := range want.StatusBranchCharts {
		check(fmt.Sprintf("the status branch lists chart release %v", want), func() string {
			s, err := readStatusSummary(f.repo)
			if err != nil {
				return err.Error()
			}
			for _, c := range s.Charts {
				got := map[string]string{"source": c.Source, "release": c.Release, "chart": c.Chart, "version": c.Version, "repository": c.Repository, "digest": c.Digest}
				if subset("", toAny(want), toAny(got)) == "" {
					return ""
				}
			}
			return fmt.Sprintf("charts are %+v", s.Charts)
		})
	}
	for _, cs := range want.CombinedStatuses {
		check(fmt.Sprintf("the CombinedStatus of %s %s/%s and %s", cs.Resource, cs.Namespace, cs.Name, cs.Policy), func() string {
			return clusters["wds1"].combinedStatus(cs.Group, cs.Resource, cs.Namespace, cs.Name, cs.Policy, cs.Results)
		})
	}
}

// scenarioCluster reads one cluster's objects by apiVersion and kind.
type scenarioCluster struct {
	t      *testing.T
	client dynamic.Interface
	mapper *restmapper.DeferredDiscoveryRESTMapper
}

func newScenarioCluster(t *testing.T, f *flow, name string) *scenarioCluster {
	cfg := f.env.Config(name)
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	require.NoError(t, err)
	return &scenarioCluster{t: t, client: dynamic.NewForConfigOrDie(cfg), mapper: restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))}
}

// get reads the object that want names; "" and the object, or why not.
func (c *scenarioCluster) get(want map[string]any) (*unstructured.Unstructured, string) {
	u := &unstructured.Unstructured{Object: want}
	gvk := u.GroupVersionKind()
	m, err := c.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		c.mapper.Reset()
		return nil, err.Error()
	}
	got, err := c.client.Resource(m.Resource).Namespace(u.GetNamespace()).Get(context.Background(), u.GetName(), metav1.GetOptions{})
	if err != nil {
		return nil, err.Error()
	}
	return got, ""
}

func (c *scenarioCluster) holds(want map[string]any, absent []fieldPath) string {
	got, why := c.get(want)
	if got == nil {
		return why
	}
	if diff := subset("", want, got.Object); diff != "" {
		return diff
	}
	for _, p := range absent {
		if _, found, _ := unstructured.NestedFieldNoCopy(got.Object, p...); found {
			return strings.Join(p, ".") + " is there"
		}
	}
	return ""
}

func (c *scenarioCluster) lacks(want map[string]any) string {
	got, why := c.get(want)
	switch {
	case got != nil:
		return "it is there"
	case strings.Contains(why, "not found"):
		return ""
	}
	return why
}

func (c *scenarioCluster) combinedStatus(group, resource, namespace, name, policy string, results []any) string {
	list, err := c.client.Resource(schema.GroupVersionResource{Group: "control.kubestellar.io", Version: "v1alpha1", Resource: "combinedstatuses"}).
		Namespace(namespace).List(context.Background(), metav1.ListOptions{LabelSelector: fmt.Sprintf(
		"status.kubestellar.io/api-group=%s,status.kubestellar.io/resource=%s,status.kubestellar.io/name=%s,status.kubestellar.io/binding-policy=%s",
		group, resource, name, policy)})
	switch {
	case err != nil && !apierrors.IsNotFound(err):
		return err.Error()
	case err != nil || len(list.Items) != 1:
		return "no CombinedStatus (or more than one)"
	}
	got, _ := json.Marshal(list.Items[0].Object["results"])
	want, _ := json.Marshal(results)
	if string(got) != string(want) {
		return fmt.Sprintf("results are %s, want %s", got, want)
	}
	return ""
}

// subset says where got lacks or differs from want ("" when it holds it):
// maps key by key, everything else exactly.
func subset(path string, want, got any) string {
	if wm, ok := want.(map[string]any); ok {
		gm, ok := got.(map[string]any)
		if !ok {
			return fmt.Sprintf("%s: not an object: %v", path, got)
		}
		for k, wv := range wm {
			if d := subset(strings.TrimPrefix(path+"."+k, "."), wv, gm[k]); d != "" {
				return d
			}
		}
		return ""
	}
	wj, _ := json.Marshal(want)
	gj, _ := json.Marshal(got)
	if string(wj) != string(gj) {
		return fmt.Sprintf("%s is %s, want %s", path, gj, wj)
	}
	return ""
}

func describe(o map[string]any) string {
	u := &unstructured.Unstructured{Object: o}
	if u.GetNamespace() != "" {
		return u.GetKind() + " " + u.GetNamespace() + "/" + u.GetName()
	}
	return u.GetKind() + " " + u.GetName()
}

// eventuallyTrue polls ok until it holds or the time is up.
func eventuallyTrue(within time.Duration, ok func() bool) bool {
	deadline := time.Now().Add(within)
	for {
		if ok() {
			return true
		}
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serveChartRepository serves, on 127.0.0.1 until the test ends, a chart
// repository holding the charts of the given directories (relative to
// dir), packaged as `helm package` does, with an index.yaml giving each
// archive's sha256; it returns its URL.
func serveChartRepository(t *testing.T, dir string, charts []string) string {
	t.Helper()
	archives := map[string][]byte{}
	var index strings.Builder
	index.WriteString("apiVersion: v1\nentries:\n")
	for _, c := range charts {
		name, version, archive := packageChartDir(t, filepath.Join(dir, c))
		file := fmt.Sprintf("%s-%s.tgz", name, version)
		archives["/"+file] = archive
		sum := sha256.Sum256(archive)
		fmt.Fprintf(&index, "  %s:\n  - {version: %q, urls: [%s], digest: %s}\n", name, version, file, hex.EncodeToString(sum[:]))
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path == "/index.yaml" {
			_, _ = w.Write([]byte(index.String()))
			return
		}
		if a, ok := archives[req.URL.Path]; ok {
			_, _ = w.Write(a)
			return
		}
		http.NotFound(w, req)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// packageChartDir packages a chart directory as `helm package` does: its
// files under a directory named like the chart.
func packageChartDir(t *testing.T, chartDir string) (name, version string, archive []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	require.NoError(t, err)
	var meta struct{ Name, Version string }
	require.NoError(t, yaml.Unmarshal(raw, &meta))
	var files []ocitest.File
	require.NoError(t, filepath.WalkDir(chartDir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := os.ReadFile(p)
		rel, _ := filepath.Rel(chartDir, p)
		files = append(files, ocitest.File{Name: meta.Name + "/" + filepath.ToSlash(rel), Body: string(body)})
		return err
	}))
	return meta.Name, meta.Version, ocitest.TarGz(t, files)
}

// serveChartRegistry serves, on 127.0.0.1 until the test ends, an OCI
// registry holding the charts of the given directories pushed as `helm
// push` does; it returns the registry path, oci://host/charts.
func serveChartRegistry(t *testing.T, dir string, charts []string) string {
	t.Helper()
	host := ocitest.Registry(t)
	for _, c := range charts {
		name, version, archive := packageChartDir(t, filepath.Join(dir, c))
		ocitest.Push(t, host+"/charts/"+name+":"+version, ocitest.HelmConfig, ocitest.HelmContent, archive, nil)
	}
	return "oci://" + host + "/charts"
}

func toAny(m map[string]string) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
