package helmchart_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/render/helmchart"
)

// chart is a small chart whose templates are given.
func chart(templates map[string]string) []helmchart.File {
	files := []helmchart.File{
		{Name: "Chart.yaml", Data: []byte("apiVersion: v2\nname: db\nversion: 1.2.3\n")},
		{Name: "values.yaml", Data: []byte("replicas: 1\nimage: postgres:16\n")},
		{Name: "templates/_helpers.tpl", Data: []byte(`{{- define "db.name" -}}{{ .Release.Name }}-db{{- end -}}`)},
		{Name: "templates/NOTES.txt", Data: []byte("installed {{ .Release.Name }}")},
		{Name: "crds/widgets.yaml", Data: []byte("apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\n")},
	}
	for name, body := range templates {
		files = append(files, helmchart.File{Name: "templates/" + name, Data: []byte(body)})
	}
	return files
}

func TestRender(t *testing.T) {
	res, err := helmchart.Render(context.Background(), helmchart.Request{
		Files: chart(map[string]string{
			"statefulset.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "db.name" . }}
  namespace: {{ .Release.Namespace }}
spec:
  replicas: {{ .Values.replicas }}
  template: {spec: {containers: [{name: db, image: {{ .Values.image | quote }}}]}}
`,
			"empty.yaml":  `{{- if .Values.never }}kind: ConfigMap{{ end }}`,
			"lookup.yaml": `found: {{ lookup "v1" "Secret" "kube-system" "" | len }}`,
			"dns.yaml":    `host: {{ getHostByName "localhost" | quote }}`,
			"capabilities.yaml": `kube: {{ .Capabilities.KubeVersion.Version }}
widgets: {{ .Capabilities.APIVersions.Has "example.com/v1" }}`,
		}),
		ReleaseName: "orders", Namespace: "shop", Values: []map[string]any{{"replicas": 2, "image": "postgres:15"}, {"replicas": 3}},
		IncludeCRDs: true, KubeVersion: "v1.36.3", APIVersions: []string{"example.com/v1"},
	}, helmchart.Bounds{})
	require.NoError(t, err)
	assert.Equal(t, "db", res.ChartName)
	assert.Equal(t, "1.2.3", res.ChartVersion)
	var sources []string
	byName := map[string]string{}
	for _, m := range res.Manifests {
		sources = append(sources, m.Source)
		byName[m.Source] = m.Content
	}
	assert.Equal(t, []string{"db/crds/widgets.yaml", "db/templates/capabilities.yaml", "db/templates/dns.yaml", "db/templates/lookup.yaml", "db/templates/statefulset.yaml"}, sources,
		"CRDs first; no NOTES.txt, no partials, nothing for a template rendering empty")
	assert.Contains(t, byName["db/templates/statefulset.yaml"], "name: orders-db")
	assert.Contains(t, byName["db/templates/statefulset.yaml"], "namespace: shop")
	assert.Contains(t, byName["db/templates/statefulset.yaml"], "replicas: 3", "values override values.yaml")
	assert.Contains(t, byName["db/templates/statefulset.yaml"], `image: "postgres:15"`, "an earlier layer of values fills the rest")
	assert.Equal(t, "found: 0", byName["db/templates/lookup.yaml"], "lookup reaches no cluster")
	assert.Equal(t, `host: ""`, byName["db/templates/dns.yaml"], "no DNS")
	assert.Equal(t, "kube: v1.36.3\nwidgets: true", byName["db/templates/capabilities.yaml"])
}

func TestRenderErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		templates map[string]string
		values    []map[string]any
		bounds    helmchart.Bounds
		want      string
	}{
		{name: "a template that fails names its file and line",
			templates: map[string]string{"cm.yaml": "a: 1\nb: {{ required \"password is required\" .Values.password }}\n"},
			want:      "db/templates/cm.yaml:2"},
		{name: "a template that does not parse",
			templates: map[string]string{"cm.yaml": "a: {{ .Values.x \n"},
			want:      "db/templates/cm.yaml:1"},
		{name: "a template that loops is stopped",
			templates: map[string]string{"loop.yaml": `{{ range $i := until 100000 }}{{ range $j := until 100000 }}{{ end }}{{ end }}`},
			bounds:    helmchart.Bounds{Timeout: 3 * time.Second}, want: "rendering took longer than 3s"},
		{name: "a template that grows without end is stopped",
			templates: map[string]string{"grow.yaml": `{{ $s := "xxxxxxxx" }}{{ range until 40 }}{{ $s = printf "%s%s" $s $s }}{{ end }}{{ $s }}`},
			bounds:    helmchart.Bounds{Memory: 128 << 20, Timeout: 20 * time.Second}, want: "out of memory"},
		{name: "a chart that renders too much is refused",
			templates: map[string]string{"big.yaml": `{{ repeat 3000000 "x" }}`},
			bounds:    helmchart.Bounds{Output: 1 << 20}, want: "renders more than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			_, err := helmchart.Render(context.Background(), helmchart.Request{Files: chart(tc.templates), ReleaseName: "r", Namespace: "ns", Values: tc.values}, tc.bounds)
			require.Error(t, err)
			var herr *helmchart.Error
			require.ErrorAs(t, err, &herr)
			assert.True(t, strings.Contains(err.Error(), tc.want), "%q does not say %q", err, tc.want)
			t.Logf("%s in %s", err, time.Since(start).Round(time.Millisecond))
		})
	}
}

func TestRenderArchiveThatIsNotOne(t *testing.T) {
	_, err := helmchart.Render(context.Background(), helmchart.Request{Archive: []byte("not a tarball"), ReleaseName: "r"}, helmchart.Bounds{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "load the chart")
}
