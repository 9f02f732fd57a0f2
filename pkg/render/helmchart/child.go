package helmchart

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader/archive"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/chart/v2/loader"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
)

// init serves one render when the binary was started as the renderer of
// Render: its bounds first, then the request on stdin, the response on
// stdout, and exit.
func init() {
	spec, ok := os.LookupEnv(childEnv)
	if !ok {
		return
	}
	memory, cpu := parseBounds(spec)
	if err := limitSelf(memory, cpu); err != nil {
		fmt.Fprintln(os.Stderr, "helm renderer: bounds:", err)
		os.Exit(2)
	}
	var resp response
	req, err := readRequest(os.Stdin)
	if err == nil {
		resp.Result, err = renderChart(req)
	}
	if err != nil {
		resp = response{Error: err.Error()}
	}
	if err := json.NewEncoder(os.Stdout).Encode(resp); err != nil {
		os.Exit(3)
	}
	os.Exit(0)
}

func parseBounds(spec string) (memory, cpu int64) {
	a, b, _ := strings.Cut(spec, ",")
	memory, _ = strconv.ParseInt(a, 10, 64)
	cpu, _ = strconv.ParseInt(b, 10, 64)
	return memory, cpu
}

func readRequest(r io.Reader) (Request, error) {
	var req Request
	err := json.NewDecoder(r).Decode(&req)
	return req, err
}

// renderChart loads and renders a chart as `helm template` would, with
// no cluster.
func renderChart(req Request) (*Result, error) {
	var (
		chrt *chartv2.Chart
		err  error
	)
	if req.Archive != nil {
		chrt, err = loader.LoadArchive(bytesReader(req.Archive))
	} else {
		files := make([]*archive.BufferedFile, 0, len(req.Files))
		for _, f := range req.Files {
			files = append(files, &archive.BufferedFile{Name: f.Name, Data: f.Data})
		}
		chrt, err = loader.LoadFiles(files)
	}
	if err != nil {
		return nil, fmt.Errorf("load the chart: %w", err)
	}
	vals := map[string]any{}
	for _, layer := range req.Values {
		vals = loader.MergeMaps(vals, layer)
	}
	if err := chartutil.ProcessDependencies(chrt, vals); err != nil {
		return nil, fmt.Errorf("the chart's dependencies: %w", err)
	}
	caps := common.DefaultCapabilities.Copy()
	if req.KubeVersion != "" {
		kv, err := common.ParseKubeVersion(req.KubeVersion)
		if err != nil {
			return nil, fmt.Errorf("kubeVersion: %w", err)
		}
		caps.KubeVersion = *kv
	}
	if req.ServedAPIVersions != nil {
		caps.APIVersions = slices.Clone(req.ServedAPIVersions)
	}
	caps.APIVersions = slices.Concat(caps.APIVersions, req.APIVersions)
	opts := common.ReleaseOptions{Name: req.ReleaseName, Namespace: req.Namespace, Revision: 1, IsInstall: true}
	values, err := util.ToRenderValuesWithSchemaValidation(chrt, vals, opts, caps, true)
	if err != nil {
		return nil, fmt.Errorf("values: %w", err)
	}
	rendered, err := engine.Engine{}.Render(chrt, values)
	if err != nil {
		return nil, err
	}
	res := &Result{ChartName: chrt.Name(), ChartVersion: chrt.Metadata.Version}
	if req.IncludeCRDs {
		for _, crd := range chrt.CRDObjects() {
			res.Manifests = append(res.Manifests, Manifest{Source: crd.Filename, Content: string(crd.File.Data)})
		}
	}
	names := make([]string, 0, len(rendered))
	for name, content := range rendered {
		if strings.TrimSpace(content) == "" || path.Base(name) == "NOTES.txt" {
			continue
		}
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		res.Manifests = append(res.Manifests, Manifest{Source: name, Content: rendered[name]})
	}
	return res, nil
}
