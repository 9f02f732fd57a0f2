package bind

import (
	"cmp"
	"fmt"
	"slices"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// Policy is a BindingPolicy compiled for matching: its selectors parsed
// once. A policy with an invalid selector has Errors and matches nothing.
type Policy struct {
	Name     string
	clusters []labels.Selector
	clauses  []clause
	Errors   []string
}

type clause struct {
	apiGroup   *string
	resources  []string
	namespaces []string
	nsSel      []labels.Selector
	objSel     []labels.Selector
	names      []string
	modulation controlv1alpha1.DownsyncModulation
}

// Compile parses a BindingPolicy's selectors.
func Compile(bp *controlv1alpha1.BindingPolicy) *Policy {
	p := &Policy{Name: bp.Name}
	parse := func(field string, sels []metav1.LabelSelector) []labels.Selector {
		out := make([]labels.Selector, 0, len(sels))
		for i := range sels {
			s, err := metav1.LabelSelectorAsSelector(&sels[i])
			if err != nil {
				p.Errors = append(p.Errors, fmt.Sprintf("%s[%d]: %v", field, i, err))
				continue
			}
			out = append(out, s)
		}
		return out
	}
	p.clusters = parse("spec.clusterSelectors", bp.Spec.ClusterSelectors)
	for i, d := range bp.Spec.Downsync {
		p.clauses = append(p.clauses, clause{
			apiGroup:   d.APIGroup,
			resources:  d.Resources,
			namespaces: d.Namespaces,
			nsSel:      parse(fmt.Sprintf("spec.downsync[%d].namespaceSelectors", i), d.NamespaceSelectors),
			objSel:     parse(fmt.Sprintf("spec.downsync[%d].objectSelectors", i), d.ObjectSelectors),
			names:      d.ObjectNames,
			modulation: d.DownsyncModulation,
		})
	}
	return p
}

// Valid tells whether every selector parsed.
func (p *Policy) Valid() bool { return len(p.Errors) == 0 }

// SelectsCluster tells whether the policy selects a WEC: any cluster
// selector matches its labels. No selector selects no WEC.
func (p *Policy) SelectsCluster(c Cluster) bool {
	if !p.Valid() {
		return false
	}
	set := labels.Set(c.Labels)
	for _, s := range p.clusters {
		if s.Matches(set) {
			return true
		}
	}
	return false
}

// Match tells whether the policy selects an object and with what
// modulation: createOnly and the reported-state wishes ORed, the status
// collectors unioned (sorted), over every clause the object passes.
// nsLabels are the labels of the object's Namespace (nil if unknown).
func (p *Policy) Match(o *Object, nsLabels map[string]string) (controlv1alpha1.DownsyncModulation, bool) {
	var (
		mod     controlv1alpha1.DownsyncModulation
		matched bool
	)
	if !p.Valid() || Excluded(o) {
		return mod, false
	}
	for i := range p.clauses {
		c := &p.clauses[i]
		if !c.matches(o, nsLabels) {
			continue
		}
		matched = true
		mod.CreateOnly = mod.CreateOnly || c.modulation.CreateOnly
		mod.WantSingletonReportedState = mod.WantSingletonReportedState || c.modulation.WantSingletonReportedState
		mod.WantMultiWECReportedState = mod.WantMultiWECReportedState || c.modulation.WantMultiWECReportedState
		for _, sc := range c.modulation.StatusCollectors {
			if !slices.Contains(mod.StatusCollectors, sc) {
				mod.StatusCollectors = append(mod.StatusCollectors, sc)
			}
		}
	}
	slices.Sort(mod.StatusCollectors)
	return mod, matched
}

// matches applies every present field of the object test.
func (c *clause) matches(o *Object, nsLabels map[string]string) bool {
	if c.apiGroup != nil && *c.apiGroup != o.GVR.Group {
		return false
	}
	if len(c.resources) > 0 && !slices.Contains(c.resources, "*") && !slices.Contains(c.resources, o.GVR.Resource) {
		return false
	}
	if len(c.namespaces) > 0 && !slices.Contains(c.namespaces, "*") {
		// Only "*" matches a cluster-scoped object.
		if o.Namespace == "" || !slices.Contains(c.namespaces, o.Namespace) {
			return false
		}
	}
	if len(c.nsSel) > 0 && !anyMatches(c.nsSel, o.Namespace == "", nsLabels) {
		return false
	}
	if len(c.objSel) > 0 && !anyMatches(c.objSel, false, o.Labels) {
		return false
	}
	if len(c.names) > 0 && !slices.Contains(c.names, "*") && !slices.Contains(c.names, o.Name) {
		return false
	}
	return true
}

// anyMatches: any selector matches the labels. For a cluster-scoped object
// and namespace selectors, only an empty selector ({}) matches.
func anyMatches(sels []labels.Selector, clusterScoped bool, l map[string]string) bool {
	for _, s := range sels {
		if clusterScoped {
			if s.Empty() {
				return true
			}
			continue
		}
		if s.Matches(labels.Set(l)) {
			return true
		}
	}
	return false
}

// Member is an object a policy selects, with its modulation.
type Member struct {
	Object     *Object
	Modulation controlv1alpha1.DownsyncModulation
}

// BindingSpec builds the Binding spec of a policy from its members and the
// WECs: KubeStellar's shape, every list sorted.
func BindingSpec(members []Member, clusters []string) controlv1alpha1.BindingSpec {
	var spec controlv1alpha1.BindingSpec
	slices.SortFunc(members, func(a, b Member) int {
		return cmp.Or(a.Object.Key().compare(b.Object.Key()),
			cmp.Compare(a.Object.GVR.Version, b.Object.GVR.Version),
			cmp.Compare(a.Object.ResourceVersion, b.Object.ResourceVersion))
	})
	for _, m := range members {
		o := m.Object
		if o.Namespace == "" {
			spec.Workload.ClusterScope = append(spec.Workload.ClusterScope, controlv1alpha1.ClusterScopeDownsyncClause{
				ClusterScopeDownsyncObject: controlv1alpha1.ClusterScopeDownsyncObject{
					GroupVersionResource: metav1.GroupVersionResource{Group: o.GVR.Group, Version: o.GVR.Version, Resource: o.GVR.Resource},
					Name:                 o.Name, ResourceVersion: o.ResourceVersion,
				},
				DownsyncModulation: m.Modulation,
			})
			continue
		}
		spec.Workload.NamespaceScope = append(spec.Workload.NamespaceScope, controlv1alpha1.NamespaceScopeDownsyncClause{
			NamespaceScopeDownsyncObject: controlv1alpha1.NamespaceScopeDownsyncObject{
				GroupVersionResource: metav1.GroupVersionResource{Group: o.GVR.Group, Version: o.GVR.Version, Resource: o.GVR.Resource},
				Namespace:            o.Namespace, Name: o.Name, ResourceVersion: o.ResourceVersion,
			},
			DownsyncModulation: m.Modulation,
		})
	}
	clusters = slices.Clone(clusters)
	slices.Sort(clusters)
	for _, c := range slices.Compact(clusters) {
		spec.Destinations = append(spec.Destinations, controlv1alpha1.Destination{ClusterId: c})
	}
	return spec
}

// Inputs is everything the resolver looks at.
type Inputs struct {
	Policies []*controlv1alpha1.BindingPolicy
	Objects  []*Object
	// NamespaceLabels are the labels of the WDS's Namespaces, by name.
	NamespaceLabels map[string]map[string]string
	Clusters        []Cluster
}

// Resolution is the outcome for one policy: its Binding spec, or the
// errors that keep it from having one.
type Resolution struct {
	Policy string
	Spec   controlv1alpha1.BindingSpec
	Errors []string
}

// Resolve computes every policy's Binding, sorted by policy name. The
// result does not depend on the order of the inputs.
func Resolve(in Inputs) []Resolution {
	out := make([]Resolution, 0, len(in.Policies))
	for _, bp := range in.Policies {
		p := Compile(bp)
		r := Resolution{Policy: bp.Name, Errors: p.Errors}
		if p.Valid() {
			var members []Member
			for _, o := range in.Objects {
				if mod, ok := p.Match(o, in.NamespaceLabels[o.Namespace]); ok {
					members = append(members, Member{Object: o, Modulation: mod})
				}
			}
			var clusters []string
			for _, c := range in.Clusters {
				if p.SelectsCluster(c) {
					clusters = append(clusters, c.Name)
				}
			}
			r.Spec = BindingSpec(members, clusters)
		}
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b Resolution) int { return cmp.Compare(a.Policy, b.Policy) })
	return out
}
