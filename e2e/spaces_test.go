package e2e

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/devenv/devenvtest"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/report"
)

// spacesLayout is two ITSes, each with its own WEC, and three WDSes (wds3
// is declared by a commit of the test).
var spacesLayout = devenv.Layout{Spaces: []devenv.LayoutSpace{
	{Name: "its1", Role: devenv.RoleITS}, {Name: "its2", Role: devenv.RoleITS},
	{Name: "wds1", Role: devenv.RoleWDS}, {Name: "wds2", Role: devenv.RoleWDS}, {Name: "wds3", Role: devenv.RoleWDS},
	{Name: "cluster1", Role: devenv.RoleWEC}, {Name: "cluster2", Role: devenv.RoleWEC},
}}

func spaceFile(name, typ, its string) string {
	spec := "{type: " + typ + "}"
	if its != "" {
		spec = "{type: " + typ + ", its: " + its + "}"
	}
	return "apiVersion: gitstellar.io/v1alpha1\nkind: Space\nmetadata: {name: " + name + "}\nspec: " + spec + "\n"
}

func wecFile(name, its string) string {
	return "apiVersion: gitstellar.io/v1alpha1\nkind: WorkloadCluster\nmetadata: {name: " + name + ", labels: {site: edge}}\nspec: {its: " + its + ", kubeconfig: {context: " + name + "}}\n"
}

// wdsFiles is a WDS's content: Namespace ns, ConfigMaps (name → value of
// "from") and a policy sending everything labelled team: wds to the edge.
func wdsFiles(wds, ns string, configMaps map[string]string) map[string]string {
	files := map[string]string{
		wds + "/policy.yaml": "apiVersion: control.kubestellar.io/v1alpha1\nkind: BindingPolicy\nmetadata: {name: " + wds + "-policy}\n" +
			"spec:\n  clusterSelectors: [{matchLabels: {site: edge}}]\n  downsync: [{objectSelectors: [{matchLabels: {team: " + wds + "}}]}]\n",
		wds + "/namespace.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: " + ns + ", labels: {team: " + wds + "}}\n",
	}
	for name, from := range configMaps {
		files[wds+"/"+name+".yaml"] = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: " + name + ", namespace: " + ns + ", labels: {team: " + wds + "}}\ndata: {from: " + from + "}\n"
	}
	return files
}

func merged(parts ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, p := range parts {
		for k, v := range p {
			out[k] = v
		}
	}
	return out
}

// TestSpacesComeAndGo: several WDSes and ITSes follow the repository. A
// WDS added by a commit delivers; two WDSes on one object: the first keeps
// it and the status branch shows the conflict on both; a WDS removed by a
// commit takes its objects out of the WECs and leaves the others (same
// uids); an ITS still named is refused; a WDS moves to the other ITS with
// its WEC (the WEC's objects are adopted, not recreated); a WDS whose
// apiserver stops for a minute does not stop the other from delivering,
// and the status branch says which one cannot be reached.
func TestSpacesComeAndGo(t *testing.T) {
	if testing.Short() {
		t.Skip("starts real apiservers")
	}
	ctx := context.Background()
	f := newFlowOf(t, devenvtest.Options{Layout: &spacesLayout, Bare: true}, merged(map[string]string{
		"spaces/its1.yaml":       spaceFile("its1", "ITS", ""),
		"spaces/its2.yaml":       spaceFile("its2", "ITS", ""),
		"spaces/wds1.yaml":       spaceFile("wds1", "WDS", "its1"),
		"spaces/wds2.yaml":       spaceFile("wds2", "WDS", "its2"),
		"clusters/cluster1.yaml": wecFile("cluster1", "its1"),
		"clusters/cluster2.yaml": wecFile("cluster2", "its2"),
	}, wdsFiles("wds1", "one", map[string]string{"a": "wds1"}), wdsFiles("wds2", "two", map[string]string{"b": "wds2"})))

	// configMap reads a ConfigMap in a WEC: its uid and "from", "" when absent.
	configMap := func(wec, ns, name string) (types.UID, string) {
		cm, err := f.wecs[wec].CoreV1().ConfigMaps(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return "", ""
		}
		require.NoError(t, err)
		return cm.UID, cm.Data["from"]
	}
	waitConfigMap := func(what, wec, ns, name, from string) types.UID {
		t.Helper()
		require.Eventually(t, func() bool { _, got := configMap(wec, ns, name); return got == from }, 2*time.Minute, 200*time.Millisecond,
			"%s: ConfigMap %s/%s in %s from %q", what, ns, name, wec, from)
		uid, _ := configMap(wec, ns, name)
		return uid
	}
	deliveriesOf := func(its, wds string) int {
		list, err := dynamic.NewForConfigOrDie(f.env.Config(its)).Resource(propagate.Deliveries).List(ctx, metav1.ListOptions{LabelSelector: "gitstellar.io/wds=" + wds})
		require.NoError(t, err)
		return len(list.Items)
	}
	spaceNames := func(s report.Summary) []string {
		var out []string
		for _, sp := range s.Spaces {
			out = append(out, sp.Name)
		}
		return out
	}
	policyErrors := func(s report.Summary, wds string) string {
		var out []string
		for _, sp := range s.Spaces {
			for _, p := range sp.Policies {
				if sp.Name == wds {
					out = append(out, p.Errors...)
				}
			}
		}
		return strings.Join(out, "; ")
	}

	a := waitConfigMap("each WDS delivers through its ITS", "cluster1", "one", "a", "wds1")
	b := waitConfigMap("each WDS delivers through its ITS", "cluster2", "two", "b", "wds2")
	uid, _ := configMap("cluster2", "one", "a")
	assert.Empty(t, uid, "wds1's ITS does not hold cluster2")
	f.waitStatus("both WDSes in the status branch", func(s report.Summary) bool {
		return slices.Equal(spaceNames(s), []string{"wds1", "wds2"}) && readyIn(s, "ConfigMap", "one", "a", "cluster1") && readyIn(s, "ConfigMap", "two", "b", "cluster2")
	})

	// A WDS added by a commit, binding wds1's object too (other content).
	wds3 := merged(map[string]string{"spaces/wds3.yaml": spaceFile("wds3", "WDS", "its1")},
		wdsFiles("wds3", "three", map[string]string{"c": "wds3"}),
		map[string]string{"wds3/a.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: one}\n---\n" +
			"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: one, labels: {team: wds3}}\ndata: {from: wds3}\n"})
	f.push("add wds3", wds3)
	c := waitConfigMap("the added WDS delivers", "cluster1", "three", "c", "wds3")
	s := f.waitStatus("the conflict on both WDSes", func(s report.Summary) bool {
		return slices.Equal(spaceNames(s), []string{"wds1", "wds2", "wds3"}) &&
			strings.Contains(policyErrors(s, "wds1"), "also delivered by wds3") && strings.Contains(policyErrors(s, "wds3"), "wds1")
	})
	t.Logf("wds1: %s; wds3: %s", policyErrors(s, "wds1"), policyErrors(s, "wds3"))
	assert.Equal(t, 1, strings.Count(policyErrors(s, "wds1"), "also delivered by wds3"), "said once, though the policy repeats its Binding's errors")
	uid, from := configMap("cluster1", "one", "a")
	assert.Equal(t, a, uid, "the first WDS keeps the object")
	assert.Equal(t, "wds1", from, "the first WDS keeps the object")

	// Removed by a commit: its own objects leave the WEC; the object it
	// also bound stays wds1's; nothing else is touched.
	var gone []string
	for path := range wds3 {
		gone = append(gone, path)
	}
	f.push("remove wds3", nil, gone...)
	f.waitGone("cluster1", configMapsGVR, "three", "c")
	require.Eventually(t, func() bool { return deliveriesOf("its1", "wds3") == 0 }, time.Minute, 200*time.Millisecond, "wds3's Deliveries leave its1")
	f.waitStatus("wds3 leaves the status branch", func(s report.Summary) bool {
		return slices.Equal(spaceNames(s), []string{"wds1", "wds2"}) && !strings.Contains(policyErrors(s, "wds1"), "wds3")
	})
	for _, o := range []struct {
		wec, ns, name string
		uid           types.UID
	}{{"cluster1", "one", "a", a}, {"cluster2", "two", "b", b}} {
		uid, _ := configMap(o.wec, o.ns, o.name)
		assert.Equal(t, o.uid, uid, "%s/%s in %s untouched", o.ns, o.name, o.wec)
	}
	assert.NotEqual(t, a, c)

	// An ITS that a WDS still names cannot go: nothing is applied.
	f.push("remove its2 while wds2 names it", nil, "spaces/its2.yaml")
	f.waitStatus("the revision is refused", func(s report.Summary) bool {
		return s.SourceCommit != f.lastHead && strings.Contains(strings.Join(s.Errors, "\n"), "its2")
	})
	uid, _ = configMap("cluster2", "two", "b")
	assert.Equal(t, b, uid, "nothing applied")

	// wds2 moves to its1, and its WEC cluster2 with it: the Deliveries
	// move; cluster2's agent, now reading its1, adopts what it had.
	f.push("move wds2 and cluster2 to its1", map[string]string{
		"spaces/its2.yaml":       spaceFile("its2", "ITS", ""),
		"spaces/wds2.yaml":       spaceFile("wds2", "WDS", "its1"),
		"clusters/cluster2.yaml": wecFile("cluster2", "its1"),
	})
	waitConfigMap("wds2 now reaches cluster1 too", "cluster1", "two", "b", "wds2")
	require.Eventually(t, func() bool { return deliveriesOf("its2", "wds2") == 0 }, time.Minute, 200*time.Millisecond, "wds2's Deliveries leave its2")
	f.waitStatus("wds2 on its1", func(s report.Summary) bool {
		return s.SourceCommit == f.lastHead && readyIn(s, "ConfigMap", "two", "b", "cluster1", "cluster2")
	})
	uid, _ = configMap("cluster2", "two", "b")
	assert.Equal(t, b, uid, "the WEC that moved with it keeps its object: adopted, not recreated")

	// wds1's apiserver stops for a minute: wds2 keeps delivering, and the
	// status branch says which WDS cannot be reached.
	require.NoError(t, f.env.Kill("wds1-apiserver"))
	down := time.Now()
	f.waitStatus("wds1 unreachable", func(s report.Summary) bool {
		for _, sp := range s.Spaces {
			if sp.Name == "wds1" {
				return sp.Unreachable != ""
			}
		}
		return false
	})
	f.push("change wds2's object while wds1 is down", wdsFiles("wds2", "two", map[string]string{"b": "wds2-again"}))
	waitConfigMap("wds2 delivers while wds1 is down", "cluster2", "two", "b", "wds2-again")
	waitConfigMap("wds2 delivers while wds1 is down", "cluster1", "two", "b", "wds2-again")
	s = f.waitStatus("only wds1 is unreachable", func(s report.Summary) bool {
		unreachable := map[string]bool{}
		for _, sp := range s.Spaces {
			unreachable[sp.Name] = sp.Unreachable != ""
		}
		return unreachable["wds1"] && !unreachable["wds2"] && readyIn(s, "ConfigMap", "two", "b", "cluster1", "cluster2")
	})
	t.Logf("while wds1 is down: errors %q", s.Errors)
	require.Eventually(t, func() bool { return len(spaceEvents(t, f, "its1", "wds1", "Unreachable")) > 0 }, 30*time.Second, 200*time.Millisecond,
		"its ITS has a Warning Event about the WDS it cannot reach")
	time.Sleep(time.Until(down.Add(time.Minute)))
	_, err := devenv.Up(ctx, devenv.Options{StateDir: f.env.Dir(), Layout: &spacesLayout, Bare: true, StopWithParent: true})
	require.NoError(t, err)
	f.waitStatus("wds1 back", func(s report.Summary) bool {
		for _, sp := range s.Spaces {
			if sp.Unreachable != "" {
				return false
			}
		}
		return len(s.Errors) == 0 && readyIn(s, "ConfigMap", "one", "a", "cluster1", "cluster2")
	})
	uid, _ = configMap("cluster1", "one", "a")
	assert.Equal(t, a, uid, "wds1's object was never deleted")
	require.Eventually(t, func() bool { return len(spaceEvents(t, f, "wds1", "wds1", "Reachable")) > 0 }, 30*time.Second, 200*time.Millisecond,
		"the WDS has an Event saying it answers again")
	assert.Equal(t, fmt.Sprint([]string{"wds1", "wds2"}), fmt.Sprint(spaceNames(s)))
}

// spaceEvents are the messages of the Events about Space about, of a
// reason, in a space.
func spaceEvents(t *testing.T, f *flow, in, about, reason string) []string {
	t.Helper()
	list, err := kubernetes.NewForConfigOrDie(f.env.Config(in)).CoreV1().Events("default").List(context.Background(),
		metav1.ListOptions{FieldSelector: "involvedObject.kind=Space,involvedObject.name=" + about + ",reason=" + reason})
	require.NoError(t, err)
	var out []string
	for _, e := range list.Items {
		out = append(out, e.Message)
	}
	return out
}
