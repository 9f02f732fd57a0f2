package render_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/render"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// summary prints a render result or its errors, the way the golden files
// hold them: every object with its location, and its body.
func summary(res *render.Result, err error) string {
	var b strings.Builder
	if err != nil {
		var errs render.Errors
		if !errors.As(err, &errs) {
			return "unexpected error type: " + err.Error()
		}
		b.WriteString("errors:\n")
		for _, e := range errs {
			fmt.Fprintf(&b, "  %s\n", e)
		}
		return b.String()
	}
	for _, s := range res.Spaces {
		fmt.Fprintf(&b, "space %s (%s)\n", s.Name, s.Type)
		for _, o := range s.Objects {
			fmt.Fprintf(&b, "- %s  # %s\n", render.KeyOf(o.Unstructured), o.Source)
			y, _ := yaml.Marshal(o.Object)
			for _, l := range strings.Split(strings.TrimRight(string(y), "\n"), "\n") {
				fmt.Fprintf(&b, "    %s\n", l)
			}
		}
	}
	return b.String()
}

func TestRenderGolden(t *testing.T) {
	cases, err := os.ReadDir("testdata/repos")
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.Name(), func(t *testing.T) {
			res, err := render.Directory(context.Background(), filepath.Join("testdata/repos", c.Name()), render.Options{})
			if strings.HasPrefix(c.Name(), "broken") {
				require.Error(t, err)
				assert.Nil(t, res, "a broken revision renders nothing")
			} else {
				require.NoError(t, err)
			}
			got := summary(res, err)
			golden := filepath.Join("testdata/golden", c.Name()+".txt")
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(golden), 0o755))
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			want, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test ./pkg/render -update")
			assert.Equal(t, string(want), got)
		})
	}
}

func TestRenderExample(t *testing.T) {
	res, err := render.Directory(context.Background(), "../../examples/repo-layout", render.Options{})
	require.NoError(t, err)
	require.Len(t, res.Spaces, 3)
	its, wds, wds2 := res.Space("its1"), res.Space("wds1"), res.Space("wds2")
	require.NotNil(t, its)
	require.NotNil(t, wds)
	require.NotNil(t, wds2)
	keys := func(s *render.Space) []string {
		var out []string
		for _, o := range s.Objects {
			out = append(out, render.KeyOf(o.Unstructured).String())
		}
		return out
	}
	assert.Equal(t, []string{
		"Space.gitstellar.io its1",
		"WorkloadCluster.gitstellar.io cluster1",
		"WorkloadCluster.gitstellar.io cluster2",
	}, keys(its))
	assert.Equal(t, []string{
		"ConfigMap nginx/hello-config",
		"Namespace nginx",
		"Namespace nginx-singleton",
		"Deployment.apps nginx/nginx-deployment",
		"Deployment.apps nginx-singleton/nginx-singleton-deployment",
		"BindingPolicy.control.kubestellar.io nginx-bpolicy",
		"BindingPolicy.control.kubestellar.io nginx-singleton-bpolicy",
		"StatusCollector.control.kubestellar.io count-available",
		"Space.gitstellar.io wds1",
	}, keys(wds))
	assert.Equal(t, []string{
		"Namespace redis",
		"Deployment.apps redis/redis",
		"BindingPolicy.control.kubestellar.io redis-bpolicy",
		"Space.gitstellar.io wds2",
	}, keys(wds2), "a second WDS on the same ITS")
	assert.Equal(t, "its1", wds2.Declaration.Spec.ITS)
	for _, o := range wds.Objects {
		if o.GetKind() == "ConfigMap" {
			assert.Equal(t, "hello from the edge", o.Object["data"].(map[string]any)["greeting"], "the kustomize overlay applied")
			assert.Equal(t, "nginx", o.GetLabels()["app.kubernetes.io/name"])
		}
	}
}

func TestRenderIsDeterministic(t *testing.T) {
	first, err := render.Directory(context.Background(), "testdata/repos/plain", render.Options{})
	require.NoError(t, err)
	for range 5 {
		again, err := render.Directory(context.Background(), "testdata/repos/plain", render.Options{})
		require.NoError(t, err)
		assert.Equal(t, summary(first, nil), summary(again, nil))
	}
}

func TestRenderMissingRoot(t *testing.T) {
	_, err := render.Directory(context.Background(), filepath.Join(t.TempDir(), "nope"), render.Options{})
	assert.ErrorContains(t, err, "no such file or directory")
}
