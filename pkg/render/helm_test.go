package render_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source/chartrepo"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
	"github.com/gitstellar/gitstellar/pkg/source/ocitest"
)

// pgChart is a PostgreSQL-like chart (KubeStellar's scenario 3 installs
// Bitnami's): a StatefulSet, a Service, a Secret, a ConfigMap, a test
// hook, and a CRD in crds/.
func pgChart(dir string) []gittest.Entry {
	return []gittest.Entry{
		gittest.File(dir+"/Chart.yaml", "apiVersion: v2\nname: postgresql\nversion: 16.0.1\n"),
		gittest.File(dir+"/values.yaml", "replicas: 1\nimage: postgres:16\nauth: {database: app}\n"),
		gittest.File(dir+"/templates/_helpers.tpl", `{{- define "pg.fullname" -}}{{ .Release.Name }}-postgresql{{- end -}}`),
		gittest.File(dir+"/templates/statefulset.yaml", `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: {{ include "pg.fullname" . }}
  labels: {app.kubernetes.io/name: postgresql}
spec:
  replicas: {{ .Values.replicas }}
  serviceName: {{ include "pg.fullname" . }}
  selector: {matchLabels: {app.kubernetes.io/name: postgresql}}
  template:
    metadata: {labels: {app.kubernetes.io/name: postgresql}}
    spec: {containers: [{name: postgresql, image: {{ .Values.image | quote }}}]}
`),
		gittest.File(dir+"/templates/service.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: {{ include \"pg.fullname\" . }}}\nspec: {ports: [{port: 5432}]}\n"),
		gittest.File(dir+"/templates/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: {{ include \"pg.fullname\" . }}}\nstringData: {password: {{ .Values.password | default \"changeme\" | quote }}}\n"),
		gittest.File(dir+"/templates/configmap.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ include \"pg.fullname\" . }}-config}\ndata: {database: {{ .Values.auth.database | quote }}}\n"),
		gittest.File(dir+"/templates/clusterrole.yaml", "apiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: {{ include \"pg.fullname\" . }}-reader}\nrules: []\n"),
		gittest.File(dir+"/templates/tests/connection.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: {{ .Release.Name }}-test, annotations: {helm.sh/hook: test}}\nspec: {containers: [{name: t, image: busybox}]}\n"),
		gittest.File(dir+"/crds/backups.yaml", "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: backups.pg.example.com}\nspec: {group: pg.example.com, scope: Namespaced, names: {kind: Backup, plural: backups}, versions: [{name: v1, served: true, storage: true, schema: {openAPIV3Schema: {type: object}}}]}\n"),
		gittest.File(dir+"/templates/backup.yaml", "apiVersion: pg.example.com/v1\nkind: Backup\nmetadata: {name: nightly}\n"),
	}
}

const pgRelease = `apiVersion: gitstellar.io/v1alpha1
kind: HelmChart
metadata: {name: orders, namespace: db}
spec:
  chart: ../charts/postgresql
  valuesFiles: [edge-values.yaml]
  values: {replicas: 2}
  includeCRDs: true
  labels: {app.kubernetes.io/part-of: orders-db}
`

func TestHelmChartRelease(t *testing.T) {
	entries := append(pgChart("wds1/charts/postgresql"),
		gittest.File("wds1/db/helmchart.yaml", pgRelease),
		gittest.File("wds1/db/edge-values.yaml", "image: postgres:16-alpine\nauth: {database: orders}\n"),
		gittest.File("wds1/other/cm.yaml", configMap("plain")),
	)
	res, err := renderCommit(t, render.Options{}, entries...)
	require.NoError(t, err)
	got := map[string]render.Object{}
	for _, o := range res.Space("wds1").Objects {
		got[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{
		"StatefulSet/db/orders-postgresql", "Service/db/orders-postgresql", "Secret/db/orders-postgresql", "ConfigMap/db/orders-postgresql-config",
		"ClusterRole//orders-postgresql-reader", "CustomResourceDefinition//backups.pg.example.com", "Backup/db/nightly",
		"ConfigMap/default/plain", "Space//wds1",
	}, keys, "the chart's objects (no test hook, cluster-scoped ones without a namespace), and the plain ones beside")
	sts := got["StatefulSet/db/orders-postgresql"]
	assert.Equal(t, "orders-db", sts.GetLabels()["app.kubernetes.io/part-of"], "the release's labels")
	assert.Equal(t, "postgresql", sts.GetLabels()["app.kubernetes.io/name"], "the chart's own labels stay")
	replicas, _, _ := unstructuredInt(sts.Object, "spec", "replicas")
	assert.Equal(t, int64(2), replicas, "inline values win over values files")
	assert.Contains(t, mustJSON(t, sts.Object), `"image":"postgres:16-alpine"`, "the values file wins over the chart's values.yaml")
	assert.Contains(t, mustJSON(t, got["ConfigMap/db/orders-postgresql-config"].Object), `"database":"orders"`)
	assert.Equal(t, "wds1/charts/postgresql/templates/statefulset.yaml (rendered)", sts.Source.File)
	assert.Equal(t, "orders-db", got["CustomResourceDefinition//backups.pg.example.com"].GetLabels()["app.kubernetes.io/part-of"])
}

func TestHelmChartRefused(t *testing.T) {
	chart := pgChart("wds1/charts/postgresql")
	for _, tc := range []struct {
		name  string
		extra []gittest.Entry
		file  string
		want  string
	}{
		{"a template that fails names its repository path and line",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", strings.Replace(pgRelease, "values: {replicas: 2}", "values: {replicas: 2, fail: true}", 1)),
				gittest.File("wds1/db/edge-values.yaml", "{}\n"),
				gittest.File("wds1/charts/postgresql/templates/fail.yaml", "a: 1\n{{ if .Values.fail }}{{ fail \"refusing on purpose\" }}{{ end }}\n")},
			"wds1/db/helmchart.yaml", "wds1/charts/postgresql/templates/fail.yaml:2"},
		{"a values file that is not YAML names its line",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", pgRelease), gittest.File("wds1/db/edge-values.yaml", "image: ok\nauth: [unclosed\n")},
			"wds1/db/edge-values.yaml", "values:"},
		{"a chart outside the repository",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", strings.Replace(pgRelease, "../charts/postgresql", "../../../outside", 1))},
			"wds1/db/helmchart.yaml", "leads outside the repository"},
		{"a directory that is no chart",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", strings.Replace(pgRelease, "../charts/postgresql", "../other", 1)), gittest.File("wds1/other/cm.yaml", configMap("x"))},
			"wds1/db/helmchart.yaml", "no Chart.yaml there"},
		{"an unknown field",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", pgRelease+"  valueFiles: [x.yaml]\n"), gittest.File("wds1/db/edge-values.yaml", "{}\n")},
			"wds1/db/helmchart.yaml", "unknown field"},
		{"a rendered object that is not YAML",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", pgRelease), gittest.File("wds1/db/edge-values.yaml", "{}\n"),
				gittest.File("wds1/charts/postgresql/templates/bad.yaml", "kind: [\n")},
			"wds1/charts/postgresql/templates/bad.yaml (rendered)", ""},
		{"a template that loops",
			[]gittest.Entry{gittest.File("wds1/db/helmchart.yaml", pgRelease), gittest.File("wds1/db/edge-values.yaml", "{}\n"),
				gittest.File("wds1/charts/postgresql/templates/loop.yaml", `{{ range until 1000000000 }}{{ end }}`)},
			"wds1/db/helmchart.yaml", "out of memory"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := renderCommit(t, render.Options{}, append(append([]gittest.Entry(nil), chart...), tc.extra...)...)
			require.Error(t, err)
			assert.Nil(t, res)
			var errs render.Errors
			require.True(t, errors.As(err, &errs))
			found := false
			for _, e := range errs {
				if e.File == tc.file && strings.Contains(e.Message, tc.want) {
					found = true
				}
			}
			assert.True(t, found, "want an error at %s containing %q, got:\n%v", tc.file, tc.want, err)
			t.Log(err)
		})
	}
}

func unstructuredInt(obj map[string]any, fields ...string) (int64, bool, error) {
	return unstructured.NestedInt64(obj, fields...)
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}

// TestKustomizeHelmCharts: a Flux or Argo CD user's overlay with
// helmCharts renders unchanged when the chart is vendored where kustomize
// looks for it, and the kustomization's transformers apply to the chart's
// objects.
func TestKustomizeHelmCharts(t *testing.T) {
	entries := append(pgChart("wds1/db/charts/postgresql-16.0.1/postgresql"),
		gittest.File("wds1/db/kustomization.yaml", `namespace: db
namePrefix: edge-
commonLabels: {tier: data}
resources: [extra.yaml]
helmCharts:
- name: postgresql
  repo: https://charts.example.com
  version: 16.0.1
  releaseName: orders
  valuesFile: values-edge.yaml
  valuesInline: {replicas: 3}
  includeCRDs: false
  skipTests: true
`),
		gittest.File("wds1/db/values-edge.yaml", "image: postgres:16-alpine\n"),
		gittest.File("wds1/db/extra.yaml", configMap("extra")),
	)
	res, err := renderCommit(t, render.Options{}, entries...)
	require.NoError(t, err)
	got := map[string]render.Object{}
	for _, o := range res.Space("wds1").Objects {
		got[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = o
	}
	sts, ok := got["StatefulSet/db/edge-orders-postgresql"]
	require.True(t, ok, "the chart's StatefulSet, prefixed and in the kustomization's namespace: %v", keys(got))
	assert.Equal(t, "data", sts.GetLabels()["tier"])
	replicas, _, _ := unstructuredInt(sts.Object, "spec", "replicas")
	assert.Equal(t, int64(3), replicas, "valuesInline overrides the values file")
	assert.Contains(t, mustJSON(t, sts.Object), `"image":"postgres:16-alpine"`)
	assert.Contains(t, got, "ConfigMap/db/edge-extra", "the kustomization's own resources")
	assert.NotContains(t, got, "Pod/db/edge-orders-test", "skipTests")
	assert.NotContains(t, got, "CustomResourceDefinition//backups.pg.example.com", "includeCRDs: false")

	t.Run("a chart that fails names the kustomization and the template", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{}, append(entries,
			gittest.File("wds1/db/charts/postgresql-16.0.1/postgresql/templates/fail.yaml", "{{ fail \"no\" }}\n"))...)
		requireRefused(t, res, err, "wds1/db/kustomization.yaml", "wds1/db/charts/postgresql-16.0.1/postgresql/templates/fail.yaml:1")
	})
	t.Run("with remote bases allowed, on disk", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{AllowRemoteBases: true}, entries...)
		require.NoError(t, err)
		found := false
		for _, o := range res.Space("wds1").Objects {
			found = found || o.GetName() == "edge-orders-postgresql" && o.GetKind() == "StatefulSet"
		}
		assert.True(t, found)
	})
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// servePackagedChart serves a chart repository on 127.0.0.1 holding the
// chart of entries (under dir) packaged as name-version.tgz.
func servePackagedChart(t *testing.T, dir, name, version string, entries []gittest.Entry) string {
	t.Helper()
	files := make([]ocitest.File, 0, len(entries))
	for _, e := range entries {
		files = append(files, ocitest.File{Name: name + "/" + strings.TrimPrefix(e.Path, dir+"/"), Body: e.Content})
	}
	archive := ocitest.TarGz(t, files)
	sum := sha256.Sum256(archive)
	index := fmt.Sprintf("apiVersion: v1\nentries:\n  %s:\n  - {version: %q, urls: [%s-%s.tgz], digest: %s}\n", name, version, name, version, hex.EncodeToString(sum[:]))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		switch req.URL.Path {
		case "/index.yaml":
			_, _ = w.Write([]byte(index))
		case "/" + name + "-" + version + ".tgz":
			_, _ = w.Write(archive)
		default:
			http.NotFound(w, req)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestHelmChartFromRepository(t *testing.T) {
	repo := servePackagedChart(t, "chart", "postgresql", "16.0.1", pgChart("chart"))
	decl := gittest.File("wds1/db/helmchart.yaml", `apiVersion: gitstellar.io/v1alpha1
kind: HelmChart
metadata: {name: orders, namespace: db}
spec:
  repo: `+repo+`
  chart: postgresql
  version: "~16.0"
  labels: {app.kubernetes.io/part-of: orders-db}
`)
	cache := t.TempDir()
	res, err := renderCommit(t, render.Options{Charts: &chartrepo.Fetcher{CacheDir: cache}}, decl)
	require.NoError(t, err)
	names := map[string]bool{}
	for _, o := range res.Space("wds1").Objects {
		names[o.GetKind()+"/"+o.GetNamespace()+"/"+o.GetName()] = true
		if o.GetKind() == "StatefulSet" {
			assert.Equal(t, "orders-db", o.GetLabels()["app.kubernetes.io/part-of"])
			assert.Equal(t, "wds1/db/helmchart.yaml (postgresql 16.0.1 from "+repo+": postgresql/templates/statefulset.yaml, rendered)", o.Source.File)
		}
	}
	assert.True(t, names["StatefulSet/db/orders-postgresql"], "%v", names)
	require.Len(t, res.Charts, 1)
	assert.Equal(t, "16.0.1", res.Charts[0].Version, "the range resolved")
	assert.Equal(t, "orders", res.Charts[0].Release)
	assert.True(t, strings.HasPrefix(res.Charts[0].Digest, "sha256:"))

	// Offline (validate, plan): from the cache; a chart not there says
	// the network is needed.
	_, err = renderCommit(t, render.Options{Charts: &chartrepo.Fetcher{CacheDir: cache, Offline: true}}, decl)
	require.NoError(t, err)
	res, err = renderCommit(t, render.Options{Charts: &chartrepo.Fetcher{CacheDir: t.TempDir(), Offline: true}}, decl)
	requireRefused(t, res, err, "wds1/db/helmchart.yaml", "the network is needed")
	res, err = renderCommit(t, render.Options{}, decl)
	requireRefused(t, res, err, "wds1/db/helmchart.yaml", "not fetched here")

	// An unreachable repository refuses the revision, naming it: the last
	// good revision stays in force.
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	res, err = renderCommit(t, render.Options{Charts: &chartrepo.Fetcher{CacheDir: t.TempDir()}},
		gittest.File("wds1/db/helmchart.yaml", strings.Replace(decl.Content, repo, gone.URL, 1)))
	requireRefused(t, res, err, "wds1/db/helmchart.yaml", "chart repository "+gone.URL)
}

// TestHelmChartHostileTree: a chart's symbolic links are not followed
// (one leading outside the repository reads nothing), a values file
// reached through a link outside is refused, and a template failing with
// control characters in its message is an error at the declaration (the
// commands print every error escaped: TestValidateEscapesProblems).
func TestHelmChartHostileTree(t *testing.T) {
	out := outsideDir(t)
	entries := append(pgChart("wds1/charts/postgresql"),
		gittest.Symlink("wds1/charts/postgresql/templates/stolen.yaml", filepath.Join(out, "secret.yaml")),
		gittest.Symlink("wds1/charts/postgresql/templates/inside.yaml", "service.yaml"),
		gittest.File("wds1/db/helmchart.yaml", pgRelease),
		gittest.File("wds1/db/edge-values.yaml", "{}\n"),
	)
	res, err := renderCommit(t, render.Options{}, entries...)
	require.NoError(t, err)
	for _, o := range res.Space("wds1").Objects {
		assert.NotContains(t, mustJSON(t, o.Object), planted, "%s: read through a link out of the repository", o.Source)
	}

	res, err = renderCommit(t, render.Options{}, append(pgChart("wds1/charts/postgresql"),
		gittest.File("wds1/db/helmchart.yaml", pgRelease),
		gittest.Symlink("wds1/db/edge-values.yaml", filepath.Join(out, "secret.yaml")))...)
	requireRefused(t, res, err, "wds1/db/edge-values.yaml", "")

	res, err = renderCommit(t, render.Options{}, append(pgChart("wds1/charts/postgresql"),
		gittest.File("wds1/db/helmchart.yaml", pgRelease),
		gittest.File("wds1/db/edge-values.yaml", "{}\n"),
		gittest.File("wds1/charts/postgresql/templates/evil.yaml", "{{ fail \"\\x1b]52;c;QQ==\\x07 pwned\" }}\n"))...)
	requireRefused(t, res, err, "wds1/db/helmchart.yaml", "pwned")
}
