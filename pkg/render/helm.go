package render

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/kustomize/kyaml/resid"
	"sigs.k8s.io/yaml"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/render/helmchart"
)

// HelmChartFile in a directory of a WDS declares chart releases: the
// directory is rendered by it as a whole, as a kustomization's is
// (docs/helm.md).
const HelmChartFile = "helmchart.yaml"

// chartMetadataFile marks a chart's directory: it is read through a
// declaration, never as plain manifests (its templates are not YAML).
const chartMetadataFile = "Chart.yaml"

// HelmChart is one release declared in a helmchart.yaml. It is read when
// rendering and never applied.
type HelmChart struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		// Name is the release name: .Release.Name.
		Name string `json:"name"`
		// Namespace is .Release.Namespace, and the namespace of the
		// rendered namespaced objects that name none.
		Namespace string `json:"namespace,omitempty"`
	} `json:"metadata"`
	Spec HelmChartSpec `json:"spec"`
}

// HelmChartSpec says which chart and with what.
type HelmChartSpec struct {
	// Chart is the chart's directory in the repository, relative to the
	// helmchart.yaml; with Repo, the chart's name in that repository.
	Chart string `json:"chart"`
	// Repo is a chart repository (http or https) to fetch the chart
	// from, at the newest Version satisfying the constraint (a range, or
	// an exact version; empty: the newest release).
	Repo    string `json:"repo,omitempty"`
	Version string `json:"version,omitempty"`
	// ValuesFiles are YAML files relative to the helmchart.yaml, merged
	// in order over the chart's values.yaml; Values goes last.
	ValuesFiles []string       `json:"valuesFiles,omitempty"`
	Values      map[string]any `json:"values,omitempty"`
	// IncludeCRDs renders the chart's crds/ directory too.
	IncludeCRDs bool `json:"includeCRDs,omitempty"`
	// Labels go on every rendered object, so that BindingPolicies can
	// select the release.
	Labels map[string]string `json:"labels,omitempty"`
	// ExpandTemplates marks every rendered object for KubeStellar's
	// template expansion per WEC (control.kubestellar.io/expand-templates):
	// a value such as "{{ .clusterName }}" or "{{ .region }}" reaches each
	// WEC with that WEC's properties, so one release serves many WECs.
	ExpandTemplates bool `json:"expandTemplates,omitempty"`
}

// isChartDir tells whether a directory (a repository name) holds a chart.
func isChartDir(fsys fs.FS, dir string) bool {
	fi, err := fs.Stat(fsys, path.Join(dir, chartMetadataFile))
	return err == nil && fi.Mode().IsRegular()
}

// helm renders the releases a directory's helmchart.yaml declares.
func (r *renderer) helm(dir string) []Object {
	declFile := dir + "/" + HelmChartFile
	data, err := r.readFile(r.name(declFile))
	if err != nil {
		r.errorf(Location{File: declFile}, "%v", unwrapPathError(err))
		return nil
	}
	decls, errs := decodeFile(declFile, data, r.limits)
	r.errs = append(r.errs, errs...)
	var objs []Object
	for _, d := range decls {
		var hc HelmChart
		if !r.expectHelmChart(d, &hc) {
			continue
		}
		objs = append(objs, r.renderRelease(dir, d.Source, &hc)...)
	}
	return objs
}

// expectHelmChart decodes one declaration, strictly.
func (r *renderer) expectHelmChart(d Object, hc *HelmChart) bool {
	raw, _ := d.MarshalJSON()
	if err := yaml.UnmarshalStrict(raw, hc); err != nil {
		r.errorf(d.Source, "HelmChart: %v", err)
		return false
	}
	switch {
	case hc.APIVersion != "gitstellar.io/v1alpha1" || hc.Kind != "HelmChart":
		r.errorf(d.Source, "%s declares HelmChart objects (apiVersion gitstellar.io/v1alpha1) only, not %s %s", HelmChartFile, hc.APIVersion, hc.Kind)
	case hc.Metadata.Name == "":
		r.errorf(d.Source, "HelmChart: metadata.name (the release name) is required")
	case hc.Spec.Chart == "":
		r.errorf(d.Source, "HelmChart %s: spec.chart (the chart's directory) is required", hc.Metadata.Name)
	default:
		return true
	}
	return false
}

// inLayout resolves a path relative to a directory of the layout; "" when
// it leads outside the layout.
func inLayout(dir, p string) string {
	if path.IsAbs(p) {
		return ""
	}
	joined := path.Join(dir, p)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return ""
	}
	return joined
}

// chartInput is a chart to render: its files in the repository, or an
// archive fetched from a chart repository.
type chartInput struct {
	files   []helmchart.File
	archive []byte
	// where names the chart in messages and rendered files' locations: a
	// directory of the layout, or "<name> <version> from <repo>".
	where string
	// dir is the chart's directory in the layout ("" for an archive).
	dir string
	// fetched: from a chart repository (and recorded when fetched).
	fetched bool
}

// fetchChart fetches a chart from a chart repository and records it.
func (r *renderer) fetchChart(loc Location, release, repo, name, version string) (*chartInput, bool) {
	if r.opts.Charts == nil {
		r.errorf(loc, "chart %s from %s: charts from chart repositories are not fetched here", name, redactURL(repo))
		return nil, false
	}
	c, err := r.opts.Charts.Fetch(r.ctx, repo, name, version)
	if err != nil {
		r.errorf(loc, "%v", err)
		return nil, false
	}
	r.charts = append(r.charts, RenderedChart{Source: loc, Release: release, Repository: redactURL(repo), Name: name, Version: c.Version, Digest: "sha256:" + c.Digest})
	return &chartInput{archive: c.Archive, where: fmt.Sprintf("%s %s from %s", name, c.Version, redactURL(repo)), fetched: true}, true
}

// localChart reads a chart kept in the repository.
func (r *renderer) localChart(loc Location, chartDir string) (*chartInput, bool) {
	files, ok := r.chartFiles(chartDir, loc)
	if !ok {
		return nil, false
	}
	return &chartInput{files: files, where: chartDir, dir: chartDir}, true
}

// renderRelease renders one declared release into objects.
func (r *renderer) renderRelease(dir string, loc Location, hc *HelmChart) []Object {
	var (
		chart *chartInput
		ok    bool
	)
	if hc.Spec.Repo != "" {
		chart, ok = r.fetchChart(loc, hc.Metadata.Name, hc.Spec.Repo, hc.Spec.Chart, hc.Spec.Version)
	} else {
		chartDir := inLayout(dir, hc.Spec.Chart)
		switch {
		case chartDir == "":
			r.errorf(loc, "HelmChart %s: spec.chart %q leads outside the repository", hc.Metadata.Name, hc.Spec.Chart)
		case !isChartDir(r.fsys, r.name(chartDir)):
			r.errorf(loc, "HelmChart %s: spec.chart %q: no %s there", hc.Metadata.Name, hc.Spec.Chart, chartMetadataFile)
		case hc.Spec.Version != "":
			r.errorf(loc, "HelmChart %s: spec.version is for a chart from spec.repo; a chart in the repository is at its own version", hc.Metadata.Name)
		default:
			chart, ok = r.localChart(loc, chartDir)
		}
	}
	if !ok {
		return nil
	}
	layers, ok := r.valuesFiles(dir, loc, "HelmChart "+hc.Metadata.Name, hc.Spec.ValuesFiles)
	if !ok {
		return nil
	}
	if hc.Spec.Values != nil {
		layers = append(layers, hc.Spec.Values)
	}
	req := helmchart.Request{
		ReleaseName: hc.Metadata.Name, Namespace: hc.Metadata.Namespace,
		Values: layers, IncludeCRDs: hc.Spec.IncludeCRDs,
	}
	r.withCapabilities(dir, &req)
	res, err := r.renderChart(loc, chart, req)
	if err != nil {
		r.errorf(loc, "HelmChart %s: %v", hc.Metadata.Name, err)
		return nil
	}
	var objs []Object
	clusterScoped := map[schema.GroupKind]bool{}
	for _, m := range res.Manifests {
		// The rendered file, named where its template is in the
		// repository; a line is one of the rendered text.
		source := chart.where + strings.TrimPrefix(m.Source, res.ChartName) + " (rendered)"
		if chart.dir == "" {
			source = loc.File + " (" + chart.where + ": " + m.Source + ", rendered)"
		}
		decoded, errs := decodeFile(source, []byte(m.Content), r.limits)
		r.errs = append(r.errs, errs...)
		for _, o := range decoded {
			if isHelmTest(o) {
				continue
			}
			if o.GroupVersionKind().GroupKind() == (schema.GroupKind{Group: "apiextensions.k8s.io", Kind: "CustomResourceDefinition"}) {
				group, _, _ := unstructured.NestedString(o.Object, "spec", "group")
				kind, _, _ := unstructured.NestedString(o.Object, "spec", "names", "kind")
				scope, _, _ := unstructured.NestedString(o.Object, "spec", "scope")
				clusterScoped[schema.GroupKind{Group: group, Kind: kind}] = scope == "Cluster"
			}
			objs = append(objs, o)
		}
	}
	var out []Object
	for _, o := range objs {
		if len(hc.Spec.Labels) > 0 {
			labels := o.GetLabels()
			if labels == nil {
				labels = map[string]string{}
			}
			for k, v := range hc.Spec.Labels {
				labels[k] = v
			}
			o.SetLabels(labels)
		}
		if hc.Spec.ExpandTemplates {
			ann := o.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[controlv1alpha1.AnnotationExpandTemplates] = "true"
			o.SetAnnotations(ann)
		}
		if o.GetNamespace() == "" && hc.Metadata.Namespace != "" && !isClusterScoped(o.GroupVersionKind(), clusterScoped) {
			o.SetNamespace(hc.Metadata.Namespace)
		}
		if r.checkObject(o) {
			out = append(out, o)
		}
	}
	return out
}

// withCapabilities gives a request the capabilities of the WDS whose
// directory (a layout path) holds the declaration: its version (unless
// the declaration names one) and what it serves (to which a
// declaration's apiVersions add).
func (r *renderer) withCapabilities(dir string, req *helmchart.Request) {
	if r.opts.Capabilities == nil {
		return
	}
	wds, _, _ := strings.Cut(dir, "/")
	caps := r.opts.Capabilities(wds)
	if caps == nil {
		return
	}
	if req.KubeVersion == "" {
		req.KubeVersion = caps.KubeVersion
	}
	req.ServedAPIVersions = caps.APIVersions
}

// renderChart renders a chart, and records a chart of the repository; an
// error names the chart's files where they are.
func (r *renderer) renderChart(loc Location, chart *chartInput, req helmchart.Request) (*helmchart.Result, error) {
	req.Files, req.Archive = chart.files, chart.archive
	res, err := helmchart.Render(r.ctx, req, helmchart.Bounds{Output: r.limits.TotalSize})
	var herr *helmchart.Error
	switch {
	case err == nil:
		if !chart.fetched {
			r.charts = append(r.charts, RenderedChart{Source: loc, Release: req.ReleaseName, Name: res.ChartName, Version: res.ChartVersion})
		}
		return res, nil
	case !errors.As(err, &herr):
		return nil, err
	case chart.dir != "":
		return nil, errors.New(chartErrorInRepository(herr.Message, chartName(chart.files), chart.dir))
	}
	return nil, fmt.Errorf("chart %s: %s", chart.where, herr.Message)
}

// chartErrorInRepository names the chart's files in Helm's message by
// their repository paths: Helm names a template "<chart name>/templates/x".
func chartErrorInRepository(msg, name, chartDir string) string {
	if name == "" {
		return "chart " + chartDir + ": " + msg
	}
	return regexp.MustCompile(`(^|[\s(])`+regexp.QuoteMeta(name)+`/`).ReplaceAllString(msg, "${1}"+chartDir+"/")
}

// chartName is the name in a chart's Chart.yaml, "" when it has none.
func chartName(files []helmchart.File) string {
	for _, f := range files {
		if f.Name == chartMetadataFile {
			var meta struct {
				Name string `json:"name"`
			}
			if yaml.Unmarshal(f.Data, &meta) == nil {
				return meta.Name
			}
		}
	}
	return ""
}

// isHelmTest tells whether an object is a chart's test (a hook run by
// `helm test`, never part of what is installed).
func isHelmTest(o Object) bool {
	for _, h := range strings.Split(o.GetAnnotations()["helm.sh/hook"], ",") {
		if strings.HasPrefix(strings.TrimSpace(h), "test") {
			return true
		}
	}
	return false
}

// isClusterScoped tells a kind's scope: from the CRDs the chart renders,
// else Kubernetes' built-in kinds; an unknown kind is namespaced.
func isClusterScoped(gvk schema.GroupVersionKind, declared map[schema.GroupKind]bool) bool {
	if scoped, ok := declared[gvk.GroupKind()]; ok {
		return scoped
	}
	return resid.NewGvk(gvk.Group, gvk.Version, gvk.Kind).IsClusterScoped()
}

// chartFiles reads a chart's directory, within the limits.
func (r *renderer) chartFiles(chartDir string, loc Location) ([]helmchart.File, bool) {
	var files []helmchart.File
	root := r.name(chartDir)
	err := fs.WalkDir(r.fsys, root, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !d.Type().IsRegular() {
			return nil // a symbolic link in a chart is not followed
		}
		if !r.count(Location{File: name}) {
			return fs.SkipAll
		}
		data, err := r.readFile(name)
		if err != nil {
			return err
		}
		files = append(files, helmchart.File{Name: strings.TrimPrefix(name, root+"/"), Data: data})
		return nil
	})
	if err != nil {
		r.errorf(loc, "chart %s: %v", chartDir, unwrapPathError(err))
		return nil, false
	}
	slices.SortFunc(files, func(a, b helmchart.File) int { return strings.Compare(a.Name, b.Name) })
	return files, !r.stopped
}

// valuesFiles reads the values files a declaration (what, at loc) names,
// relative to dir (a layout path), in order.
func (r *renderer) valuesFiles(dir string, loc Location, what string, files []string) ([]map[string]any, bool) {
	var layers []map[string]any
	for _, vf := range files {
		rel := inLayout(dir, vf)
		if rel == "" {
			r.errorf(loc, "%s: values file %q leads outside the repository", what, vf)
			return nil, false
		}
		values, ok := r.valuesFile(rel)
		if !ok {
			return nil, false
		}
		layers = append(layers, values)
	}
	return layers, true
}

// valuesFile reads a values file: a YAML map.
func (r *renderer) valuesFile(rel string) (map[string]any, bool) {
	data, err := r.readFile(r.name(rel))
	if err != nil {
		r.errorf(Location{File: rel}, "%v", unwrapPathError(err))
		return nil, false
	}
	j, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		loc := Location{File: rel, Line: yamlErrorLine(err)}
		r.errorf(loc, "values: %s", cleanYAMLError(err))
		return nil, false
	}
	var values map[string]any
	if err := yaml.Unmarshal(j, &values); err != nil {
		r.errorf(Location{File: rel, Line: 1}, "values: a values file is a YAML map: %v", err)
		return nil, false
	}
	return values, true
}
