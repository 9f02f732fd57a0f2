package plan_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/plan"
	"github.com/gitstellar/gitstellar/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// revision renders a directory as a plan side.
func revision(t *testing.T, name, dir string) plan.Revision {
	t.Helper()
	res, err := render.Directory(context.Background(), dir, render.Options{})
	if err != nil {
		return plan.Revision{Name: name, Err: err}
	}
	return plan.Revision{Name: name, Result: res}
}

// baseOf is a case's base revision: its own base/ if it has one, else
// testdata/base.
func baseOf(caseDir string) string {
	if fi, err := os.Stat(filepath.Join(caseDir, "base")); err == nil && fi.IsDir() {
		return filepath.Join(caseDir, "base")
	}
	return "testdata/base"
}

// headOf builds a case's head revision: its base, the case's overlay
// files on top, minus the paths in its remove.txt.
func headOf(t *testing.T, caseDir string) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(baseOf(caseDir))))
	overlay := filepath.Join(caseDir, "overlay")
	if _, err := os.Stat(overlay); err == nil {
		require.NoError(t, filepath.WalkDir(overlay, func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(overlay, p)
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			target := filepath.Join(dir, rel)
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		}))
	}
	if b, err := os.ReadFile(filepath.Join(caseDir, "remove.txt")); err == nil {
		for _, p := range strings.Fields(string(b)) {
			require.NoError(t, os.Remove(filepath.Join(dir, p)))
		}
	}
	return dir
}

// TestPlanGolden plans every case of testdata/cases against testdata/base
// and compares the three formats with the golden files of the case.
func TestPlanGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata/cases")
	require.NoError(t, err)
	require.NotEmpty(t, cases)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			caseDir := filepath.Join("testdata/cases", c.Name())
			p := plan.Compute(revision(t, "base", baseOf(caseDir)), revision(t, "head", headOf(t, caseDir)), nil)
			for _, f := range []struct {
				file  string
				write func(*bytes.Buffer) error
			}{
				{"plan.txt", func(b *bytes.Buffer) error { return p.WriteText(b) }},
				{"plan.md", func(b *bytes.Buffer) error { return p.WriteMarkdown(b) }},
				{"plan.json", func(b *bytes.Buffer) error { return p.WriteJSON(b) }},
			} {
				var got bytes.Buffer
				require.NoError(t, f.write(&got))
				golden := filepath.Join(caseDir, f.file)
				if *update {
					require.NoError(t, os.WriteFile(golden, got.Bytes(), 0o644))
				}
				want, err := os.ReadFile(golden)
				require.NoError(t, err, "run with -update to write the golden files")
				if diff := cmp.Diff(string(want), got.String()); diff != "" {
					t.Errorf("%s differs (-want +got; -update rewrites it):\n%s", golden, diff)
				}
				assert.NotContains(t, got.String(), "secret-value", "%s: a Secret value is printed", f.file)
			}
			// Deterministic: a second computation gives the same plan.
			again := plan.Compute(revision(t, "base", baseOf(caseDir)), revision(t, "head", headOf(t, caseDir)), nil)
			var a, b bytes.Buffer
			require.NoError(t, p.WriteJSON(&a))
			require.NoError(t, again.WriteJSON(&b))
			assert.Equal(t, a.String(), b.String())
		})
	}
}

// TestPlanExpectations states what each case must show, independently of
// the golden files' exact text.
func TestPlanExpectations(t *testing.T) {
	compute := func(name string) *plan.Plan {
		return plan.Compute(revision(t, "base", "testdata/base"), revision(t, "head", headOf(t, filepath.Join("testdata/cases", name))), nil)
	}
	changes := func(p *plan.Plan) map[string]string { // "wec verb kind/name" → policies
		out := map[string]string{}
		for _, w := range p.WECs {
			for verb, list := range map[string][]plan.ObjectChange{"create": w.Created, "update": w.Updated, "delete": w.Deleted} {
				for _, c := range list {
					out[w.WEC+" "+verb+" "+c.Kind+"/"+c.Name] = strings.Join(c.Policies, ",")
				}
			}
		}
		return out
	}
	webObjects := func(wec, verb string) map[string]string {
		return map[string]string{
			wec + " " + verb + " Namespace/web": "web", wec + " " + verb + " Deployment/web": "web",
			wec + " " + verb + " ConfigMap/settings": "web", wec + " " + verb + " Secret/creds": "web",
		}
	}

	p := compute("wec-label")
	assert.Equal(t, webObjects("core1", "create"), changes(p), "core1 joins the edge")
	assert.Contains(t, p.WECs[0].Created[0].Diff+p.WECs[0].Created[1].Diff+p.WECs[0].Created[2].Diff+p.WECs[0].Created[3].Diff,
		"region: west", "the templated ConfigMap expands with core1's labels")

	p = compute("narrow-selector")
	assert.Equal(t, webObjects("edge2", "delete"), changes(p))
	require.Len(t, p.Policies, 1)
	assert.Equal(t, []string{"edge2"}, p.Policies[0].WECsLost)

	p = compute("delete-policy")
	want := webObjects("edge1", "delete")
	for k, v := range webObjects("edge2", "delete") {
		want[k] = v
	}
	assert.Equal(t, want, changes(p))
	require.Len(t, p.Policies, 1)
	assert.Equal(t, "removed", p.Policies[0].Status)
	assert.Contains(t, p.Warnings, "wds1: Namespace web is bound to no WEC")

	p = compute("customtransform")
	assert.Equal(t, map[string]string{"edge1 update ConfigMap/settings": "web", "edge2 update ConfigMap/settings": "web"}, changes(p),
		"the changed CustomTransform re-applies to the ConfigMaps it changes")
	assert.Contains(t, p.WECs[0].Updated[0].Diff, "-  cluster: edge1")
	assert.Contains(t, p.WECs[0].Updated[0].Diff, "+  debug: \"true\"")

	p = compute("templated")
	assert.Equal(t, map[string]string{"edge1 update ConfigMap/settings": "web", "edge2 update ConfigMap/settings": "web"}, changes(p))
	assert.Contains(t, p.WECs[1].Updated[0].Diff, "+  region: zone-east", "edge2's new region label and the new template")

	p = compute("broken")
	assert.Empty(t, changes(p), "a broken head applies nothing")
	require.NotEmpty(t, p.Head.Errors)
	assert.Contains(t, p.Head.Errors[0], "wds1/web/deployment.yaml:")

	p = compute("secret")
	assert.Equal(t, map[string]string{"edge1 update Secret/creds": "web", "edge2 update Secret/creds": "web"}, changes(p))
	assert.Equal(t, "(a Secret: changed; its content is not shown)", p.WECs[0].Updated[0].Diff)

	p = compute("failed-template")
	assert.Empty(t, changes(p), "a template that does not expand changes nothing of its policy in that WEC")
	for _, wec := range []string{"edge1", "edge2"} {
		assert.True(t, slices.ContainsFunc(p.Warnings, func(w string) bool {
			return strings.HasPrefix(w, "wds1: BindingPolicy web: WEC "+wec+": templates do not expand") && strings.Contains(w, "owner")
		}), "%s: the failed expansion is a warning: %v", wec, p.Warnings)
	}

	// A namespaced object without a namespace lands in "default", as run
	// applies it; a cluster-scoped one has none.
	p = compute("default-namespace")
	assert.Equal(t, map[string]string{
		"edge1 create ConfigMap/loose": "web", "edge1 create ClusterRole/loose-reader": "web",
		"edge2 create ConfigMap/loose": "web", "edge2 create ClusterRole/loose-reader": "web",
	}, changes(p))
	for _, w := range p.WECs {
		for _, c := range w.Created {
			want := map[string]string{"ConfigMap": "default", "ClusterRole": ""}[c.Kind]
			assert.Equal(t, want, c.Namespace, "%s %s/%s", w.WEC, c.Kind, c.Name)
			if c.Kind == "ConfigMap" {
				assert.Contains(t, c.Diff, "namespace: default")
			}
		}
	}

	// A WEC's property ConfigMap in the repository feeds its templates.
	p = compute("properties")
	assert.Equal(t, map[string]string{"edge1 update ConfigMap/settings": "web"}, changes(p))
	require.Len(t, p.WECs, 1)
	assert.Contains(t, p.WECs[0].Updated[0].Diff, "+  region: from-binary-data")

	// A singleton is decided per object over every policy asking it: two
	// policies sending solo to two WECs leave it without one.
	p = compute("singleton-two-policies")
	assert.Equal(t, map[string]string{"edge2 create ConfigMap/solo": "solo-south"}, changes(p))
	assert.Contains(t, p.Warnings, "wds1: ConfigMap default/solo: a singleton reported state is asked (BindingPolicy solo, solo-south) but it goes to 2 WECs; none is written")
	assert.NotContains(t, compute("properties").Warnings, "wds1: ConfigMap default/solo: a singleton reported state is asked (BindingPolicy solo) but it goes to 1 WECs; none is written")

	// Warnings that hold in every case.
	p = compute("narrow-selector")
	assert.Contains(t, p.Warnings, "WEC core1 (ITS its1) is selected by no BindingPolicy")
	assert.NotContains(t, p.Warnings, "wds1: BindingPolicy web names StatusCollector ready, which is not defined", "it is defined")
}

// TestInventoryOverride: WECs from a live ITS replace the repository's.
func TestInventoryOverride(t *testing.T) {
	base := revision(t, "base", "testdata/base")
	p := plan.Compute(base, base, nil)
	assert.False(t, p.Changes(), "a revision against itself changes nothing")
	live := plan.Inventory{plan.AnyITS: {{Name: "edge9", Labels: map[string]string{"location": "edge"}}}}
	before := plan.Compute(revision(t, "base", "testdata/base"), revision(t, "head", "testdata/base"), live)
	assert.False(t, before.Changes())
	assert.Contains(t, before.Warnings, "wds1: BindingPolicy solo selects no WEC", "the live inventory has no tier: a WEC")
}

// TestPlanHelmChartPerWEC: a release whose values hold WEC properties
// lands in each WEC with that WEC's values, as plan shows.
func TestPlanHelmChartPerWEC(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS("testdata/base")))
	for name, content := range map[string]string{
		"wds1/charts/web/Chart.yaml":            "apiVersion: v2\nname: web\nversion: 1.0.0\n",
		"wds1/charts/web/templates/config.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ .Release.Name }}-config, labels: {app: web}}\ndata: {region: {{ .Values.region | quote }}}\n",
		"wds1/webchart/helmchart.yaml":          "apiVersion: gitstellar.io/v1alpha1\nkind: HelmChart\nmetadata: {name: edge, namespace: web}\nspec:\n  chart: ../charts/web\n  values: {region: \"{{ .region }}\"}\n  expandTemplates: true\n",
	} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644))
	}
	p := plan.Compute(revision(t, "base", "testdata/base"), revision(t, "head", dir), nil)
	require.Empty(t, p.Head.Errors)
	regions := map[string]string{}
	for _, w := range p.WECs {
		for _, c := range w.Created {
			if c.Kind == "ConfigMap" && c.Name == "edge-config" {
				regions[w.WEC] = c.Diff
			}
		}
	}
	require.Len(t, regions, 2, "the release's ConfigMap lands in both edge WECs: %+v", p.WECs)
	assert.Contains(t, regions["edge1"], "region: north")
	assert.Contains(t, regions["edge2"], "region: south")
}
