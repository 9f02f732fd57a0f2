package bind

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime/schema"
)

// A singleton reported state needs its object sent to exactly one WEC,
// counted as KubeStellar counts it: per object, over the WECs of every
// policy that asks a singleton of that object. Two policies asking it of
// one object and sending it to two different WECs leave it without one,
// and both say so in their status.

// singletonExamples is how many objects the error names at most, as in
// KubeStellar.
const singletonExamples = 4

// objectWithNumWECs is one example in the error, in KubeStellar's JSON.
type objectWithNumWECs struct {
	ObjectID objectIdentifier
	NumWECs  int
}

type objectIdentifier struct {
	GVK        schema.GroupVersionKind
	Resource   string
	ObjectName struct{ Namespace, Name string }
}

// singletonError is the error of a policy asking a singleton reported
// state of objects that go to a number of WECs other than one, "" when
// there is none. Called with c.mu held.
func (c *Controller) singletonError(name string) string {
	ps, ok := c.policies[name]
	if !ok || !wantsSingleton(ps.bp) {
		return ""
	}
	asking := c.singletonPolicies()
	clusters := map[string][]string{}
	clustersOf := func(p string) []string {
		if cl, ok := clusters[p]; ok {
			return cl
		}
		var out []string
		for _, cl := range c.clusters {
			if c.policies[p].policy.SelectsCluster(cl) {
				out = append(out, cl.Name)
			}
		}
		clusters[p] = out
		return out
	}
	var bad []ObjectKey
	counts := map[ObjectKey]int{}
	for key, m := range ps.members {
		if !m.Modulation.WantSingletonReportedState {
			continue
		}
		n := len(clustersOf(name))
		if len(asking) > 1 {
			wecs := map[string]bool{}
			for _, p := range asking {
				if other, ok := c.policies[p].members[key]; ok && other.Modulation.WantSingletonReportedState {
					for _, w := range clustersOf(p) {
						wecs[w] = true
					}
				}
			}
			n = len(wecs)
		}
		if n != 1 {
			bad = append(bad, key)
			counts[key] = n
		}
	}
	if len(bad) == 0 {
		return ""
	}
	slices.SortFunc(bad, func(a, b ObjectKey) int {
		return strings.Compare(a.Group+"/"+a.Resource+"/"+a.Namespace+"/"+a.Name, b.Group+"/"+b.Resource+"/"+b.Namespace+"/"+b.Name)
	})
	examples := make([]objectWithNumWECs, 0, singletonExamples)
	for _, key := range bad[:min(len(bad), singletonExamples)] {
		m := ps.members[key]
		id := objectIdentifier{GVK: schema.GroupVersionKind{Group: key.Group, Version: m.Object.GVR.Version, Kind: c.kindOf(m.Object.GVR)}, Resource: key.Resource}
		id.ObjectName.Namespace, id.ObjectName.Name = key.Namespace, key.Name
		examples = append(examples, objectWithNumWECs{ObjectID: id, NumWECs: counts[key]})
	}
	raw, _ := json.Marshal(examples)
	return fmt.Sprintf("Singleton reported status return is requested but some objects have the wrong number of associated WECs, for example: %s", raw)
}

// singletonPolicies names the policies asking a singleton reported state
// of anything. Called with c.mu held.
func (c *Controller) singletonPolicies() []string {
	var out []string
	for name, ps := range c.policies {
		if wantsSingleton(ps.bp) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}

// kindOf is the kind of a resource the WDS serves. Called with c.mu held.
func (c *Controller) kindOf(gvr schema.GroupVersionResource) string {
	for gk, served := range c.kinds {
		if served != nil && served.Group == gvr.Group && served.Resource == gvr.Resource {
			return gk.Kind
		}
	}
	return ""
}

// singletonFootprint hashes what a policy contributes to other policies'
// singleton errors: the objects it asks a singleton of and its WECs ("":
// nothing). Called with c.mu held.
func (c *Controller) singletonFootprint(ps *policyState, clusters []string) string {
	if !wantsSingleton(ps.bp) {
		return ""
	}
	var keys []string
	for key, m := range ps.members {
		if m.Modulation.WantSingletonReportedState {
			keys = append(keys, key.Group+"/"+key.Resource+"/"+key.Namespace+"/"+key.Name)
		}
	}
	slices.Sort(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k + "\n"))
	}
	h.Write([]byte("\x00" + strings.Join(slices.Sorted(slices.Values(clusters)), ",")))
	return string(h.Sum(nil))
}

// askOthersForStatus queues the status of every other policy asking a
// singleton: their errors count this one's objects and WECs. Called with
// c.mu held.
func (c *Controller) askOthersForStatus(name string) {
	for _, p := range c.singletonPolicies() {
		if p != name {
			c.queue.Add(statusKey + p)
		}
	}
}
