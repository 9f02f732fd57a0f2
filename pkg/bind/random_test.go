package bind

import (
	"fmt"
	"math/rand/v2"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

var (
	randomResources = []schema.GroupVersionResource{deployments, configmaps, namespaces, crds,
		{Version: "v1", Resource: "services"}, {Group: "batch", Version: "v1", Resource: "jobs"}, {Version: "v1", Resource: "events"}}
	randomValues = []string{"a", "b", "c", "edge", "core", "nginx"}
	randomKeys   = []string{"app", "tier", "location-group", "name"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func randomLabels(r *rand.Rand) map[string]string {
	l := map[string]string{}
	for range r.IntN(3) {
		l[pick(r, randomKeys)] = pick(r, randomValues)
	}
	return l
}

func randomSelector(r *rand.Rand) metav1.LabelSelector {
	s := metav1.LabelSelector{}
	switch r.IntN(4) {
	case 0: // {}
	case 1:
		s.MatchLabels = map[string]string{pick(r, randomKeys): pick(r, randomValues)}
	case 2:
		s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: pick(r, randomKeys), Operator: metav1.LabelSelectorOpIn, Values: []string{pick(r, randomValues), pick(r, randomValues)}}}
	case 3: // sometimes invalid
		s.MatchExpressions = []metav1.LabelSelectorRequirement{{Key: pick(r, randomKeys), Operator: pick(r, []metav1.LabelSelectorOperator{metav1.LabelSelectorOpExists, "Bogus"})}}
	}
	return s
}

func randomStrings(r *rand.Rand, from []string) []string {
	var out []string
	for range r.IntN(3) {
		out = append(out, pick(r, from))
	}
	return out
}

func randomInputs(r *rand.Rand, nObjects, nPolicies, nClusters int) Inputs {
	in := Inputs{NamespaceLabels: map[string]map[string]string{}}
	namespaces := []string{"", "nginx", "default", "web"}
	seen := map[ObjectKey]bool{}
	for i := range nObjects {
		o := &Object{GVR: pick(r, randomResources), Namespace: pick(r, namespaces), Name: fmt.Sprintf("o%d", r.IntN(nObjects+1)),
			Labels: randomLabels(r), ResourceVersion: fmt.Sprint(i)}
		if seen[o.Key()] {
			continue
		}
		seen[o.Key()] = true
		in.Objects = append(in.Objects, o)
	}
	for _, ns := range namespaces[1:] {
		in.NamespaceLabels[ns] = randomLabels(r)
	}
	for i := range nPolicies {
		bp := &controlv1alpha1.BindingPolicy{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("p%d", i)}}
		for range r.IntN(3) {
			bp.Spec.ClusterSelectors = append(bp.Spec.ClusterSelectors, randomSelector(r))
		}
		for range r.IntN(4) {
			c := controlv1alpha1.DownsyncPolicyClause{}
			if r.IntN(2) == 0 {
				g := pick(r, []string{"", "apps", "batch"})
				c.APIGroup = &g
			}
			c.Resources = randomStrings(r, []string{"*", "deployments", "configmaps", "namespaces"})
			c.Namespaces = randomStrings(r, []string{"*", "nginx", "default"})
			for range r.IntN(2) {
				c.NamespaceSelectors = append(c.NamespaceSelectors, randomSelector(r))
			}
			for range r.IntN(2) {
				c.ObjectSelectors = append(c.ObjectSelectors, randomSelector(r))
			}
			c.ObjectNames = randomStrings(r, []string{"*", "o1", "o2"})
			c.CreateOnly = r.IntN(2) == 0
			c.StatusCollectors = randomStrings(r, []string{"x", "y", "z"})
			c.WantSingletonReportedState = r.IntN(3) == 0
			bp.Spec.Downsync = append(bp.Spec.Downsync, c)
		}
		in.Policies = append(in.Policies, bp)
	}
	for i := range nClusters {
		in.Clusters = append(in.Clusters, Cluster{Name: fmt.Sprintf("c%d", i), Labels: randomLabels(r)})
	}
	return in
}
