package e2e

import (
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/source/gittest"
)

// The commands as a pull request's CI runs them, on repositories an
// attacker crafted (docs/security.md).

var hostileSpaces = []gittest.Entry{
	gittest.File("spaces/its1.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: its1}\nspec: {type: ITS}\n"),
	gittest.File("spaces/wds1.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: wds1}\nspec: {type: WDS, its: its1}\n"),
	gittest.File("clusters/c1.yaml", "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: c1, labels: {env: prod}}\nspec: {its: its1}\n"),
	gittest.File("wds1/policy.yaml", "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: all}\nspec:\n  clusterSelectors: [{matchLabels: {env: prod}}]\n  downsync: [{objectSelectors: [{matchLabels: {app: x}}]}]\n"),
}

// TestPlanHostileCommit: a commit holding a link x → a directory outside
// and a file x/cm.yaml made checkouts write through the link. plan reads
// it from the object store: nothing is written, nothing outside is read.
func TestPlanHostileCommit(t *testing.T) {
	bin := gitstellar(t)
	outside := t.TempDir()
	const planted = "planted-outside-value-51c9"
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.yaml"), []byte("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: stolen, namespace: default, labels: {app: x}}\ndata: {v: "+planted+"}\n"), 0o644))
	repo := filepath.Join(t.TempDir(), "repo")
	gittest.Craft(t, repo, "main", hostileSpaces...)
	entries := append(append([]gittest.Entry(nil), hostileSpaces...),
		gittest.Symlink("wds1/x", outside),
		gittest.File("wds1/x/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: written, namespace: default}\n"),
		gittest.Symlink("wds1/stolen.yaml", filepath.Join(outside, "secret.yaml")),
		gittest.Symlink("gitstellar.yaml", "/dev/zero"),
	)
	gittest.Craft(t, repo, "attack", entries...)

	for _, format := range []string{"text", "markdown", "json"} {
		r := run(t, bin, "plan", "--repo", repo, "--base", "main", "--head", "attack", "--format", format)
		assert.NotContains(t, r.stdout+r.stderr, planted)
		assert.Contains(t, r.stdout, "leads outside the repository", format)
	}
	v := run(t, bin, "validate", repo) // the work tree Craft left empty: the spaces come from nowhere
	assert.NotContains(t, v.stdout+v.stderr, planted)
	got, err := os.ReadDir(outside)
	require.NoError(t, err)
	require.Len(t, got, 1, "nothing is written outside")
}

// TestSecretsNeverPrinted plants a value in a Secret's data, stringData,
// in a template that fails, and in a kustomize secretGenerator, and greps
// every output format of plan and validate for it and its base64.
func TestSecretsNeverPrinted(t *testing.T) {
	bin := gitstellar(t)
	const planted = "hunter2-planted-value-0b7e"
	encoded := base64.StdEncoding.EncodeToString([]byte(planted))
	repo := filepath.Join(t.TempDir(), "repo")
	gittest.Craft(t, repo, "main", hostileSpaces...)
	secret := func(name, body string) gittest.Entry {
		return gittest.File("wds1/"+name+".yaml", "apiVersion: v1\nkind: Secret\nmetadata:\n  name: "+name+"\n  namespace: default\n  labels: {app: x}\n"+body)
	}
	entries := append(append([]gittest.Entry(nil), hostileSpaces...),
		secret("data", "data: {password: "+encoded+"}\n"),
		secret("string", "stringData: {password: "+planted+"}\n"),
		secret("template", "  annotations: {control.kubestellar.io/expand-templates: \"true\"}\nstringData: {password: \"{{ .missing }}"+planted+"\"}\n"),
		secret("bad-template", "  annotations: {control.kubestellar.io/expand-templates: \"true\"}\nstringData: {password: \"{{ "+planted+" \"}\n"),
		gittest.File("wds1/gen/kustomization.yaml", "secretGenerator:\n- name: gen\n  namespace: default\n  literals: [password="+planted+"]\n  options: {labels: {app: x}}\n"),
	)
	gittest.Craft(t, repo, "change", entries...)
	var outputs []string
	for _, format := range []string{"text", "markdown", "json"} {
		r := run(t, bin, "plan", "--repo", repo, "--base", "main", "--head", "change", "--format", format)
		require.Contains(t, r.stdout, "Secret", "the plan shows the Secrets (%s)", format)
		outputs = append(outputs, r.stdout, r.stderr)
	}
	work := filepath.Join(t.TempDir(), "work")
	require.NoError(t, exec.Command("git", "clone", "-q", "--branch", "change", repo, work).Run())
	v := run(t, bin, "validate", work)
	outputs = append(outputs, v.stdout, v.stderr)
	for _, out := range outputs {
		assert.NotContains(t, out, planted)
		assert.NotContains(t, out, encoded)
		assert.NotContains(t, out, base64.RawStdEncoding.EncodeToString([]byte(planted)))
	}
}

// TestInterruptEndsPlan: Ctrl-C (SIGINT) ends plan on a large repository
// at once, not after the plan is done.
func TestInterruptEndsPlan(t *testing.T) {
	bin := gitstellar(t)
	repo := filepath.Join(t.TempDir(), "repo")
	entries := append([]gittest.Entry(nil), hostileSpaces...)
	for i := range 400 {
		var b strings.Builder
		for j := range 50 {
			fmt.Fprintf(&b, "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm-%d-%d, namespace: default, labels: {app: x}}\ndata: {k: v}\n", i, j)
		}
		entries = append(entries, gittest.File(fmt.Sprintf("wds1/d%d/cms.yaml", i), b.String()))
	}
	gittest.Craft(t, repo, "main", entries...)

	start := time.Now()
	full := exec.Command(bin, "plan", "--repo", repo, "--base", "main", "--head", "main", "--format", "json")
	full.Stdout = nil
	require.NoError(t, full.Run())
	whole := time.Since(start)

	cmd := exec.Command(bin, "plan", "--repo", repo, "--base", "main", "--head", "main", "--format", "json")
	require.NoError(t, cmd.Start())
	time.Sleep(whole / 5)
	sent := time.Now()
	require.NoError(t, cmd.Process.Signal(syscall.SIGINT))
	err := cmd.Wait()
	took := time.Since(sent)
	t.Logf("the whole plan takes %v; after SIGINT at %v it ended in %v", whole, whole/5, took)
	require.Error(t, err, "an interrupted plan does not exit 0")
	assert.Less(t, took, whole/2, "it ends well before the plan would be done")
}
