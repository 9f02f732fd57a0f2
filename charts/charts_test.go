// Package charts tests the Helm charts of this directory: each is rendered
// by helm (built from the Go module proxy like the apiservers, see
// pkg/k8sbinaries) with its minimal and its full values (testdata/), every
// rendered object is validated by a real kube-apiserver (server-side apply,
// dry run, strict field validation), and what could go wrong in a chart is
// asserted: the security context, leader election, the Secrets the
// controller may read, the agent's RBAC, the flags passed to gitstellar, the
// errors for missing or wrong values, and the agent's Role in the ITS that
// docs/deployment.md gives.
package charts

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// releaseNamespace is where the charts are rendered to.
const releaseNamespace = "gitstellar-test"

// A render is one chart with one set of values.
type render struct {
	name  string
	chart string
	args  []string
}

func values(chart, which string) []string {
	return []string{"-f", filepath.Join("testdata", chart+"-"+which+".yaml")}
}

// renders are the sets of values every object of which the apiserver must
// accept.
var renders = []render{
	{"gitstellar minimal", "gitstellar", values("gitstellar", "minimal")},
	{"gitstellar full", "gitstellar", values("gitstellar", "full")},
	{"gitstellar replicas 2", "gitstellar", append(values("gitstellar", "minimal"), "--set", "replicas=2")},
	{"gitstellar-agent minimal", "gitstellar-agent", values("gitstellar-agent", "minimal")},
	{"gitstellar-agent full", "gitstellar-agent", values("gitstellar-agent", "full")},
	{"gitstellar-agent namespaces", "gitstellar-agent", append(values("gitstellar-agent", "minimal"), "--set", "rbac.namespaces={shop,payments}")},
}

var (
	helmOnce sync.Once
	helmPath string
	helmErr  error
)

// helm finds helm, or builds it once (never skipped: a chart test without
// helm tests nothing).
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		defer cancel()
		set, err := k8sbinaries.Ensure(ctx, k8sbinaries.Options{Need: []k8sbinaries.Name{k8sbinaries.Helm}, Progress: os.Stderr})
		if err != nil {
			helmErr = err
			return
		}
		helmPath = set.Path(k8sbinaries.Helm)
	})
	require.NoError(t, helmErr)
	return helmPath
}

// objects are the rendered objects of one render.
type objects []*unstructured.Unstructured

// template renders a chart as release "test" in releaseNamespace; the error
// holds helm's message.
func template(t *testing.T, chart string, args ...string) (objects, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "test", "./" + chart, "--namespace", releaseNamespace}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("helm template %s %s: %w: %s", chart, strings.Join(args, " "), err, stderr.String())
	}
	var out objects
	dec := utilyaml.NewYAMLOrJSONDecoder(&stdout, 4096)
	for {
		var m map[string]any
		err := dec.Decode(&m)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("helm template %s: output: %w", chart, err)
		}
		if len(m) == 0 {
			continue
		}
		out = append(out, &unstructured.Unstructured{Object: m})
	}
	return out, nil
}

func mustTemplate(t *testing.T, chart string, args ...string) objects {
	t.Helper()
	objs, err := template(t, chart, args...)
	require.NoError(t, err)
	require.NotEmpty(t, objs)
	return objs
}

func (o objects) ofKind(kind string) []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, u := range o {
		if u.GetKind() == kind {
			out = append(out, u)
		}
	}
	return out
}

// get converts the only object of a kind and name into a typed object.
func get[T any](t *testing.T, objs objects, kind, name string, into *T) *T {
	t.Helper()
	for _, u := range objs.ofKind(kind) {
		if u.GetName() == name {
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into))
			return into
		}
	}
	var names []string
	for _, u := range objs.ofKind(kind) {
		names = append(names, u.GetName())
	}
	t.Fatalf("no %s %q rendered (%ss: %v)", kind, name, kind, names)
	return nil
}

func has(objs objects, kind, name string) bool {
	return slices.ContainsFunc(objs.ofKind(kind), func(u *unstructured.Unstructured) bool { return u.GetName() == name })
}

// roles returns every rule of every Role and ClusterRole, by "Kind namespace/name".
func roles(t *testing.T, objs objects) map[string][]rbacv1.PolicyRule {
	t.Helper()
	out := map[string][]rbacv1.PolicyRule{}
	for _, u := range objs {
		if u.GetKind() != "Role" && u.GetKind() != "ClusterRole" {
			continue
		}
		var r rbacv1.ClusterRole // a Role's fields are a subset
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &r))
		out[u.GetKind()+" "+u.GetNamespace()+"/"+u.GetName()] = r.Rules
	}
	return out
}

// generated returns the rules of a kind in the generated RBAC file
// (controller-gen, make generate): the single source of the chart's rules.
func generated(t *testing.T, kind string) []rbacv1.PolicyRule {
	t.Helper()
	b, err := os.ReadFile("gitstellar/files/rbac/role.yaml")
	require.NoError(t, err)
	var rules []rbacv1.PolicyRule
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
		var r rbacv1.ClusterRole
		require.NoError(t, yaml.Unmarshal([]byte(doc), &r))
		if r.Kind == kind {
			rules = append(rules, r.Rules...)
		}
	}
	require.NotEmpty(t, rules, "gitstellar/files/rbac/role.yaml has no %s rules", kind)
	return rules
}

func container(t *testing.T, d *appsv1.Deployment) corev1.Container {
	t.Helper()
	require.Len(t, d.Spec.Template.Spec.Containers, 1)
	return d.Spec.Template.Spec.Containers[0]
}

// flagValue returns the value of --name=value among args.
func flagValue(args []string, name string) (string, bool) {
	for _, a := range args {
		if v, ok := strings.CutPrefix(a, "--"+name+"="); ok {
			return v, true
		}
		if a == "--"+name {
			return "", true
		}
	}
	return "", false
}

func assertFlag(t *testing.T, args []string, name, want string) {
	t.Helper()
	v, ok := flagValue(args, name)
	if assert.True(t, ok, "--%s not passed: %v", name, args) {
		assert.Equal(t, want, v, "--%s", name)
	}
}

// volumeAt returns the volume mounted at path.
func volumeAt(t *testing.T, d *appsv1.Deployment, path string) corev1.Volume {
	t.Helper()
	c := container(t, d)
	i := slices.IndexFunc(c.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == path })
	require.GreaterOrEqual(t, i, 0, "nothing mounted at %s", path)
	j := slices.IndexFunc(d.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool { return v.Name == c.VolumeMounts[i].Name })
	require.GreaterOrEqual(t, j, 0, "no volume %s", c.VolumeMounts[i].Name)
	return d.Spec.Template.Spec.Volumes[j]
}

// assertSecretFile asserts that file is key of Secret name, mounted read-only.
func assertSecretFile(t *testing.T, d *appsv1.Deployment, file, secret, key string) {
	t.Helper()
	v := volumeAt(t, d, filepath.Dir(file))
	if assert.NotNil(t, v.Secret, "%s is not from a Secret", file) {
		assert.Equal(t, secret, v.Secret.SecretName)
		assert.Equal(t, []corev1.KeyToPath{{Key: key, Path: filepath.Base(file)}}, v.Secret.Items)
	}
}

// assertHardened asserts the Pod and container security context of a
// Deployment.
func assertHardened(t *testing.T, d *appsv1.Deployment) {
	t.Helper()
	pod := d.Spec.Template.Spec.SecurityContext
	require.NotNil(t, pod)
	assert.Equal(t, ptr(true), pod.RunAsNonRoot)
	sc := container(t, d).SecurityContext
	require.NotNil(t, sc)
	assert.Equal(t, ptr(true), sc.RunAsNonRoot)
	assert.Equal(t, ptr(true), sc.ReadOnlyRootFilesystem)
	assert.Equal(t, ptr(false), sc.AllowPrivilegeEscalation)
	if assert.NotNil(t, sc.Capabilities) {
		assert.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
		assert.Empty(t, sc.Capabilities.Add)
	}
	if assert.NotNil(t, sc.SeccompProfile) {
		assert.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	}
	assert.Nil(t, sc.Privileged)
}

func ptr[T any](v T) *T { return &v }

func appVersion(t *testing.T, chart string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(chart, "Chart.yaml"))
	require.NoError(t, err)
	var c struct{ AppVersion string }
	require.NoError(t, yaml.Unmarshal(b, &c))
	require.NotEmpty(t, c.AppVersion)
	return c.AppVersion
}

func TestControllerDefaults(t *testing.T) {
	objs := mustTemplate(t, "gitstellar", values("gitstellar", "minimal")...)
	d := get(t, objs, "Deployment", "test-gitstellar", &appsv1.Deployment{})
	c := container(t, d)

	assert.Equal(t, ptr(int32(1)), d.Spec.Replicas)
	assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type, "one replica without leader election: never two controllers at once")
	assert.Equal(t, "ghcr.io/gitstellar/gitstellar:"+appVersion(t, "gitstellar"), c.Image)
	assertHardened(t, d)
	assert.Equal(t, "test-gitstellar", d.Spec.Template.Spec.ServiceAccountName)

	require.NotEmpty(t, c.Args)
	assert.Equal(t, "run", c.Args[0])
	assertFlag(t, c.Args, "repo", "https://git.example.com/fleet.git")
	assertFlag(t, c.Args, "ref", "HEAD")
	assertFlag(t, c.Args, "name", "gitstellar")
	assertFlag(t, c.Args, "log-format", "json")
	assertFlag(t, c.Args, "metrics-addr", ":8080")
	assertFlag(t, c.Args, "status-branch", "gitstellar-status")
	assertFlag(t, c.Args, "cache-dir", "/var/cache/gitstellar")
	for _, absent := range []string{"leader-elect", "kubeconfig", "credentials-secret", "webhook-addr", "schedule", "path"} {
		_, ok := flagValue(c.Args, absent)
		assert.False(t, ok, "--%s passed by default: %v", absent, c.Args)
	}
	// The root filesystem is read-only: the cache and /tmp are emptyDirs.
	assert.NotNil(t, volumeAt(t, d, "/var/cache/gitstellar").EmptyDir)
	assert.NotNil(t, volumeAt(t, d, "/tmp").EmptyDir)

	// The probes use the metrics server.
	require.Len(t, c.Ports, 1)
	assert.Equal(t, corev1.ContainerPort{Name: "metrics", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}, c.Ports[0])
	if assert.NotNil(t, c.LivenessProbe) && assert.NotNil(t, c.LivenessProbe.HTTPGet) {
		assert.Equal(t, "/healthz", c.LivenessProbe.HTTPGet.Path)
		assert.Equal(t, "metrics", c.LivenessProbe.HTTPGet.Port.String())
	}
	if assert.NotNil(t, c.ReadinessProbe) && assert.NotNil(t, c.ReadinessProbe.HTTPGet) {
		assert.Equal(t, "/readyz", c.ReadinessProbe.HTTPGet.Path)
		assert.Equal(t, "metrics", c.ReadinessProbe.HTTPGet.Port.String())
	}

	// The ClusterRole's rules are exactly the generated ones; no Secret is
	// readable without being named, and there is no Lease Role.
	rules := roles(t, objs)
	assert.Equal(t, generated(t, "ClusterRole"), rules["ClusterRole /test-gitstellar"])
	assert.Len(t, rules, 1, "only the ClusterRole: %v", rules)
	for name, rs := range rules {
		for _, r := range rs {
			assert.NotContains(t, r.Resources, "secrets", "%s grants Secrets", name)
			assert.NotContains(t, r.Resources, "*", "%s grants every resource", name)
			assert.NotContains(t, r.APIGroups, "*", "%s grants every group", name)
		}
	}
	crb := get(t, objs, "ClusterRoleBinding", "test-gitstellar", &rbacv1.ClusterRoleBinding{})
	assert.Equal(t, rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "test-gitstellar"}, crb.RoleRef)
	assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "test-gitstellar", Namespace: releaseNamespace}}, crb.Subjects)

	svc := get(t, objs, "Service", "test-gitstellar", &corev1.Service{})
	require.Len(t, svc.Spec.Ports, 1)
	assert.Equal(t, "metrics", svc.Spec.Ports[0].Name)

	// Without space rules, no ClusterRole at all.
	objs = mustTemplate(t, "gitstellar", append(values("gitstellar", "minimal"), "--set", "rbac.spaceRules=false")...)
	assert.Empty(t, objs.ofKind("ClusterRole"))
	assert.Empty(t, objs.ofKind("ClusterRoleBinding"))
}

func TestControllerLeaderElection(t *testing.T) {
	for _, set := range []string{"replicas=2", "leaderElection.enabled=true"} {
		t.Run(set, func(t *testing.T) {
			objs := mustTemplate(t, "gitstellar", append(values("gitstellar", "minimal"), "--set", set)...)
			d := get(t, objs, "Deployment", "test-gitstellar", &appsv1.Deployment{})
			args := container(t, d).Args
			assertFlag(t, args, "leader-elect", "")
			assertFlag(t, args, "leader-election-namespace", releaseNamespace)
			assertFlag(t, args, "leader-election-id", "gitstellar-gitstellar")
			assertFlag(t, args, "shutdown-timeout", "30s")
			assert.Equal(t, appsv1.RollingUpdateDeploymentStrategyType, d.Spec.Strategy.Type)

			role := get(t, objs, "Role", "test-gitstellar-leader-election", &rbacv1.Role{})
			assert.Equal(t, releaseNamespace, role.Namespace)
			assert.Equal(t, generated(t, "Role"), role.Rules)
			rb := get(t, objs, "RoleBinding", "test-gitstellar-leader-election", &rbacv1.RoleBinding{})
			assert.Equal(t, releaseNamespace, rb.Namespace)
			assert.Equal(t, "test-gitstellar-leader-election", rb.RoleRef.Name)
			assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "test-gitstellar", Namespace: releaseNamespace}}, rb.Subjects)
		})
	}
	t.Run("leases are the only thing the generated Role grants", func(t *testing.T) {
		for _, r := range generated(t, "Role") {
			assert.Equal(t, []string{"coordination.k8s.io"}, r.APIGroups)
			assert.Equal(t, []string{"leases"}, r.Resources)
		}
	})
}

func TestControllerFull(t *testing.T) {
	objs := mustTemplate(t, "gitstellar", values("gitstellar", "full")...)
	d := get(t, objs, "Deployment", "fleet-gitstellar", &appsv1.Deployment{})
	c := container(t, d)
	assert.Equal(t, ptr(int32(2)), d.Spec.Replicas)
	assert.Equal(t, "registry.example.com/gitstellar/gitstellar:v0.1.0-test", c.Image)
	assert.Equal(t, "fleet-controller", d.Spec.Template.Spec.ServiceAccountName)
	assertHardened(t, d)

	assertFlag(t, c.Args, "repo", "ssh://git@git.example.com/fleet.git")
	assertFlag(t, c.Args, "ref", "refs/heads/production")
	assertFlag(t, c.Args, "path", "clusters/prod")
	assertFlag(t, c.Args, "name", "fleet")
	assertFlag(t, c.Args, "interval", "5m")
	assertFlag(t, c.Args, "schedule", "*/15 * * * *")
	assertFlag(t, c.Args, "credentials-secret", releaseNamespace+"/fleet-git")
	assertFlag(t, c.Args, "status-branch", "fleet-status")
	assertFlag(t, c.Args, "status-interval", "30s")
	assertFlag(t, c.Args, "metrics-addr", ":9090")
	assertFlag(t, c.Args, "webhook-addr", ":9393")
	assertFlag(t, c.Args, "leader-election-namespace", "gitstellar-leases")
	assertFlag(t, c.Args, "leader-election-id", "fleet-leader")
	assertFlag(t, c.Args, "shutdown-timeout", "45s")
	assertFlag(t, c.Args, "bind-groups", "apps,core")
	assertFlag(t, c.Args, "log-format", "text")

	file, _ := flagValue(c.Args, "kubeconfig")
	assertSecretFile(t, d, file, "fleet-spaces", "config")
	file, _ = flagValue(c.Args, "webhook-secret-file")
	assertSecretFile(t, d, file, "fleet-webhook", "token")
	var trusted []string
	for _, a := range c.Args {
		if v, ok := strings.CutPrefix(a, "--verify-commits="); ok {
			trusted = append(trusted, v)
		}
	}
	assert.Equal(t, []string{"/etc/gitstellar/trusted-keys/release-team.pub", "/etc/gitstellar/trusted-keys/ops.asc"}, trusted,
		"one --verify-commits per trusted key, each a file of the ConfigMap's volume")
	var signers *corev1.Volume
	for i, v := range d.Spec.Template.Spec.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == "fleet-signers" {
			signers = &d.Spec.Template.Spec.Volumes[i]
		}
	}
	require.NotNil(t, signers, "the ConfigMap of trusted keys is a volume")
	assert.Len(t, signers.ConfigMap.Items, 2)

	svc := get(t, objs, "Service", "fleet-gitstellar", &corev1.Service{})
	var ports []string
	for _, p := range svc.Spec.Ports {
		ports = append(ports, fmt.Sprintf("%s:%d->%s", p.Name, p.Port, p.TargetPort.String()))
	}
	assert.Equal(t, []string{"metrics:9090->metrics", "webhook:9393->webhook"}, ports)

	// Exactly the named Secrets, only get, only in the release namespace.
	rules := roles(t, objs)
	secrets := rules["Role "+releaseNamespace+"/fleet-gitstellar-secrets"]
	assert.Equal(t, []rbacv1.PolicyRule{{
		APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"},
		ResourceNames: []string{"fleet-git", "wds1-kubeconfig", "its1-kubeconfig", "cluster9-kubeconfig"},
	}}, secrets)
	for name, rs := range rules {
		if name == "Role "+releaseNamespace+"/fleet-gitstellar-secrets" {
			continue
		}
		for _, r := range rs {
			assert.NotContains(t, r.Resources, "secrets", "%s grants Secrets", name)
		}
	}
	assert.Contains(t, rules, "Role gitstellar-leases/fleet-gitstellar-leader-election")
	// The ClusterRole: the generated rules, then rbac.workloadRules.
	want := append(generated(t, "ClusterRole"), rbacv1.PolicyRule{
		APIGroups: []string{"", "apps"},
		Resources: []string{"configmaps", "services", "deployments", "deployments/status"},
		Verbs:     []string{"get", "list", "watch", "create", "patch", "delete"},
	})
	assert.Equal(t, want, rules["ClusterRole /fleet-gitstellar"])
}

func TestAgent(t *testing.T) {
	allVerbs := []string{"get", "list", "watch", "create", "update", "patch", "delete"}
	inventory := []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get", "create", "update", "patch"}}}

	t.Run("defaults", func(t *testing.T) {
		objs := mustTemplate(t, "gitstellar-agent", values("gitstellar-agent", "minimal")...)
		d := get(t, objs, "Deployment", "test-gitstellar-agent", &appsv1.Deployment{})
		c := container(t, d)
		assertHardened(t, d)
		assert.Equal(t, ptr(int32(1)), d.Spec.Replicas)
		assert.Equal(t, appsv1.RecreateDeploymentStrategyType, d.Spec.Strategy.Type)
		assert.Equal(t, "ghcr.io/gitstellar/gitstellar:"+appVersion(t, "gitstellar-agent"), c.Image)
		require.NotEmpty(t, c.Args)
		assert.Equal(t, "agent", c.Args[0])
		assertFlag(t, c.Args, "cluster", "cluster1")
		assertFlag(t, c.Args, "inventory-namespace", releaseNamespace)
		assertFlag(t, c.Args, "metrics-addr", ":8080")
		assertFlag(t, c.Args, "log-format", "json")
		_, ok := flagValue(c.Args, "wec-kubeconfig")
		assert.False(t, ok, "the WEC is reached in-cluster: %v", c.Args)
		file, _ := flagValue(c.Args, "its-kubeconfig")
		assertSecretFile(t, d, file, "its-kubeconfig", "kubeconfig")

		rules := roles(t, objs)
		assert.Equal(t, map[string][]rbacv1.PolicyRule{
			"ClusterRole /test-gitstellar-agent":                            {{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: allVerbs}},
			"Role " + releaseNamespace + "/test-gitstellar-agent-inventory": inventory,
		}, rules)
		crb := get(t, objs, "ClusterRoleBinding", "test-gitstellar-agent", &rbacv1.ClusterRoleBinding{})
		assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "test-gitstellar-agent", Namespace: releaseNamespace}}, crb.Subjects)
	})

	t.Run("rbac.namespaces: Roles, no ClusterRole", func(t *testing.T) {
		objs := mustTemplate(t, "gitstellar-agent", append(values("gitstellar-agent", "minimal"), "--set", "rbac.namespaces={shop,payments}")...)
		assert.Empty(t, objs.ofKind("ClusterRole"))
		assert.Empty(t, objs.ofKind("ClusterRoleBinding"))
		rules := roles(t, objs)
		assert.Equal(t, map[string][]rbacv1.PolicyRule{
			"Role shop/test-gitstellar-agent":                               {{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: allVerbs}},
			"Role payments/test-gitstellar-agent":                           {{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: allVerbs}},
			"Role " + releaseNamespace + "/test-gitstellar-agent-inventory": inventory,
		}, rules)
		var bound []string
		for _, u := range objs.ofKind("RoleBinding") {
			var rb rbacv1.RoleBinding
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rb))
			assert.Equal(t, []rbacv1.Subject{{Kind: "ServiceAccount", Name: "test-gitstellar-agent", Namespace: releaseNamespace}}, rb.Subjects)
			bound = append(bound, rb.Namespace+"/"+rb.RoleRef.Kind+"/"+rb.RoleRef.Name)
		}
		assert.ElementsMatch(t, []string{
			"shop/Role/test-gitstellar-agent", "payments/Role/test-gitstellar-agent",
			releaseNamespace + "/Role/test-gitstellar-agent-inventory",
		}, bound)
	})

	t.Run("full: rbac.resources narrows, in the namespaces", func(t *testing.T) {
		objs := mustTemplate(t, "gitstellar-agent", values("gitstellar-agent", "full")...)
		assert.Empty(t, objs.ofKind("ClusterRole"))
		d := get(t, objs, "Deployment", "edge-agent", &appsv1.Deployment{})
		c := container(t, d)
		assertHardened(t, d)
		assertFlag(t, c.Args, "cluster", "edge-7")
		assertFlag(t, c.Args, "resync", "1m")
		assertFlag(t, c.Args, "metrics-addr", ":9090")
		file, _ := flagValue(c.Args, "its-kubeconfig")
		assertSecretFile(t, d, file, "its1", "config")
		want := []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"configmaps", "services", "secrets"}, Verbs: allVerbs},
			{APIGroups: []string{"apps"}, Resources: []string{"deployments", "deployments/status", "statefulsets"}, Verbs: allVerbs},
		}
		rules := roles(t, objs)
		assert.Equal(t, want, rules["Role shop/edge-agent"])
		assert.Equal(t, want, rules["Role payments/edge-agent"])
		assert.Equal(t, inventory, rules["Role "+releaseNamespace+"/edge-agent-inventory"])
		assert.Len(t, rules, 3)
	})
}

// TestRBACBounded checks every Role and ClusterRole of every render: no
// "*" verb, never bind, escalate or impersonate, no non-resource URLs; and
// every binding refers to a role of the same render (no cluster-admin).
func TestRBACBounded(t *testing.T) {
	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			objs := mustTemplate(t, r.chart, r.args...)
			own := map[string]bool{}
			for name, rules := range roles(t, objs) {
				own[name] = true
				require.NotEmpty(t, rules, "%s has no rules", name)
				for _, rule := range rules {
					assert.Empty(t, rule.NonResourceURLs, "%s grants non-resource URLs", name)
					for _, v := range rule.Verbs {
						assert.NotContains(t, []string{"*", "bind", "escalate", "impersonate"}, v, "%s grants %q", name, v)
					}
				}
			}
			for _, kind := range []string{"RoleBinding", "ClusterRoleBinding"} {
				for _, u := range objs.ofKind(kind) {
					var rb rbacv1.RoleBinding // a ClusterRoleBinding's fields are the same
					require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &rb))
					ns := u.GetNamespace()
					if rb.RoleRef.Kind == "ClusterRole" {
						ns = ""
					}
					assert.True(t, own[rb.RoleRef.Kind+" "+ns+"/"+rb.RoleRef.Name], "%s %s binds %s %s, which the chart does not define", kind, u.GetName(), rb.RoleRef.Kind, rb.RoleRef.Name)
				}
			}
		})
	}
}

// TestValuesRejected: missing and wrong values fail with a message naming them.
func TestValuesRejected(t *testing.T) {
	for _, c := range []struct {
		name, chart string
		args        []string
		want        string
	}{
		{"agent without cluster", "gitstellar-agent", []string{"--set", "its.kubeconfigSecret.name=its"},
			"cluster is required: the WEC's name"},
		{"agent without the ITS kubeconfig", "gitstellar-agent", []string{"--set", "cluster=cluster1"},
			"its.kubeconfigSecret.name is required"},
		{"agent cluster not a DNS label", "gitstellar-agent", append(values("gitstellar-agent", "minimal"), "--set", "cluster=Cluster_1"),
			"at '/cluster': 'Cluster_1' does not match pattern"},
		{"agent resources without apiGroups", "gitstellar-agent", append(values("gitstellar-agent", "minimal"), "--set", "rbac.resources[0].resources={pods}"),
			"at '/rbac/resources/0': missing property 'apiGroups'"},
		{"agent verbs are not a value", "gitstellar-agent", append(values("gitstellar-agent", "minimal"), "--set", "rbac.verbs={*}"),
			"additional properties 'verbs' not allowed"},
		{"controller without repo", "gitstellar", nil,
			"git.repo is required: the URL of the repository to follow"},
		{"trusted keys without their names", "gitstellar", append(values("gitstellar", "minimal"), "--set", "git.verifyCommits.configMap=signers"),
			"git.verifyCommits.keys is required with git.verifyCommits.configMap"},
		{"webhook without its Secret", "gitstellar", append(values("gitstellar", "minimal"), "--set", "webhook.enabled=true"),
			"webhook.secret.name is required with webhook.enabled"},
		{"an existing ServiceAccount without its name", "gitstellar", append(values("gitstellar", "minimal"), "--set", "serviceAccount.create=false"),
			"serviceAccount.name is required when serviceAccount.create is false"},
		{"replicas not a number", "gitstellar", append(values("gitstellar", "minimal"), "--set-string", "replicas=two"),
			"at '/replicas': got string, want integer"},
		{"unknown value", "gitstellar", append(values("gitstellar", "minimal"), "--set", "replica=2"),
			"additional properties 'replica' not allowed"},
		{"log format", "gitstellar", append(values("gitstellar", "minimal"), "--set", "logFormat=xml"),
			"at '/logFormat': value must be one of 'json', 'text'"},
		{"interval not a duration", "gitstellar", append(values("gitstellar", "minimal"), "--set", "git.interval=5 minutes"),
			"at '/git/interval'"},
		{"workload rule escalates", "gitstellar", append(values("gitstellar", "minimal"),
			"--set", "rbac.workloadRules[0].apiGroups={rbac.authorization.k8s.io}", "--set", "rbac.workloadRules[0].resources={clusterroles}", "--set", "rbac.workloadRules[0].verbs={escalate}"),
			"at '/rbac/workloadRules/0/verbs/0': value must be one of"},
		{"workload rule with every verb", "gitstellar", append(values("gitstellar", "minimal"),
			"--set", "rbac.workloadRules[0].apiGroups={apps}", "--set", "rbac.workloadRules[0].resources={deployments}", "--set", "rbac.workloadRules[0].verbs={*}"),
			"at '/rbac/workloadRules/0/verbs/0': value must be one of"},
		{"workload rule with non-resource URLs", "gitstellar", append(values("gitstellar", "minimal"),
			"--set", "rbac.workloadRules[0].apiGroups={apps}", "--set", "rbac.workloadRules[0].resources={deployments}", "--set", "rbac.workloadRules[0].verbs={get}", "--set", "rbac.workloadRules[0].nonResourceURLs={/metrics}"),
			"additional properties 'nonResourceURLs' not allowed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := template(t, c.chart, c.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.want)
		})
	}
}

// TestFlagsExist: every flag the charts pass is a flag of the gitstellar
// command they run.
func TestFlagsExist(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "gitstellar")
	out, err := exec.Command("go", "build", "-o", bin, "../cmd/gitstellar").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	flagName := regexp.MustCompile(`(?m)^\s+(?:-\w, )?--([a-z0-9-]+)`)
	known := map[string]map[string]bool{}
	for _, cmd := range []string{"run", "agent"} {
		out, err := exec.Command(bin, cmd, "--help").CombinedOutput()
		require.NoError(t, err, "gitstellar %s --help: %s", cmd, out)
		known[cmd] = map[string]bool{}
		for _, m := range flagName.FindAllStringSubmatch(string(out), -1) {
			known[cmd][m[1]] = true
		}
		require.NotEmpty(t, known[cmd], "no flags in gitstellar %s --help", cmd)
	}
	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			objs := mustTemplate(t, r.chart, r.args...)
			for _, u := range objs.ofKind("Deployment") {
				var d appsv1.Deployment
				require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, &d))
				args := container(t, &d).Args
				require.NotEmpty(t, args)
				cmd := args[0]
				require.Contains(t, known, cmd)
				for _, a := range args[1:] {
					name, _, _ := strings.Cut(strings.TrimPrefix(a, "--"), "=")
					assert.True(t, known[cmd][name], "the chart passes %s, which `gitstellar %s` does not have", a, cmd)
				}
			}
		})
	}
}

// TestOnAPIServer applies every rendered object to a real kube-apiserver
// with server-side apply, as a dry run with strict field validation: a
// field that does not exist, or has the wrong type, is an error.
func TestOnAPIServer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a real apiserver")
	}
	env := devenvtest.Start(t, devenvtest.Options{Bare: true})
	cfg := env.Config("wds1")
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))

	createNamespace := func(t *testing.T, name string) {
		t.Helper()
		_, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
		if !apierrors.IsAlreadyExists(err) {
			require.NoError(t, err)
		}
	}
	dryRun := func(u *unstructured.Unstructured) error {
		m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
		if err != nil {
			return err
		}
		data, err := json.Marshal(u.Object)
		if err != nil {
			return err
		}
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if u.GetNamespace() != "" {
			r = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		_, err = r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{
			FieldManager: "charts-test", DryRun: []string{metav1.DryRunAll}, FieldValidation: metav1.FieldValidationStrict,
		})
		return err
	}

	t.Run("strict validation is in force", func(t *testing.T) {
		createNamespace(t, releaseNamespace)
		objs := mustTemplate(t, "gitstellar", values("gitstellar", "minimal")...)
		d := objs.ofKind("Deployment")[0].DeepCopy()
		require.NoError(t, unstructured.SetNestedField(d.Object, int64(1), "spec", "replicaz"))
		err := dryRun(d)
		require.Error(t, err, "an unknown field passed")
		assert.Contains(t, err.Error(), "replicaz")
	})

	t.Run("the agent's Role in the ITS (docs/deployment.md)", func(t *testing.T) {
		testAgentITSRole(t, env.Config("its1"))
	})

	for _, r := range renders {
		t.Run(r.name, func(t *testing.T) {
			objs := mustTemplate(t, r.chart, r.args...)
			namespaces := map[string]bool{releaseNamespace: true}
			for _, u := range objs {
				if ns := u.GetNamespace(); ns != "" {
					namespaces[ns] = true
				}
			}
			for ns := range namespaces {
				createNamespace(t, ns)
			}
			for _, u := range objs {
				if u.GetKind() != "Namespace" && u.GetNamespace() == "" {
					m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
					require.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
					if m.Scope.Name() == "namespace" {
						t.Errorf("%s %s is namespaced but has no namespace", u.GetKind(), u.GetName())
						continue
					}
				}
				assert.NoError(t, dryRun(u), "%s %s/%s", u.GetKind(), u.GetNamespace(), u.GetName())
			}
		})
	}
}

// docsYAML returns the objects of the first yaml block after a heading of
// docs/deployment.md.
func docsYAML(t *testing.T, heading string) objects {
	t.Helper()
	b, err := os.ReadFile("../docs/deployment.md")
	require.NoError(t, err)
	_, after, ok := strings.Cut(string(b), "\n"+heading+"\n")
	require.True(t, ok, "no heading %q in docs/deployment.md", heading)
	_, block, ok := strings.Cut(after, "```yaml\n")
	require.True(t, ok, "no yaml block after %q", heading)
	block, _, ok = strings.Cut(block, "```")
	require.True(t, ok)
	var out objects
	for _, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(block, -1) {
		var m map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(doc), &m))
		if len(m) > 0 {
			out = append(out, &unstructured.Unstructured{Object: m})
		}
	}
	return out
}

// testAgentITSRole creates the objects docs/deployment.md gives an agent in
// the ITS and asks the apiserver's RBAC what that identity may do: what
// the agent does in its mailbox, and nothing outside it.
func testAgentITSRole(t *testing.T, cfg *rest.Config) {
	ctx := context.Background()
	cs := kubernetes.NewForConfigOrDie(cfg)
	dyn := dynamic.NewForConfigOrDie(cfg)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(discovery.NewDiscoveryClientForConfigOrDie(cfg)))
	objs := docsYAML(t, "### In the ITS: the agent's identity")
	require.Len(t, objs.ofKind("Role"), 1)
	var documented rbacv1.Role
	require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(objs.ofKind("Role")[0].Object, &documented))
	assert.Equal(t, propagate.AgentRules, documented.Rules, "the docs show the Role gitstellar makes in each mailbox")
	for _, u := range objs { // the Namespace comes first
		m, err := mapper.RESTMapping(u.GroupVersionKind().GroupKind(), u.GroupVersionKind().Version)
		require.NoError(t, err)
		data, err := json.Marshal(u.Object)
		require.NoError(t, err)
		var r dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if u.GetNamespace() != "" {
			r = dyn.Resource(m.Resource).Namespace(u.GetNamespace())
		}
		_, err = r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "charts-test", FieldValidation: metav1.FieldValidationStrict})
		require.NoError(t, err, "%s %s", u.GetKind(), u.GetName())
	}

	const mailbox = "mailbox-cluster1"
	allowed := func(verb, group, resource, subresource, namespace, name string) bool {
		t.Helper()
		sar, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User:   "system:serviceaccount:" + mailbox + ":gitstellar-agent",
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + mailbox, "system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{
				Verb: verb, Group: group, Resource: resource, Subresource: subresource, Namespace: namespace, Name: name,
			},
		}}, metav1.CreateOptions{})
		require.NoError(t, err)
		return sar.Status.Allowed
	}
	// The apiserver's authorizer sees new Roles through its informers: wait
	// until it knows this one.
	require.Eventually(t, func() bool { return allowed("list", "gitstellar.io", "deliveries", "", mailbox, "") }, 30*time.Second, 50*time.Millisecond,
		"the Role reaches the authorizer")
	// What the agent does (pkg/propagate: the Deliveries informer, the
	// status apply, the heartbeat Lease apply).
	for _, c := range [][6]string{
		{"list", "gitstellar.io", "deliveries", "", mailbox, ""},
		{"watch", "gitstellar.io", "deliveries", "", mailbox, ""},
		{"get", "gitstellar.io", "deliveries", "", mailbox, "d1"},
		{"patch", "gitstellar.io", "deliveries", "status", mailbox, "d1"},
		{"create", "coordination.k8s.io", "leases", "", mailbox, "gitstellar-agent"},
		{"patch", "coordination.k8s.io", "leases", "", mailbox, "gitstellar-agent"},
		{"get", "coordination.k8s.io", "leases", "", mailbox, "gitstellar-agent"},
	} {
		assert.True(t, allowed(c[0], c[1], c[2], c[3], c[4], c[5]), "the agent may not %v", c)
	}
	// Nothing else: not another mailbox, not the Deliveries' spec, not
	// another Lease, not Secrets, nothing cluster-wide.
	for _, c := range [][6]string{
		{"list", "gitstellar.io", "deliveries", "", "mailbox-cluster2", ""},
		{"list", "gitstellar.io", "deliveries", "", "", ""},
		{"patch", "gitstellar.io", "deliveries", "", mailbox, "d1"},
		{"create", "gitstellar.io", "deliveries", "", mailbox, ""},
		{"delete", "gitstellar.io", "deliveries", "", mailbox, "d1"},
		{"patch", "coordination.k8s.io", "leases", "", mailbox, "other"},
		{"get", "", "secrets", "", mailbox, "gitstellar-agent-token"},
		{"list", "gitstellar.io", "workloadclusters", "", "", ""},
		{"create", "", "namespaces", "", "", ""},
	} {
		assert.False(t, allowed(c[0], c[1], c[2], c[3], c[4], c[5]), "the agent may %v", c)
	}
}
