package propagate

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

func configMap(name string, size int) Entry {
	return Entry{Object: &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": name, "namespace": "ns"},
		"data":     map[string]any{"v": strings.Repeat("x", size)},
	}}}
}

func TestPack(t *testing.T) {
	src := gitstellarv1alpha1.DeliverySource{WDS: "wds1", Binding: "b"}
	parts, err := Pack(src, nil, 1000, 1500, nil)
	require.NoError(t, err)
	assert.Empty(t, parts, "nothing to carry, no Delivery")

	var entries []Entry
	for i := range 10 {
		entries = append(entries, configMap(fmt.Sprintf("cm%d", i), 300))
	}
	entries[3].CreateOnly = true
	parts, err = Pack(src, entries, 1000, 1500, nil)
	require.NoError(t, err)
	require.Len(t, parts, 5, "two ~380-byte objects per 1000-byte part")
	total := 0
	for i, p := range parts {
		assert.Equal(t, int32(i), p.Part)
		if i == 0 {
			assert.Equal(t, int32(5), p.Parts, "the count, on part 0")
		} else {
			assert.Zero(t, p.Parts, "not on the other parts: a new count rewrites only part 0")
		}
		assert.Equal(t, src, p.Source)
		size := 0
		for _, e := range p.Entries {
			size += len(e.Object.Raw)
		}
		assert.LessOrEqual(t, size, 1000)
		total += len(p.Entries)
	}
	assert.Equal(t, 10, total)
	assert.True(t, parts[1].Entries[1].CreateOnly, "modulation kept, order kept")

	parts, err = Pack(src, []Entry{configMap("a", 300), configMap("big", 1100), configMap("b", 300)}, 1000, 1500, nil)
	require.NoError(t, err)
	require.Len(t, parts, 3, "an object over the part size travels alone")
	assert.Len(t, parts[1].Entries, 1)
	_, err = Pack(src, []Entry{configMap("huge", 2000)}, 1000, 1500, nil)
	assert.ErrorContains(t, err, "ConfigMap ns/huge is")
	assert.Equal(t, "wds1.nginx-bpolicy.2", DeliveryName("wds1", "nginx-bpolicy", 2))
}

// assignmentOf reads back where specs carry each object.
func assignmentOf(t *testing.T, specs []gitstellarv1alpha1.DeliverySpec) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, s := range specs {
		for _, e := range s.Entries {
			var h entryHeader
			require.NoError(t, json.Unmarshal(e.Object.Raw, &h))
			out[h.removal().Key()] = int(s.Part)
		}
	}
	return out
}

func TestPackStable(t *testing.T) {
	src := gitstellarv1alpha1.DeliverySource{WDS: "wds1", Binding: "b"}
	var entries []Entry
	for i := range 20 {
		entries = append(entries, configMap(fmt.Sprintf("cm%02d", i), 300))
	}
	first, err := Pack(src, entries, 1000, 1500, nil)
	require.NoError(t, err)
	require.Len(t, first, 10)
	previous := assignmentOf(t, first)

	// One object grows (still fits its part): only its part changes.
	grown := slices.Clone(entries)
	grown[7] = configMap("cm07", 320)
	again, err := Pack(src, grown, 1000, 1500, previous)
	require.NoError(t, err)
	require.Len(t, again, 10)
	for k := range again {
		if k == previous["/ConfigMap/ns/cm07"] {
			assert.NotEqual(t, first[k].Entries, again[k].Entries)
		} else if k != 0 {
			assert.Equal(t, first[k], again[k], "part %d untouched", k)
		}
	}

	// A new object, first in the Binding's order: it joins the last part or
	// a new one; every object stays where it was.
	added := append([]Entry{configMap("aaa", 300)}, entries...)
	again, err = Pack(src, added, 1000, 1500, previous)
	require.NoError(t, err)
	now := assignmentOf(t, again)
	for key, p := range previous {
		assert.Equal(t, p, now[key], key)
	}
	assert.Equal(t, len(again)-1, now["/ConfigMap/ns/aaa"])

	// An object outgrows its part: it moves; its neighbour stays.
	outgrown := slices.Clone(entries)
	outgrown[2] = configMap("cm02", 800)
	again, err = Pack(src, outgrown, 1000, 1500, previous)
	require.NoError(t, err)
	now = assignmentOf(t, again)
	assert.Equal(t, previous["/ConfigMap/ns/cm03"], now["/ConfigMap/ns/cm03"])
	assert.NotEqual(t, previous["/ConfigMap/ns/cm02"], now["/ConfigMap/ns/cm02"])

	// A part emptied: the last part's objects take its place; the others stay.
	var without []Entry
	for _, e := range entries {
		if p := previous["/ConfigMap/ns/"+e.Object.GetName()]; p != 3 {
			without = append(without, e)
		}
	}
	again, err = Pack(src, without, 1000, 1500, previous)
	require.NoError(t, err)
	require.Len(t, again, 9)
	now = assignmentOf(t, again)
	for key, p := range previous {
		switch {
		case p == 3:
			assert.NotContains(t, now, key)
		case p == 9:
			assert.Equal(t, 3, now[key], "%s moved into the gap", key)
		default:
			assert.Equal(t, p, now[key], key)
		}
	}

	// Part numbers no packing gives are ignored.
	bogus := map[string]int{"/ConfigMap/ns/cm00": 1 << 30, "/ConfigMap/ns/cm01": -1}
	again, err = Pack(src, entries[:2], 1000, 1500, bogus)
	require.NoError(t, err)
	assert.Len(t, again, 1)
}
