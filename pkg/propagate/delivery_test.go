package propagate

import (
	"fmt"
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
	parts, err := Pack(src, nil, 1000, 1500)
	require.NoError(t, err)
	assert.Empty(t, parts, "nothing to carry, no Delivery")

	var entries []Entry
	for i := range 10 {
		entries = append(entries, configMap(fmt.Sprintf("cm%d", i), 300))
	}
	entries[3].CreateOnly = true
	parts, err = Pack(src, entries, 1000, 1500)
	require.NoError(t, err)
	require.Len(t, parts, 5, "two ~380-byte objects per 1000-byte part")
	total := 0
	for i, p := range parts {
		assert.Equal(t, int32(i), p.Part)
		assert.Equal(t, int32(5), p.Parts)
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

	parts, err = Pack(src, []Entry{configMap("a", 300), configMap("big", 1100), configMap("b", 300)}, 1000, 1500)
	require.NoError(t, err)
	require.Len(t, parts, 3, "an object over the part size travels alone")
	assert.Len(t, parts[1].Entries, 1)
	_, err = Pack(src, []Entry{configMap("huge", 2000)}, 1000, 1500)
	assert.ErrorContains(t, err, "ConfigMap ns/huge is")
	assert.Equal(t, "wds1.nginx-bpolicy.2", DeliveryName("wds1", "nginx-bpolicy", 2))
}
