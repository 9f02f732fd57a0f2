package render

import (
	"fmt"
	"path"
	"strings"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/render/helmchart"
)

// kustomize's helmCharts are rendered by gitstellar, with the same code as
// helmchart.yaml releases, before kustomize runs: each kustomization
// naming charts is read by kustomize rewritten, its helmCharts replaced
// by a generated resource file holding what the charts render, so that
// the kustomization's transformers apply to them as they would to
// kustomize's own inflation. The charts must be in the repository where
// kustomize would look for them (helmGlobals.chartHome, "charts" by
// default, then <name>, or <name>-<version>/<name> when a repo and a
// version are named): gitstellar does not fetch charts.

// defaultReleaseName is `helm template`'s release name when none is given.
const defaultReleaseName = "release-name"

// inflatedFile names the generated resource file of a kustomization's
// charts, in its directory.
const inflatedFile = ".gitstellar-helmcharts.yaml"

// inflateHelmCharts renders the helmCharts of the kustomization in dir
// (a repository name) and of every kustomization it reaches, and returns
// the files kustomize reads in their place (repository name → content);
// ok is false when a chart failed (the errors are recorded).
func (r *renderer) inflateHelmCharts(dir string) (map[string][]byte, bool) {
	virtual := map[string][]byte{}
	ok := true
	r.eachKustomization(dir, func(d, kpath string, k *types.Kustomization, raw []byte) {
		if len(k.HelmCharts) == 0 {
			return
		}
		loc := Location{File: r.rel(kpath)}
		var rendered strings.Builder
		for i := range k.HelmCharts {
			text, good := r.inflateChart(d, loc, &k.HelmCharts[i], k.HelmGlobals)
			if !good {
				ok = false
				continue
			}
			rendered.WriteString(text)
		}
		rewritten, err := withoutHelmCharts(raw)
		if err != nil {
			r.errorf(loc, "kustomize: %v", err)
			ok = false
			return
		}
		virtual[kpath] = rewritten
		virtual[path.Join(d, inflatedFile)] = []byte(rendered.String())
	})
	return virtual, ok
}

// withoutHelmCharts rewrites a kustomization: no helmCharts or
// helmGlobals, the generated file as one more resource.
func withoutHelmCharts(raw []byte) ([]byte, error) {
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "helmCharts")
	delete(m, "helmGlobals")
	resources, _ := m["resources"].([]any)
	m["resources"] = append(resources, inflatedFile)
	return yaml.Marshal(m)
}

// inflateChart renders one helmCharts entry of the kustomization in d, as
// `helm template` would for kustomize; the manifests, separated.
func (r *renderer) inflateChart(d string, loc Location, c *types.HelmChart, globals *types.HelmGlobals) (string, bool) {
	fail := func(format string, args ...any) (string, bool) {
		r.errorf(loc, "kustomize: helmCharts %s: "+format, append([]any{c.Name}, args...)...)
		return "", false
	}
	chartHome := types.HelmDefaultHome
	if globals != nil && globals.ChartHome != "" {
		chartHome = globals.ChartHome
	}
	if c.Version != "" && c.Repo != "" {
		chartHome = path.Join(chartHome, c.Name+"-"+c.Version)
	}
	release := c.ReleaseName
	if release == "" {
		release = defaultReleaseName
	}
	chartDir := inLayout(d, path.Join(chartHome, c.Name))
	var (
		chart *chartInput
		ok    bool
	)
	switch {
	case c.Name == "":
		return fail("a chart needs a name")
	case chartDir == "":
		return fail("the chart's directory leads outside the repository")
	case isChartDir(r.fsys, chartDir):
		chart, ok = r.localChart(loc, r.rel(chartDir))
	case c.Repo == "":
		return fail("the chart is not in the repository at %s, and no repo is named", r.rel(chartDir))
	case r.opts.Charts == nil:
		return fail("the chart is not in the repository at %s, and charts from %s are not fetched here", r.rel(chartDir), redactURL(c.Repo))
	default:
		chart, ok = r.fetchChart(loc, release, c.Repo, c.Name, c.Version)
	}
	if !ok {
		return "", false
	}
	valuesFiles := c.AdditionalValuesFiles
	if c.ValuesFile != "" {
		valuesFiles = append([]string{c.ValuesFile}, valuesFiles...)
	}
	fileValues, ok := r.valuesFiles(r.rel(d), loc, "kustomize: helmCharts "+c.Name, valuesFiles)
	if !ok {
		return "", false
	}
	var layers []map[string]any
	switch c.ValuesMerge {
	case "", "override":
		layers = append(fileValues, c.ValuesInline)
	case "replace":
		layers = []map[string]any{c.ValuesInline}
		if c.ValuesInline == nil {
			layers = fileValues
		}
	case "merge":
		layers = append([]map[string]any{c.ValuesInline}, fileValues...)
	default:
		return fail("valuesMerge %q: want override, replace or merge", c.ValuesMerge)
	}
	req := helmchart.Request{
		ReleaseName: release, Namespace: c.Namespace, Values: layers,
		IncludeCRDs: c.IncludeCRDs, KubeVersion: c.KubeVersion, APIVersions: c.ApiVersions,
	}
	r.withCapabilities(r.rel(d), &req)
	res, err := r.renderChart(loc, chart, req)
	if err != nil {
		return fail("%v", err)
	}
	var out strings.Builder
	for _, m := range res.Manifests {
		if kept := keepInflated(m.Content, c); kept != "" {
			fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.Source, kept)
		}
	}
	return out.String(), true
}

// keepInflated drops the documents of a rendered file that `helm template`
// would leave out: tests with skipTests, every hook with skipHooks.
func keepInflated(content string, c *types.HelmChart) string {
	if !c.SkipTests && !c.SkipHooks {
		return content
	}
	var kept []string
	for _, doc := range splitDocuments([]byte(content)) {
		var head struct {
			Metadata struct {
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
		}
		_ = yaml.Unmarshal(doc.data, &head)
		hook := head.Metadata.Annotations["helm.sh/hook"]
		if (c.SkipHooks && hook != "") || (c.SkipTests && strings.Contains(hook, "test")) {
			continue
		}
		kept = append(kept, string(doc.data))
	}
	return strings.Join(kept, "\n---\n")
}
