package propagate_test

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

func TestPayload(t *testing.T) {
	var entries []gitstellarv1alpha1.DeliveryEntry
	for i := range 200 {
		entries = append(entries, gitstellarv1alpha1.DeliveryEntry{CreateOnly: i%7 == 0, Object: runtime.RawExtension{
			Raw: fmt.Appendf(nil, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c%d","namespace":"app"},"data":{"v":"%d"}}`, i, i)}})
	}
	payload, err := propagate.EncodeEntries(entries)
	require.NoError(t, err)
	again, err := propagate.EncodeEntries(entries)
	require.NoError(t, err)
	assert.Equal(t, payload, again, "the same entries, the same bytes: an unchanged part is not written again")
	var raw int
	for _, e := range entries {
		raw += len(e.Object.Raw)
	}
	assert.Less(t, len(payload)*4, raw, "compressed: %d bytes for %d", len(payload), raw)

	decoded, err := propagate.DecodeEntries(payload)
	require.NoError(t, err)
	require.Len(t, decoded, len(entries))
	assert.JSONEq(t, string(entries[7].Object.Raw), string(decoded[7].Object.Raw))
	assert.True(t, decoded[7].CreateOnly)

	// As the agent reads it from the ITS: base64 in the spec.
	d := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"payload": base64.StdEncoding.EncodeToString(payload)}}}
	fromITS, err := propagate.DeliveryEntries(d)
	require.NoError(t, err)
	assert.Len(t, fromITS, len(entries))

	// A Delivery written before payloads: its entries are read.
	old := &unstructured.Unstructured{Object: map[string]any{"spec": map[string]any{"entries": []any{
		map[string]any{"object": map[string]any{"apiVersion": "v1", "kind": "ConfigMap", "metadata": map[string]any{"name": "old"}}, "orphan": true}}}}}
	fromOld, err := propagate.DeliveryEntries(old)
	require.NoError(t, err)
	require.Len(t, fromOld, 1)
	assert.True(t, fromOld[0].Orphan)
	assert.Contains(t, string(fromOld[0].Object.Raw), `"old"`)

	// Bad payloads are errors, a bomb too.
	_, err = propagate.DecodeEntries([]byte("not gzip"))
	assert.Error(t, err)
	var bomb bytes.Buffer
	zw := gzip.NewWriter(&bomb)
	_, _ = zw.Write(bytes.Repeat([]byte(" "), propagate.MaxPayloadBytes+10))
	require.NoError(t, zw.Close())
	_, err = propagate.DecodeEntries(bomb.Bytes())
	assert.ErrorContains(t, err, "expands beyond")
}
