package report_test

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/report"
)

func statusPtr[T any](v T) *T { return &v }

// statusFixture has two WDSes, objects bound to two WECs, an error, an
// object not ready, a cluster-scoped object, a policy error and a render
// error.
func statusFixture() report.Summary {
	return report.Summary{
		SourceCommit: "3f2a9c1e5b7d4f60a1b2c3d4e5f60718293a4b5c",
		Errors:       []string{"wds2/db/broken.yaml:3: yaml: mapping values are not allowed in this context"},
		Spaces: []report.SpaceSummary{{
			Name: "wds1",
			Policies: []report.PolicySummary{{
				Name:    "nginx-bpolicy",
				WECs:    []string{"cluster1", "cluster2"},
				Objects: []string{"/Namespace//nginx", "apps/Deployment/nginx/nginx-deployment"},
			}},
			Objects: []report.ObjectSummary{{
				Version: "v1", Kind: "Namespace", Name: "nginx",
				Policies: []string{"nginx-bpolicy"},
				WECs: []report.WECObjectStatus{
					{WEC: "cluster1", Synced: true, Ready: true},
					{WEC: "cluster2", Synced: true, Ready: true},
				},
			}, {
				Group: "apps", Version: "v1", Kind: "Deployment", Namespace: "nginx", Name: "nginx-deployment",
				Policies: []string{"nginx-bpolicy"},
				WECs: []report.WECObjectStatus{
					{WEC: "cluster1", Synced: true, Ready: true,
						Status: map[string]any{"replicas": 2, "readyReplicas": 2, "availableReplicas": 2}},
					{WEC: "cluster2", Synced: true, Ready: false, Message: "Deployment does not have minimum availability: 0/2 replicas available",
						Status: map[string]any{"replicas": 2, "unavailableReplicas": 2}},
				},
				Combined: []report.PolicyCombination{{
					Policy: "nginx-bpolicy",
					Results: []controlv1alpha1.NamedStatusCombination{{
						Name:        "ready-replicas",
						ColumnNames: []string{"wec", "ready"},
						Rows: []controlv1alpha1.StatusCombinationRow{
							{Columns: []controlv1alpha1.Value{{Type: controlv1alpha1.TypeString, String: statusPtr("cluster1")}, {Type: controlv1alpha1.TypeNumber, Float: statusPtr("2")}}},
							{Columns: []controlv1alpha1.Value{{Type: controlv1alpha1.TypeString, String: statusPtr("cluster2")}, {Type: controlv1alpha1.TypeNumber, Float: statusPtr("0")}}},
						},
					}},
				}},
			}},
		}, {
			Name: "wds2",
			Policies: []report.PolicySummary{{
				Name:    "db-policy",
				WECs:    []string{"cluster1", "cluster2"},
				Objects: []string{"/ConfigMap/db/db-config"},
				Errors:  []string{"Binding db-policy: WEC cluster2: mailbox not reachable"},
			}},
			Objects: []report.ObjectSummary{{
				Version: "v1", Kind: "ConfigMap", Namespace: "db", Name: "db-config",
				Policies: []string{"db-policy"},
				WECs: []report.WECObjectStatus{
					{WEC: "cluster1", Synced: true, Ready: true},
					{WEC: "cluster2", Message: "denied: field `data` | is *bad* <script>\nby the admission webhook \"policy.example.com\" of the WEC, which says much more than fits"},
				},
			}},
		}},
	}
}

func TestRenderStatusFilesGolden(t *testing.T) {
	files, err := report.RenderStatusFiles(statusFixture())
	require.NoError(t, err)
	dir := filepath.Join("testdata", "files", "two-wds")
	if *update {
		require.NoError(t, os.RemoveAll(dir))
		for p, content := range files {
			full := filepath.Join(dir, filepath.FromSlash(p))
			require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o755))
			require.NoError(t, os.WriteFile(full, content, 0o644))
		}
	}
	golden := readTree(t, dir)
	assert.ElementsMatch(t, slices.Collect(maps.Keys(golden)), slices.Collect(maps.Keys(files)), "the files (run with -update to rewrite)")
	for p, want := range golden {
		if diff := cmp.Diff(want, string(files[p])); diff != "" {
			t.Errorf("%s differs from the golden file (-want +got; -update rewrites it):\n%s", p, diff)
		}
	}
	assert.Contains(t, golden, "wds1/core/Namespace/_cluster/nginx.yaml", "the cluster-scoped object")
	assert.Contains(t, golden, "wds1/apps/Deployment/nginx/nginx-deployment.yaml")
	assert.Contains(t, golden, "wds2/core/ConfigMap/db/db-config.yaml")
}

// The same state in another order gives the same bytes.
func TestRenderStatusFilesIsDeterministic(t *testing.T) {
	want, err := report.RenderStatusFiles(statusFixture())
	require.NoError(t, err)
	s := statusFixture()
	slices.Reverse(s.Spaces)
	for i := range s.Spaces {
		slices.Reverse(s.Spaces[i].Objects)
		for j := range s.Spaces[i].Objects {
			slices.Reverse(s.Spaces[i].Objects[j].WECs)
		}
		for j := range s.Spaces[i].Policies {
			slices.Reverse(s.Spaces[i].Policies[j].Objects)
			slices.Reverse(s.Spaces[i].Policies[j].WECs)
		}
	}
	for range 3 {
		got, err := report.RenderStatusFiles(s)
		require.NoError(t, err)
		assert.Empty(t, cmp.Diff(want, got))
	}
	assert.Equal(t, statusFixture().Spaces[0].Name, "wds1", "the input is not changed")
}

func TestRenderStatusFilesReadme(t *testing.T) {
	files, err := report.RenderStatusFiles(statusFixture())
	require.NoError(t, err)
	readme := string(files[report.StatusReadmeFile])
	for _, want := range []string{
		"Source commit: 3f2a9c1e5b7d4f60a1b2c3d4e5f60718293a4b5c",
		"> [!CAUTION]",
		"wds2/db/broken.yaml:3: yaml: mapping values",
		"### BindingPolicy nginx-bpolicy: 3/4 ready",
		"### BindingPolicy db-policy: 1/2 ready",
		"| Deployment.apps nginx/nginx-deployment | ✅ ready | ⏳ applied, not ready: Deployment does not have minimum availability: 0/2 replicas available |",
		"| ❌ not synced: denied: field \\`data\\` \\| is \\*bad\\* \\<script\\> by the admission webhook \"policy.examp… |",
		"```mermaid\nflowchart LR\n",
		"S0P0 -->|\"1/2 ready\"| W1",
		"class S0P0 amber",
	} {
		assert.Contains(t, readme, want)
	}
	assert.Regexp(t, `class [^\n]*W1[^\n]* red`, readme, "cluster2 has an error")
}

func TestRenderStatusFilesSummaryYAML(t *testing.T) {
	files, err := report.RenderStatusFiles(statusFixture())
	require.NoError(t, err)
	got, err := report.DecodeStatusSummary(files[report.StatusSummaryFile])
	require.NoError(t, err)
	want := statusFixture()
	for i := range want.Spaces {
		for j := range want.Spaces[i].Objects {
			o := &want.Spaces[i].Objects[j]
			o.Combined = nil
			for k := range o.WECs {
				o.WECs[k].Status = nil
			}
		}
	}
	assert.Empty(t, cmp.Diff(want, got), "summary.yaml is the Summary without returned status and combined results")
}

// TestRenderStatusFilesUnreachable: a WDS that cannot be reached is said
// in summary.yaml (read back as written, a message of several lines
// included) and under its heading in README.md.
func TestRenderStatusFilesUnreachable(t *testing.T) {
	for _, msg := range []string{
		`the space cannot be reached: Get "https://127.0.0.1:1/readyz": dial tcp 127.0.0.1:1: connect: connection refused`,
		"its ITS its1: first line\nsecond: line",
	} {
		s := statusFixture()
		s.Spaces[0].Unreachable = msg
		files, err := report.RenderStatusFiles(s)
		require.NoError(t, err)
		got, err := report.DecodeStatusSummary(files[report.StatusSummaryFile])
		require.NoError(t, err, "%s", files[report.StatusSummaryFile])
		assert.Equal(t, msg, got.Spaces[0].Unreachable)
		assert.Len(t, got.Spaces[0].Objects, len(s.Spaces[0].Objects), "what was last seen stays")
		assert.Contains(t, string(files[report.StatusReadmeFile]), "**Unreachable**: ")
	}
}

func TestRenderStatusFilesRejectsPathsOutsideTheObjectTree(t *testing.T) {
	for name, o := range map[string]report.ObjectSummary{
		"dot-dot":     {Version: "v1", Kind: "ConfigMap", Namespace: "..", Name: "x"},
		"slash":       {Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "a/b"},
		"empty kind":  {Version: "v1", Namespace: "ns", Name: "x"},
		"dot-git":     {Group: ".git", Version: "v1", Kind: "X", Name: "x"},
		"a file name": {Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "x"},
	} {
		t.Run(name, func(t *testing.T) {
			space := report.SpaceSummary{Name: "wds1", Objects: []report.ObjectSummary{o}}
			if name == "a file name" {
				space.Name = report.StatusSummaryFile
			}
			_, err := report.RenderStatusFiles(report.Summary{Spaces: []report.SpaceSummary{space}})
			assert.Error(t, err)
		})
	}
}

// Planted values of a Secret's returned status and of redacted paths
// appear in no file; what is not redacted does.
func TestRenderStatusFilesRedacts(t *testing.T) {
	files, err := report.RenderStatusFiles(redactionFixture())
	require.NoError(t, err)
	require.Len(t, files, 5)
	for p, content := range files {
		for _, planted := range plantedSecrets {
			assert.NotContains(t, string(content), planted, "%s", p)
		}
	}
	for _, kept := range []string{"kept-phase", "kept-condition-reason", "kept-by-secret-name"} {
		found := false
		for _, content := range files {
			found = found || strings.Contains(string(content), kept)
		}
		assert.True(t, found, "%s is not redacted", kept)
	}
	assert.Contains(t, string(files["wds1/core/Secret/app/kept-by-secret-name.yaml"]), "never written")
	assert.Contains(t, string(files["wds1/example.com/Widget/app/unparsable.yaml"]), "returned status withheld: redact path")
	assert.Contains(t, string(files["wds1/example.com/Widget/app/unparsable.yaml"]), "$.spec[")
}

var plantedSecrets = []string{"PLANTED-SECRET-DATA", "PLANTED-COMBINED", "PLANTED-TOKEN", "PLANTED-CONDITION-MESSAGE", "PLANTED-UNPARSABLE"}

func redactionFixture() report.Summary {
	wecs := func(status func() map[string]any) []report.WECObjectStatus {
		return []report.WECObjectStatus{
			{WEC: "cluster1", Synced: true, Ready: true, Status: status()},
			{WEC: "cluster2", Synced: true, Ready: true, Status: status()},
		}
	}
	return report.Summary{SourceCommit: "0123456789abcdef0123456789abcdef01234567", Spaces: []report.SpaceSummary{{
		Name: "wds1",
		Objects: []report.ObjectSummary{{
			Version: "v1", Kind: "Secret", Namespace: "app", Name: "kept-by-secret-name",
			WECs: wecs(func() map[string]any {
				return map[string]any{"data": map[string]any{"password": "PLANTED-SECRET-DATA"}}
			}),
			Combined: []report.PolicyCombination{{Policy: "p", Results: []controlv1alpha1.NamedStatusCombination{{
				Name: "leak", ColumnNames: []string{"value"},
				Rows: []controlv1alpha1.StatusCombinationRow{{Columns: []controlv1alpha1.Value{{Type: controlv1alpha1.TypeString, String: statusPtr("PLANTED-COMBINED")}}}},
			}}}},
		}, {
			Group: "example.com", Version: "v1", Kind: "Widget", Namespace: "app", Name: "redacted",
			Redact: []string{"$.token", `$.conditions[?(@.type=="Ready")].message`},
			WECs: wecs(func() map[string]any {
				return map[string]any{
					"phase": "kept-phase",
					"token": "PLANTED-TOKEN",
					"conditions": []any{map[string]any{
						"type": "Ready", "reason": "kept-condition-reason", "message": "PLANTED-CONDITION-MESSAGE",
					}},
				}
			}),
		}, {
			Group: "example.com", Version: "v1", Kind: "Widget", Namespace: "app", Name: "unparsable",
			Redact: []string{"$.token", "$.spec["},
			WECs: wecs(func() map[string]any {
				return map[string]any{"anything": "PLANTED-UNPARSABLE"}
			}),
		}},
	}}}
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	require.NoError(t, err, "golden files (run with -update to write them)")
	return files
}

// Names and messages cannot break out of the Markdown or the Mermaid.
func TestRenderStatusFilesEscapes(t *testing.T) {
	s := report.Summary{
		SourceCommit: "abc",
		Errors:       []string{"# not a heading\n1. not a list [not](a link) <b>not bold</b>"},
		Spaces: []report.SpaceSummary{{
			Name:     "w|ds",
			Policies: []report.PolicySummary{{Name: `p"]-->x; click`, WECs: []string{"c#1<`>"}, Objects: []string{"/ConfigMap/ns/a|b"}}},
			Objects: []report.ObjectSummary{{Version: "v1", Kind: "ConfigMap", Namespace: "ns", Name: "a|b",
				WECs: []report.WECObjectStatus{{WEC: "c#1<`>", Message: "```\nfenced"}}}},
		}},
	}
	files, err := report.RenderStatusFiles(s)
	require.NoError(t, err)
	readme := string(files[report.StatusReadmeFile])
	for _, want := range []string{
		"> - \\# not a heading 1. not a list \\[not\\](a link) \\<b\\>not bold\\</b\\>",
		"## WDS w\\|ds",
		"| ConfigMap ns/a\\|b | ❌ not synced: \\`\\`\\` fenced |",
		`S0P0["p#quot;]--#gt;x; click"]`,
		`W0["c#35;1#lt;#96;#gt;"]`,
		`subgraph S0["WDS w#124;ds"]`,
	} {
		assert.Contains(t, readme, want)
	}
	assert.Equal(t, 2, strings.Count(readme, "```"), "only the Mermaid fence")
}
