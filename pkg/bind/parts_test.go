package bind

import (
	"encoding/json"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// specOf is a Binding spec of ConfigMaps named by the numbers given, at
// resourceVersion rv, to one WEC.
func specOf(rv string, numbers ...int) controlv1alpha1.BindingSpec {
	spec := controlv1alpha1.BindingSpec{Destinations: []controlv1alpha1.Destination{{ClusterId: "cluster1"}}}
	for _, i := range numbers {
		spec.Workload.NamespaceScope = append(spec.Workload.NamespaceScope, controlv1alpha1.NamespaceScopeDownsyncClause{
			NamespaceScopeDownsyncObject: controlv1alpha1.NamespaceScopeDownsyncObject{
				GroupVersionResource: metav1.GroupVersionResource{Version: "v1", Resource: "configmaps"},
				Namespace:            "app", Name: fmt.Sprintf("cm-%05d", i), ResourceVersion: rv}})
	}
	return spec
}

func names(spec controlv1alpha1.BindingSpec) []string {
	var out []string
	for _, o := range spec.Workload.NamespaceScope {
		out = append(out, o.Name)
	}
	return out
}

func numbers(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// TestSplitParts: a spec within the budget is one part; a larger one is
// split into parts each within the budget (as JSON), every object in one
// part, in the spec's order; objects stay in their part as the set
// changes, new ones fill the first part with room, and parts never go.
func TestSplitParts(t *testing.T) {
	budget := 10 * entrySize("v1configmaps", "app", "cm-00000", "12345", controlv1alpha1.DownsyncModulation{})

	one := splitParts(specOf("12345", numbers(0, 10)...), nil, 0, budget)
	require.Len(t, one, 1)
	assert.Equal(t, specOf("12345", numbers(0, 10)...), one[0])

	parts := splitParts(specOf("12345", numbers(0, 25)...), nil, 0, budget)
	require.Len(t, parts, 3)
	var all []string
	for _, p := range parts {
		assert.Equal(t, "cluster1", p.Destinations[0].ClusterId, "every part has the destinations")
		raw, err := json.Marshal(p.Workload)
		require.NoError(t, err)
		assert.LessOrEqual(t, len(raw), budget, "a part's JSON is within the budget")
		all = append(all, names(p)...)
	}
	assert.Equal(t, names(specOf("", numbers(0, 25)...)), all, "every object once, in order")

	// 3 and 7 go, 30 and 31 come, every object changes its version: the
	// others stay where they were, the new ones fill part 0's room.
	next := splitParts(specOf("99999", append(append(numbers(0, 3), numbers(4, 7)...), append(numbers(8, 25), 30, 31)...)...), assignmentOf(parts), len(parts), budget)
	require.Len(t, next, 3)
	assert.Equal(t, []string{"cm-00000", "cm-00001", "cm-00002", "cm-00004", "cm-00005", "cm-00006", "cm-00008", "cm-00009", "cm-00030", "cm-00031"}, names(next[0]))
	assert.Equal(t, names(parts[1]), names(next[1]))
	assert.Equal(t, names(parts[2]), names(next[2]))
	assert.Equal(t, []int{0}, writeOrder(parts, next)[:1], "the part gaining objects is written first")

	// Almost everything goes: the parts stay, emptied.
	few := splitParts(specOf("99999", 30), assignmentOf(next), len(next), budget)
	require.Len(t, few, 3)
	assert.Equal(t, []string{"cm-00030"}, names(few[0]))
	assert.Empty(t, names(few[1]))
	assert.Empty(t, names(few[2]))
	assert.Equal(t, 1, objectCount(few))

	// An object moving from part 2 to part 0 (it is not known where it
	// was): part 0, which gains it, is written before part 2.
	order := writeOrder([]controlv1alpha1.BindingSpec{{}, {}, specOf("1", 30)}, splitParts(specOf("1", 30), nil, 3, budget))
	assert.Equal(t, []int{0, 1, 2}, order)
	assert.Equal(t, []int{2, 0, 1}, writeOrder([]controlv1alpha1.BindingSpec{specOf("1", 30), {}, {}}, []controlv1alpha1.BindingSpec{{}, {}, specOf("1", 30)}))
}

func TestBindingPartNames(t *testing.T) {
	for n, name := range []string{"web", "web.part-2", "web.part-3"} {
		assert.Equal(t, name, gitstellarv1alpha1.BindingPartName("web", n))
	}
	for name, want := range map[string]struct {
		policy string
		n      int
		ok     bool
	}{
		"web.part-2": {"web", 1, true}, "a.b.part-12": {"a.b", 11, true},
		"web": {}, "web.part-1": {}, "web.part-02": {}, ".part-2": {}, "web.part-": {}, "web.part-x": {},
	} {
		policy, n, ok := gitstellarv1alpha1.BindingPartOf(name)
		assert.Equal(t, want.ok, ok, name)
		if want.ok {
			assert.Equal(t, want.policy, policy, name)
			assert.Equal(t, want.n, n, name)
		}
	}
}
