package render_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// These tests play an attacker who can push: every repository is a commit
// crafted with Git's object plumbing, read from the object store as `run`
// and `plan` read it.

const planted = "planted-outside-value-7f3a"

// spaces is the smallest layout: an ITS and a WDS wds1.
var spaces = []gittest.Entry{
	gittest.File("spaces/its1.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n"),
	gittest.File("spaces/wds1.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n"),
}

func configMap(name string) string {
	return fmt.Sprintf("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n  namespace: default\ndata:\n  k: v\n", name)
}

// outsideDir holds a file with a planted value that nothing may read.
func outsideDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "secret.yaml"), []byte(configMap("stolen")+"  stolen: "+planted+"\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte("resources: [secret.yaml]\n"), 0o644))
	return dir
}

func renderCommit(t *testing.T, opts render.Options, entries ...gittest.Entry) (*render.Result, error) {
	t.Helper()
	dir := t.TempDir()
	gittest.Craft(t, dir, "main", append(append([]gittest.Entry(nil), spaces...), entries...)...)
	tree, _, err := source.OpenRevision(dir, "main")
	require.NoError(t, err)
	return render.Render(context.Background(), tree, opts)
}

// requireRefused asserts that a revision renders nothing, with an error
// at file holding want, and that no output names the planted value.
func requireRefused(t *testing.T, res *render.Result, err error, file, want string) {
	t.Helper()
	require.Error(t, err)
	assert.Nil(t, res, "a refused revision renders nothing")
	var errs render.Errors
	require.True(t, errors.As(err, &errs), "render.Errors, got %T: %v", err, err)
	found := false
	for _, e := range errs {
		if e.File == file && strings.Contains(e.Message, want) {
			found = true
		}
	}
	assert.True(t, found, "want an error at %s containing %q, got:\n%v", file, want, err)
	assert.NotContains(t, err.Error(), planted)
}

func TestAdversarialReadsOutside(t *testing.T) {
	out := outsideDir(t)
	rel := func(p string) string { // from the repository's root: the temp dirs are siblings
		return "../../" + filepath.Base(filepath.Dir(out)) + "/" + filepath.Base(out) + p
	}
	cases := []struct {
		name          string
		entries       []gittest.Entry
		file, message string
	}{
		{"settings linked outside", []gittest.Entry{gittest.Symlink("gitstellar.yaml", filepath.Join(out, "secret.yaml"))},
			"gitstellar.yaml", "leads outside the repository"},
		{"settings linked to /dev/zero", []gittest.Entry{gittest.Symlink("gitstellar.yaml", "/dev/zero")},
			"gitstellar.yaml", "leads outside the repository: the target is absolute"},
		{"a manifest linked outside", []gittest.Entry{gittest.Symlink("wds1/cm.yaml", rel("/secret.yaml"))},
			"wds1/cm.yaml", "leads outside the repository"},
		{"a WDS directory linked outside", []gittest.Entry{gittest.Symlink("wds1", out)},
			"wds1", "leads outside the repository"},
		{"a directory linked outside", []gittest.Entry{gittest.Symlink("wds1/app", out)},
			"wds1/app", "leads outside the repository"},
		{"kustomize resources above the root", []gittest.Entry{
			gittest.File("wds1/app/kustomization.yaml", "resources:\n- "+rel("")+"\n"),
		}, "wds1/app/kustomization.yaml", "file does not exist"},
		{"kustomize file above the root", []gittest.Entry{
			gittest.File("wds1/app/kustomization.yaml", "resources:\n- ../../../../../../../../.."+out+"/secret.yaml\n"),
		}, "wds1/app/kustomization.yaml", "file does not exist"},
		{"kustomize base linked outside", []gittest.Entry{
			gittest.File("wds1/app/kustomization.yaml", "resources:\n- ../../base\n"),
			gittest.Symlink("base", out),
		}, "wds1/app/kustomization.yaml", "leads outside the repository"},
		{"kustomize generator file linked outside", []gittest.Entry{
			gittest.File("wds1/app/kustomization.yaml", "configMapGenerator:\n- name: x\n  files: [stolen.yaml]\n"),
			gittest.Symlink("wds1/app/stolen.yaml", "../../"+rel("/secret.yaml")),
		}, "wds1/app/kustomization.yaml", "leads outside the repository"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, err := renderCommit(t, render.Options{}, tc.entries...)
			requireRefused(t, res, err, tc.file, tc.message)
		})
	}
}

func TestAdversarialLinksInsideWork(t *testing.T) {
	res, err := renderCommit(t, render.Options{},
		gittest.File("gitstellar.yaml", "ignore: [base/, shared/]\n"),
		gittest.File("shared/cm.yaml", configMap("shared")),
		gittest.Symlink("wds1/linked", "../shared"),
		gittest.File("base/kustomization.yaml", "resources: [cm.yaml]\n"),
		gittest.File("base/cm.yaml", configMap("from-base")),
		gittest.File("wds1/app/kustomization.yaml", "resources: [../../base]\nnamePrefix: app-\n"),
	)
	require.NoError(t, err)
	var names []string
	for _, o := range res.Space("wds1").Objects {
		names = append(names, o.GetName())
	}
	assert.ElementsMatch(t, []string{"wds1", "shared", "app-from-base"}, names)

	t.Run("a symlinked WDS directory is read, not skipped", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{},
			gittest.File("real/cm.yaml", configMap("real")),
			gittest.Symlink("wds1", "real"),
			gittest.File("gitstellar.yaml", "ignore: [real/]\n"),
		)
		require.NoError(t, err)
		require.Len(t, res.Space("wds1").Objects, 2)
		assert.Equal(t, "real", res.Space("wds1").Objects[0].GetName())
	})
	t.Run("a dangling link is an error only where a manifest would be read", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{},
			gittest.File("wds1/cm.yaml", configMap("cm")),
			gittest.Symlink("wds1/NOTES.md", "../docs/NOTES.md"),
			gittest.Symlink(".github", "missing"))
		require.NoError(t, err)
		require.Len(t, res.Space("wds1").Objects, 2)
		res, err = renderCommit(t, render.Options{}, gittest.Symlink("wds1/gone.yaml", "missing.yaml"))
		requireRefused(t, res, err, "wds1/gone.yaml", "file does not exist")
	})
	t.Run("a loop is an error", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/a/cm.yaml", configMap("a")), gittest.Symlink("wds1/a/again", ".."))
		requireRefused(t, res, err, "wds1/a/again/", "symbolic links loop")
	})
}

// serveConfigMap serves a ConfigMap over HTTP on 127.0.0.1 and counts the
// requests.
func serveConfigMap(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	requests := &atomic.Int64{}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		fmt.Fprint(w, configMap("fetched"))
	}), ReadHeaderTimeout: time.Second}
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() { _ = srv.Close() })
	return "http://" + l.Addr().String(), requests
}

// TestAdversarialNetwork: remote references in kustomizations are refused
// before kustomize runs: no connection reaches a listener on 127.0.0.1,
// no git is run, and the error names the kustomization and the URL.
func TestAdversarialNetwork(t *testing.T) {
	web, requests := serveConfigMap(t)
	var accepted atomic.Int64
	raw, err := net.Listen("tcp", "127.0.0.1:0") // for git and ssh: counts connections
	require.NoError(t, err)
	go func() {
		for {
			c, err := raw.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { raw.Close() })
	port := raw.Addr().(*net.TCPAddr).Port

	refs := []string{
		web + "/cm.yaml",
		fmt.Sprintf("https://127.0.0.1:%d/cm.yaml", port),
		"github.com/example/repo//dir?ref=v1",
		fmt.Sprintf("https://127.0.0.1:%d/org/repo.git//dir?ref=main", port),
		fmt.Sprintf("ssh://git@127.0.0.1:%d/org/repo.git", port),
		"git@127.0.0.1:org/repo.git//dir",
		"git::https://user:hunter2@127.0.0.1:" + fmt.Sprint(port) + "/org/repo",
		"file:///etc",
		"GitHub.com/example/repo",
	}
	for _, ref := range refs {
		t.Run(ref, func(t *testing.T) {
			res, err := renderCommit(t, render.Options{},
				gittest.File("wds1/app/kustomization.yaml", "resources:\n- "+ref+"\n"))
			shown := strings.Replace(strings.Replace(ref, "user:hunter2", "REDACTED", 1), "ssh://git@", "ssh://REDACTED@", 1)
			requireRefused(t, res, err, "wds1/app/kustomization.yaml", fmt.Sprintf("resources %q is remote", shown))
			assert.NotContains(t, err.Error(), "hunter2", "credentials in a URL are not shown")
		})
	}
	t.Run("in a base, a patch and a generator", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{},
			gittest.File("gitstellar.yaml", "ignore: [base/]\n"),
			gittest.File("wds1/app/kustomization.yaml", "resources: [../../base]\n"),
			gittest.File("base/kustomization.yaml", "resources: [cm.yaml]\npatches:\n- path: "+web+"/patch.yaml\nconfigMapGenerator:\n- name: g\n  files: [k="+web+"/f]\n"),
			gittest.File("base/cm.yaml", configMap("cm")),
		)
		requireRefused(t, res, err, "base/kustomization.yaml", "patches.path")
		requireRefused(t, res, err, "base/kustomization.yaml", "configMapGenerator.files")
	})
	t.Run("helm charts", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{},
			gittest.File("wds1/app/kustomization.yaml", "helmCharts:\n- name: x\n  repo: "+web+"\n"))
		requireRefused(t, res, err, "wds1/app/kustomization.yaml", "is not in the repository at wds1/app/charts/x, and charts from http://127.0.0.1")
		assert.NotContains(t, err.Error(), "--enable-helm", "no flag we do not have")
	})
	assert.Zero(t, requests.Load(), "no HTTP request")
	assert.Zero(t, accepted.Load(), "no connection")
}

func TestAdversarialBounds(t *testing.T) {
	t.Run("a file over the file-size limit", func(t *testing.T) {
		big := configMap("big") + "  pad: " + strings.Repeat("x", 9<<20) + "\n"
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/big.yaml", big))
		requireRefused(t, res, err, "wds1/big.yaml", "over the file-size limit of 8MiB (--limit file-size=...)")
	})
	t.Run("an object over etcd's 1.5 MiB", func(t *testing.T) {
		big := configMap("big") + "  pad: " + strings.Repeat("x", 2<<20) + "\n"
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/big.yaml", big))
		requireRefused(t, res, err, "wds1/big.yaml", "over the object-size limit of 1536KiB")
	})
	t.Run("an object 9,000 levels deep", func(t *testing.T) {
		deep := configMap("deep") + "  nested: " + strings.Repeat("[", 9000) + strings.Repeat("]", 9000) + "\n"
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/deep.yaml", deep))
		require.Error(t, err)
		assert.Nil(t, res)
		assert.Contains(t, err.Error(), "wds1/deep.yaml:1: ")
	})
	t.Run("an object over the depth limit", func(t *testing.T) {
		deep := `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"d"},"x":` + strings.Repeat("[", 150) + strings.Repeat("]", 150) + "}\n"
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/deep.json", deep))
		requireRefused(t, res, err, "wds1/deep.json", "the object's nesting is over the depth limit of 100")
	})
	t.Run("more objects than the objects limit", func(t *testing.T) {
		var b strings.Builder
		for i := range 30 {
			fmt.Fprintf(&b, "---\n%s", configMap(fmt.Sprint("cm", i)))
		}
		res, err := renderCommit(t, render.Options{Limits: render.Limits{Objects: 20}}, gittest.File("wds1/many.yaml", b.String()))
		requireRefused(t, res, err, "wds1/many.yaml", "the number of objects in the revision is over the objects limit of 20")
	})
	t.Run("more files than the files limit", func(t *testing.T) {
		var entries []gittest.Entry
		for i := range 30 {
			entries = append(entries, gittest.File(fmt.Sprintf("wds1/d%d/cm.yaml", i), configMap(fmt.Sprint("cm", i))))
		}
		res, err := renderCommit(t, render.Options{Limits: render.Limits{Files: 10}}, entries...)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "over the files limit of 10")
		assert.Nil(t, res)
	})
	t.Run("a line longer than 16 MiB loses nothing", func(t *testing.T) {
		long := configMap("first") + "# " + strings.Repeat("x", 17<<20) + "\n---\n" + configMap("second")
		res, err := renderCommit(t, render.Options{Limits: render.Limits{FileSize: 32 << 20}}, gittest.File("wds1/long.yaml", long))
		require.NoError(t, err)
		require.Len(t, res.Space("wds1").Objects, 3, "both ConfigMaps and the Space")
	})
	t.Run("memory stays bounded", func(t *testing.T) {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		big := strings.Repeat("a: [", 1<<18)
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/bomb.yaml", big), gittest.Symlink("wds1/zero.yaml", "/dev/zero"))
		require.Error(t, err)
		assert.Nil(t, res)
		runtime.ReadMemStats(&after)
		assert.Less(t, after.HeapAlloc, before.HeapAlloc+256<<20, "heap in use")
	})
}

func TestAdversarialTypes(t *testing.T) {
	cases := map[string]string{
		"namespace: no":         "metadata.namespace: want a string, got a boolean (false); quote it if a string is meant",
		"namespace: 12":         "metadata.namespace: want a string, got a number (12)",
		"namespace: [a, b]":     "metadata.namespace: want a string, got a list",
		"name: {a: b}":          "metadata.name: want a string, got a map",
		"labels: {app: true}":   `metadata.labels["app"]: want a string, got a boolean (true)`,
		"labels: [a]":           "metadata.labels: want a map of strings, got a list",
		"annotations: {x: 1.5}": `metadata.annotations["x"]: want a string, got a number (1.5)`,
	}
	for field, want := range cases {
		t.Run(field, func(t *testing.T) {
			doc := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\n  " + field + "\n"
			if strings.HasPrefix(field, "name:") {
				doc = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  " + field + "\n"
			}
			res, err := renderCommit(t, render.Options{}, gittest.File("wds1/cm.yaml", doc))
			requireRefused(t, res, err, "wds1/cm.yaml", want)
		})
	}
	t.Run("kind: 5", func(t *testing.T) {
		res, err := renderCommit(t, render.Options{}, gittest.File("wds1/cm.yaml", "apiVersion: v1\nkind: 5\nmetadata: {name: x}\n"))
		requireRefused(t, res, err, "wds1/cm.yaml", "kind: want a string, got a number (5)")
	})
}

// TestAdversarialWorkTree: validate and plan read a work tree through
// os.Root: the same refusals, and a FIFO neither blocks nor is read.
func TestAdversarialWorkTree(t *testing.T) {
	out := outsideDir(t)
	dir := t.TempDir()
	for _, e := range spaces {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(e.Path)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Path), []byte(e.Content), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "wds1"), 0o755))
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, "wds1/fifo.yaml"), 0o644))
	require.NoError(t, os.Symlink(filepath.Join(out, "secret.yaml"), filepath.Join(dir, "wds1/abs.yaml")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(dir, "gitstellar.yaml")))

	done := make(chan struct{})
	var (
		res *render.Result
		err error
	)
	go func() {
		defer close(done)
		res, err = render.Directory(context.Background(), dir, render.Options{})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("rendering a work tree with a FIFO blocked")
	}
	requireRefused(t, res, err, "gitstellar.yaml", "leads outside the repository")

	require.NoError(t, os.Remove(filepath.Join(dir, "gitstellar.yaml")))
	res, err = render.Directory(context.Background(), dir, render.Options{})
	requireRefused(t, res, err, "wds1/fifo.yaml", "not a regular file: a FIFO")
	requireRefused(t, res, err, "wds1/abs.yaml", "leads outside the repository")
	j, _ := json.Marshal(err)
	assert.NotContains(t, string(j), planted)
}

func TestRenderStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := render.Directory(ctx, "../../examples/repo-layout", render.Options{})
	assert.ErrorIs(t, err, context.Canceled)
}

// TestAllowRemoteBases: the operator's opt-in lets kustomize fetch what a
// kustomization names.
func TestAllowRemoteBases(t *testing.T) {
	web, requests := serveConfigMap(t)
	res, err := renderCommit(t, render.Options{AllowRemoteBases: true},
		gittest.File("wds1/app/kustomization.yaml", "resources:\n- cm.yaml\n- "+web+"/cm.yaml\n"),
		gittest.File("wds1/app/cm.yaml", configMap("local")),
	)
	require.NoError(t, err)
	var names []string
	for _, o := range res.Space("wds1").Objects {
		names = append(names, o.GetName())
	}
	assert.ElementsMatch(t, []string{"wds1", "local", "fetched"}, names)
	assert.Equal(t, int64(1), requests.Load())
}

// TestAdversarialSettingsAndProperties: the inputs this layout reads
// beyond objects — gitstellar.yaml's adopt, and property ConfigMaps in
// clusters/ — are refused with their control characters escaped, and a
// property ConfigMap cannot reach another namespace or another ITS's WEC.
func TestAdversarialSettingsAndProperties(t *testing.T) {
	res, err := renderCommit(t, render.Options{}, gittest.File("gitstellar.yaml", "adopt: \"\\e[31mall\\a\"\n"))
	requireRefused(t, res, err, "gitstellar.yaml", `adopt: "\x1b[31mall\a" is not a choice`)
	assert.NotContains(t, err.Error(), "\x1b", "no raw escape sequence in the error")

	res, err = renderCommit(t, render.Options{}, gittest.File("clusters/p.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"edge\\e]0;x\\a\", namespace: customization-properties}\ndata: {a: b}\n"))
	requireRefused(t, res, err, "clusters/p.yaml", `ConfigMap "edge\x1b]0;x\a": a ConfigMap in clusters/ holds the template properties of the WorkloadCluster of its name`)
	assert.NotContains(t, err.Error(), "\x1b")

	res, err = renderCommit(t, render.Options{}, gittest.File("clusters/p.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: edge1, namespace: kube-system}\ndata: {a: b}\n"))
	requireRefused(t, res, err, "clusters/p.yaml", `in namespace customization-properties, not "kube-system"`)
}
