package bind

import (
	"slices"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// A Binding is one object in etcd, and lists every object its policy binds
// (KubeStellar's shape): past some 1.5 MiB it would no longer be stored. A
// policy binding more objects than partBytes of that list hold is written
// as several Bindings, its parts (gitstellarv1alpha1.BindingPartName):
// part 0 is KubeStellar's Binding, named like the policy and annotated
// with the number of parts; the others carry the label naming the policy.
// Every part has the policy's destinations. An object stays in the part
// that holds it while it fits there, so that a change to it rewrites one
// part; objects new to the policy go to the first part with room. A part
// that empties stays, empty, until the policy goes: the transport then
// retires what its Deliveries carried like any Binding's.

// partBytes bounds the workload one Binding lists, as JSON: about a
// quarter of etcd's request limit (1.5 MiB). The lists are map lists
// (KubeStellar's CRD), so the Binding's field ownership names every entry
// again, in up to 1.3 times its size; the rest is room for destinations
// and status.
const partBytes = 400 << 10

// partEntry is one object of a policy's Binding spec, as split into parts.
type partEntry struct {
	index   int // its place in the spec: cluster-scoped objects first, sorted
	key     string
	size    int
	cluster *controlv1alpha1.ClusterScopeDownsyncClause
	ns      *controlv1alpha1.NamespaceScopeDownsyncClause
}

// entryKey identifies a bound object across versions of its resource.
func entryKey(group, resource, namespace, name string) string {
	return group + "/" + resource + "/" + namespace + "/" + name
}

// entrySize is about the size of an entry in a Binding's JSON (a little
// more).
func entrySize(gvr string, namespace, name, resourceVersion string, mod controlv1alpha1.DownsyncModulation) int {
	n := 110 + len(gvr) + len(namespace) + len(name) + len(resourceVersion)
	if mod.CreateOnly {
		n += 20
	}
	if mod.WantSingletonReportedState || mod.WantMultiWECReportedState {
		n += 36
	}
	if len(mod.StatusCollectors) > 0 {
		n += 22
		for _, c := range mod.StatusCollectors {
			n += len(c) + 3
		}
	}
	return n
}

func partEntries(spec controlv1alpha1.BindingSpec) []partEntry {
	out := make([]partEntry, 0, len(spec.Workload.ClusterScope)+len(spec.Workload.NamespaceScope))
	for i := range spec.Workload.ClusterScope {
		c := &spec.Workload.ClusterScope[i]
		out = append(out, partEntry{index: len(out), cluster: c, key: entryKey(c.Group, c.Resource, "", c.Name),
			size: entrySize(c.Group+c.Version+c.Resource, "", c.Name, c.ResourceVersion, c.DownsyncModulation)})
	}
	for i := range spec.Workload.NamespaceScope {
		c := &spec.Workload.NamespaceScope[i]
		out = append(out, partEntry{index: len(out), ns: c, key: entryKey(c.Group, c.Resource, c.Namespace, c.Name),
			size: entrySize(c.Group+c.Version+c.Resource, c.Namespace, c.Name, c.ResourceVersion, c.DownsyncModulation)})
	}
	return out
}

// partKeys are the keys of a Binding spec's objects.
func partKeys(spec controlv1alpha1.BindingSpec) map[string]bool {
	out := map[string]bool{}
	for _, e := range partEntries(spec) {
		out[e.key] = true
	}
	return out
}

// splitParts divides a policy's Binding spec into parts listing at most
// budget bytes of objects each (one part at least, and at least as many
// as existed): an object stays in the part previous places it in while it
// fits there; the others go, in the spec's order, to the first part with
// room, after the last one if none has.
func splitParts(spec controlv1alpha1.BindingSpec, previous map[string]int, existed, budget int) []controlv1alpha1.BindingSpec {
	n := max(1, existed)
	assigned := make([][]partEntry, n)
	sizes := make([]int, n)
	var pending []partEntry
	for _, e := range partEntries(spec) {
		if p, ok := previous[e.key]; ok && p < n && sizes[p]+e.size <= budget {
			assigned[p] = append(assigned[p], e)
			sizes[p] += e.size
			continue
		}
		pending = append(pending, e)
	}
	for _, e := range pending {
		p := 0
		for p < len(assigned) && sizes[p] > 0 && sizes[p]+e.size > budget {
			p++
		}
		if p == len(assigned) {
			assigned, sizes = append(assigned, nil), append(sizes, 0)
		}
		assigned[p] = append(assigned[p], e)
		sizes[p] += e.size
	}
	out := make([]controlv1alpha1.BindingSpec, len(assigned))
	for p, entries := range assigned {
		slices.SortFunc(entries, func(a, b partEntry) int { return a.index - b.index })
		out[p].Destinations = spec.Destinations
		for _, e := range entries {
			if e.cluster != nil {
				out[p].Workload.ClusterScope = append(out[p].Workload.ClusterScope, *e.cluster)
			} else {
				out[p].Workload.NamespaceScope = append(out[p].Workload.NamespaceScope, *e.ns)
			}
		}
	}
	return out
}

// assignmentOf is where parts place each object: its key → part.
func assignmentOf(parts []controlv1alpha1.BindingSpec) map[string]int {
	out := map[string]int{}
	for p, spec := range parts {
		for key := range partKeys(spec) {
			out[key] = p
		}
	}
	return out
}

// writeOrder orders the parts to write so that a part gaining objects is
// written before the others: an object moving between two parts is in the
// one it moves to before it leaves the other (the transport, which sees
// the Bindings in that order, does not remove it from the WECs).
func writeOrder(written, parts []controlv1alpha1.BindingSpec) []int {
	var gaining, others []int
	for p, spec := range parts {
		var before map[string]bool
		if p < len(written) {
			before = partKeys(written[p])
		}
		gains := false
		for key := range partKeys(spec) {
			if !before[key] {
				gains = true
				break
			}
		}
		if gains {
			gaining = append(gaining, p)
		} else {
			others = append(others, p)
		}
	}
	return append(gaining, others...)
}

// objectCount is how many objects the parts list.
func objectCount(parts []controlv1alpha1.BindingSpec) int {
	n := 0
	for _, p := range parts {
		n += len(p.Workload.ClusterScope) + len(p.Workload.NamespaceScope)
	}
	return n
}
