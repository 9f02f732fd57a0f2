package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestValidateEscapesProblems: a problem is one line, whatever the file
// name: hidden characters visible, no CI command.
func TestValidateEscapesProblems(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "pkg", "plan", "testdata", "base"))))
	name := "evil\x1b]52;c;QQ==\x07\u202e\n::warning file=x::pwn.yaml"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wds1", "web", name), []byte("kind: [\n"), 0o644))

	out, _, err := execute(t, nil, "validate", dir)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err), "%v", err)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 1, "one problem, one line: %q", out)
	assert.True(t, strings.HasPrefix(lines[0], filepath.Join(dir, "wds1", "web", `evil\x1b]52;c;QQ==\x07\u202e\n::warning file=x::pwn.yaml`)+":"), lines[0])
	assertNoRawHidden(t, out)
}

// TestValidateCustomTransformPaths: a path the transport would refuse
// fails validate, naming the file and the path.
func TestValidateCustomTransformPaths(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "pkg", "plan", "testdata", "base"))))
	ct := "apiVersion: control.kubestellar.io/v1alpha1\nkind: CustomTransform\nmetadata: {name: ports}\nspec:\n  apiGroup: apps\n  resource: deployments\n  remove:\n  - $.spec.template.spec.containers[?(@.name != \"a\" && @.image == \"b\")].ports\n  - $.metadata\n  - '$.spec[?(@.x = 1)]'\n"
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wds1", "web", "ct.yaml"), []byte(ct), 0o644))

	out, _, err := execute(t, nil, "validate", dir)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 2, "the && filter is fine; the other two are refused: %s", out)
	for _, l := range lines {
		assert.True(t, strings.HasPrefix(l, filepath.Join(dir, "wds1", "web", "ct.yaml")+":1: "), l)
	}
	assert.Contains(t, lines[0], `spec.remove[1]: path "$.metadata"`)
	assert.Contains(t, lines[1], `spec.remove[2]: path "$.spec[?(@.x = 1)]"`)
}

// TestValidateChartFromRepository: validate renders a chart from a chart
// repository offline: from --chart-cache, or saying the network is
// needed; --chart-credentials that do not parse are refused without their
// secret.
func TestValidateChartFromRepository(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.CopyFS(dir, os.DirFS(filepath.Join("..", "..", "pkg", "plan", "testdata", "base"))))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wds1", "db"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "wds1", "db", "helmchart.yaml"), []byte(
		"apiVersion: gitstellar.io/v1alpha1\nkind: HelmChart\nmetadata: {name: orders, namespace: db}\nspec: {repo: 'https://127.0.0.1:1/charts', chart: postgresql, version: '~16.0'}\n"), 0o644))

	out, _, err := execute(t, nil, "validate", "--chart-cache", t.TempDir(), dir)
	require.Error(t, err)
	assert.Equal(t, 1, exitCode(err))
	assert.Contains(t, out, filepath.Join(dir, "wds1", "db", "helmchart.yaml")+":1: chart postgresql from https://127.0.0.1:1/charts: not in the chart cache: the network is needed")

	creds := filepath.Join(t.TempDir(), "creds.yaml")
	require.NoError(t, os.WriteFile(creds, []byte("- {url: 'https://u:s3cret-value@x', username: a, password: b}\n"), 0o600))
	out, stderr, err := execute(t, nil, "validate", "--chart-credentials", creds, dir)
	require.Error(t, err)
	assert.NotContains(t, out+stderr+err.Error(), "s3cret-value")
}
