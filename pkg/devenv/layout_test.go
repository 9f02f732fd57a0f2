package devenv_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	applycorev1 "k8s.io/client-go/applyconfigurations/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// writeFiles writes files (slash-separated names) under dir.
func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
}

func space(name, typ, its, kubeconfig string) string {
	s := "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata:\n  name: " + name + "\nspec:\n  type: " + typ + "\n"
	if its != "" {
		s += "  its: " + its + "\n"
	}
	return s + kubeconfig
}

func workloadCluster(name, its, kubeconfig string) string {
	return "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata:\n  name: " + name + "\nspec:\n  its: " + its + "\n" + kubeconfig
}

// repoLayout is a repository declaring two ITSes, three WDSes and four
// WorkloadClusters, some of them reached otherwise than by a context.
func repoLayout() map[string]string {
	return map[string]string{
		"spaces/its1.yaml": space("its1", "ITS", "", ""),
		"spaces/its2.yaml": space("its2", "ITS", "", "  kubeconfig:\n    context: hub-its2\n"),
		"spaces/wds1.yaml": space("wds1", "WDS", "its1", ""),
		"spaces/wds2.yaml": space("wds2", "WDS", "its2", "  kubeconfig: {}\n"),
		"spaces/remote.yaml": space("remote", "WDS", "its1",
			"  kubeconfig:\n    secretRef: {namespace: gitstellar, name: remote}\n"),
		"clusters/cluster1.yaml": workloadCluster("cluster1", "its1", "  kubeconfig:\n    context: cluster1\n"),
		"clusters/edge.yaml":     workloadCluster("edge", "its2", "  kubeconfig:\n    context: edge-ctx\n"),
		"clusters/agent.yaml":    workloadCluster("agent", "its1", ""),
		"clusters/secret.yaml": workloadCluster("secret", "its1",
			"  kubeconfig:\n    secretRef: {namespace: gitstellar, name: secret}\n"),
		// The WDS directories are not read: a broken file there does not
		// stop the environment.
		"wds1/broken.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: [\n",
		"README.md":        "not read\n",
	}
}

func TestReadLayout(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, repoLayout())
	l, err := devenv.ReadLayout(context.Background(), dir, "")
	require.NoError(t, err)
	assert.Equal(t, []devenv.LayoutSpace{
		{Name: "hub-its2", Role: devenv.RoleITS},
		{Name: "its1", Role: devenv.RoleITS},
		{Name: "wds1", Role: devenv.RoleWDS},
		{Name: "wds2", Role: devenv.RoleWDS},
		{Name: "cluster1", Role: devenv.RoleWEC},
		{Name: "edge-ctx", Role: devenv.RoleWEC},
	}, l.Spaces)

	t.Run("in a directory of the repository", func(t *testing.T) {
		repo := t.TempDir()
		writeFiles(t, repo, map[string]string{
			"deploy/spaces/its.yaml": space("its9", "ITS", "", ""),
			"spaces/its1.yaml":       space("not-this-one", "ITS", "", ""),
		})
		l, err := devenv.ReadLayout(context.Background(), repo, "deploy")
		require.NoError(t, err)
		assert.Equal(t, []devenv.LayoutSpace{{Name: "its9", Role: devenv.RoleITS}}, l.Spaces)
	})

	for name, tc := range map[string]struct {
		files map[string]string
		want  []string
	}{
		"broken YAML": {
			files: map[string]string{"spaces/bad.yaml": "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: [\n"},
			want:  []string{"spaces/bad.yaml:3: "},
		},
		"a WorkloadCluster naming no ITS": {
			files: map[string]string{"clusters/c.yaml": workloadCluster("c", "its7", "")},
			want:  []string{"clusters/c.yaml:1: ", `"its7", which is not a Space`},
		},
		"one context for a WDS and a WEC": {
			files: map[string]string{"clusters/c.yaml": "# the WDS's context\n" + workloadCluster("c", "its1", "  kubeconfig:\n    context: wds1\n")},
			want:  []string{"clusters/c.yaml:2: ", `kubeconfig context "wds1" is also the WDS declared at spaces/wds1.yaml:1`},
		},
		"a context that cannot name a space": {
			files: map[string]string{"clusters/c.yaml": workloadCluster("c", "its1", "  kubeconfig:\n    context: Kind_C\n")},
			want:  []string{"clusters/c.yaml:1: ", `context "Kind_C"`},
		},
	} {
		t.Run(name, func(t *testing.T) {
			repo := t.TempDir()
			writeFiles(t, repo, repoLayout())
			writeFiles(t, repo, tc.files)
			_, err := devenv.ReadLayout(context.Background(), repo, "")
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.Contains(t, err.Error(), repo+string(filepath.Separator), "the file is named under the repository")
			var le *devenv.LayoutError
			require.True(t, errors.As(err, &le))
			var problems render.Errors
			assert.True(t, errors.As(err, &problems))
		})
	}

	t.Run("more spaces than a dev environment runs", func(t *testing.T) {
		repo := t.TempDir()
		files := map[string]string{}
		for i := range devenv.MaxSpaces + 1 {
			name := fmt.Sprintf("its%d", i)
			files["spaces/"+name+".yaml"] = space(name, "ITS", "", "")
		}
		writeFiles(t, repo, files)
		_, err := devenv.ReadLayout(context.Background(), repo, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), fmt.Sprintf("declares %d spaces", devenv.MaxSpaces+1))
	})

	t.Run("a link out of the repository is not followed", func(t *testing.T) {
		outside := t.TempDir()
		writeFiles(t, outside, map[string]string{"its.yaml": space("outside", "ITS", "", "")})
		repo := t.TempDir()
		writeFiles(t, repo, map[string]string{"spaces/its1.yaml": space("its1", "ITS", "", "")})
		require.NoError(t, os.Symlink(filepath.Join(outside, "its.yaml"), filepath.Join(repo, "spaces", "its.yaml")))
		_, err := devenv.ReadLayout(context.Background(), repo, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), filepath.Join(repo, "spaces", "its.yaml"))
	})
}

func TestUpOptionsRefused(t *testing.T) {
	dir := t.TempDir()
	for name, tc := range map[string]struct {
		opts devenv.Options
		want string
		// contradicting: an OptionsError (a usage error of the command)
		contradicting bool
	}{
		"repo and wecs":   {devenv.Options{Repo: dir, WECs: 2}, "--repo and --wecs", true},
		"layout and wecs": {devenv.Options{Layout: &devenv.Layout{}, WECs: 1}, "--repo and --wecs", true},
		"repo and layout": {devenv.Options{Repo: dir, Layout: &devenv.Layout{}}, "choose one", true},
		"prune alone":     {devenv.Options{Prune: true}, "needs --repo", true},
		"a bad name": {devenv.Options{Layout: &devenv.Layout{Spaces: []devenv.LayoutSpace{{Name: "../x", Role: devenv.RoleWDS}}}},
			`space "../x"`, false},
		"an empty repository": {devenv.Options{Repo: dir}, "declares no space", false},
	} {
		t.Run(name, func(t *testing.T) {
			tc.opts.StateDir = filepath.Join(t.TempDir(), "state")
			_, err := devenv.Up(context.Background(), tc.opts)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			var contradicting devenv.OptionsError
			assert.Equal(t, tc.contradicting, errors.As(err, &contradicting))
			_, err = os.Stat(tc.opts.StateDir)
			assert.True(t, os.IsNotExist(err), "nothing is created")
		})
	}
}

// TestUpFollowsTheLayout: an environment of two ITSes, two WDSes and a
// WEC; a WDS added, one removed (still running until pruned), pruned, then
// declared again, empty.
func TestUpFollowsTheLayout(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ctx := context.Background()
	layout := func(names ...string) *devenv.Layout {
		roles := map[string]devenv.Role{"its1": devenv.RoleITS, "its2": devenv.RoleITS, "wds1": devenv.RoleWDS,
			"wds2": devenv.RoleWDS, "wds3": devenv.RoleWDS, "cluster1": devenv.RoleWEC}
		l := &devenv.Layout{}
		for _, n := range names {
			l.Spaces = append(l.Spaces, devenv.LayoutSpace{Name: n, Role: roles[n]})
		}
		return l
	}
	env := devenvtest.Start(t, devenvtest.Options{Bare: true, Layout: layout("wds2", "cluster1", "its2", "wds1", "its1")})
	up := func(l *devenv.Layout, prune bool) *devenv.Environment {
		t.Helper()
		e, err := devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), Layout: l, Prune: prune, Bare: true, StopWithParent: true})
		require.NoError(t, err)
		return e
	}
	clientOf := func(e *devenv.Environment, space string) kubernetes.Interface {
		t.Helper()
		cfg, err := e.RESTConfig(space)
		require.NoError(t, err)
		return kubernetes.NewForConfigOrDie(cfg)
	}
	names := func(e *devenv.Environment) []string {
		var names []string
		for _, sp := range e.Spaces() {
			names = append(names, sp.Name)
		}
		return names
	}

	require.Equal(t, []string{"its1", "its2", "wds1", "wds2", "cluster1"}, names(env.Environment))
	assert.Equal(t, []string{"its1", "its2"}, env.Roles(devenv.RoleITS))
	assert.Equal(t, []string{"cluster1"}, env.WECs())
	assert.Empty(t, env.Removed())
	kc, err := clientcmd.LoadFromFile(env.KubeconfigPath())
	require.NoError(t, err)
	assert.Equal(t, "wds1", kc.CurrentContext)
	assert.Len(t, kc.Contexts, 5)

	t.Run("each space answers on its own apiserver", func(t *testing.T) {
		ports := map[int]bool{}
		for _, sp := range env.Spaces() {
			assert.False(t, ports[sp.Port], "port %d twice", sp.Port)
			ports[sp.Port] = true
			_, err := clientOf(env.Environment, sp.Name).CoreV1().ConfigMaps("default").Apply(ctx,
				applycorev1.ConfigMap("whoami", "default").WithData(map[string]string{"space": sp.Name}), metav1.ApplyOptions{FieldManager: "devenv-test"})
			require.NoError(t, err, sp.Name)
		}
		for _, sp := range env.Spaces() {
			cm, err := clientOf(env.Environment, sp.Name).CoreV1().ConfigMaps("default").Get(ctx, "whoami", metav1.GetOptions{})
			require.NoError(t, err, sp.Name)
			assert.Equal(t, sp.Name, cm.Data["space"], "the space's own object, not another's")
		}
	})

	_, err = clientOf(env.Environment, "wds2").CoreV1().ConfigMaps("default").Apply(ctx,
		applycorev1.ConfigMap("before-prune", "default"), metav1.ApplyOptions{FieldManager: "devenv-test"})
	require.NoError(t, err)
	wds2 := pidOf(t, env, "wds2-apiserver")
	wds2Before, _ := env.Space("wds2")
	require.NotEmpty(t, wds2Before.EtcdPrefix)
	etcd := statusOf(env, "etcd").Endpoint
	require.Positive(t, etcdKeys(t, etcd, wds2Before.EtcdPrefix))

	// wds3 declared, wds2 no longer.
	changed := up(layout("its1", "its2", "wds1", "wds3", "cluster1"), false)
	assert.Equal(t, []string{"wds3-apiserver"}, changed.Started())
	assert.Equal(t, []string{"wds2"}, changed.Removed())
	assert.Empty(t, changed.Pruned())
	assert.True(t, devenvtest.Alive(wds2, env.Dir()), "a space no longer declared keeps running")
	_, err = clientOf(changed, "wds2").CoreV1().ConfigMaps("default").Get(ctx, "before-prune", metav1.GetOptions{})
	require.NoError(t, err)
	_, err = clientOf(changed, "wds3").CoreV1().Namespaces().Get(ctx, "default", metav1.GetOptions{})
	require.NoError(t, err, "wds3 serves")

	t.Run("up without the layout brings back what the state records", func(t *testing.T) {
		require.NoError(t, changed.Kill("wds3-apiserver"))
		_, err := devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), StopWithParent: true})
		assert.ErrorContains(t, err, "is bare: true, not false", "another --bare is refused")
		again, err := devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), Bare: true, StopWithParent: true})
		require.NoError(t, err)
		assert.Equal(t, []string{"wds3-apiserver"}, again.Started())
		assert.Equal(t, []string{"wds2"}, again.Removed())
		_, err = devenv.Up(ctx, devenv.Options{StateDir: env.Dir(), Bare: true, WECs: 2, WECsSet: true})
		assert.ErrorContains(t, err, "has 1 WECs from its repository, not 2")
	})

	pruned := up(layout("its1", "its2", "wds1", "wds3", "cluster1"), true)
	assert.Equal(t, []string{"wds2"}, pruned.Pruned())
	assert.Empty(t, pruned.Removed())
	assert.Empty(t, pruned.Started())
	assert.False(t, devenvtest.Alive(wds2, env.Dir()), "a pruned space is stopped")
	assert.Equal(t, []string{"its1", "its2", "wds1", "wds3", "cluster1"}, names(pruned))
	kc, err = clientcmd.LoadFromFile(pruned.KubeconfigPath())
	require.NoError(t, err)
	assert.NotContains(t, kc.Contexts, "wds2")
	assert.Contains(t, kc.Contexts, "wds3")
	_, err = pruned.RESTConfig("wds2")
	assert.Error(t, err)
	_, err = os.Stat(filepath.Join(env.Dir(), "run", "wds2-apiserver.pid"))
	assert.True(t, os.IsNotExist(err), "pid file left behind")
	assert.Zero(t, etcdKeys(t, etcd, wds2Before.EtcdPrefix), "the pruned space's data is deleted from etcd")

	again := up(layout("its1", "its2", "wds1", "wds2", "wds3", "cluster1"), false)
	assert.Equal(t, []string{"wds2-apiserver"}, again.Started())
	wds2After, _ := again.Space("wds2")
	assert.NotEqual(t, wds2Before.EtcdPrefix, wds2After.EtcdPrefix)
	_, err = clientOf(again, "wds2").CoreV1().ConfigMaps("default").Get(ctx, "before-prune", metav1.GetOptions{})
	assert.True(t, apierrors.IsNotFound(err), "a space declared again starts empty: %v", err)
	cm, err := clientOf(again, "wds1").CoreV1().ConfigMaps("default").Get(ctx, "whoami", metav1.GetOptions{})
	require.NoError(t, err)
	assert.Equal(t, "wds1", cm.Data["space"], "the other spaces keep their data")
}

// etcdKeys counts the keys an apiserver stored under its etcd prefix,
// through etcd's JSON gateway.
func etcdKeys(t *testing.T, endpoint, prefix string) int {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"key":        base64.StdEncoding.EncodeToString([]byte(prefix + "/")),
		"range_end":  base64.StdEncoding.EncodeToString([]byte(prefix + "0")),
		"count_only": true,
	})
	require.NoError(t, err)
	resp, err := http.Post(endpoint+"/v3/kv/range", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var res struct {
		Count string `json:"count"` // an int64, as a string; absent when 0
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&res))
	if res.Count == "" {
		return 0
	}
	n, err := strconv.Atoi(res.Count)
	require.NoError(t, err)
	return n
}
