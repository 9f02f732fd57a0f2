package propagate

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// delivery is a Delivery part at generation 2 with the given status.
func delivery(part, parts int64, status map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"name": "wds1.b.0", "namespace": "mailbox-c1", "generation": int64(2)},
		"spec":     map[string]any{"part": part, "parts": parts},
	}}
	if status != nil {
		u.Object["status"] = status
	}
	return u
}

func applied(status string, reason string, entries ...string) map[string]any {
	var es []any
	for _, r := range entries {
		es = append(es, map[string]any{"result": r})
	}
	return map[string]any{"observedGeneration": int64(2),
		"conditions": []any{map[string]any{"type": "Applied", "status": status, "reason": reason}}, "entries": es}
}

func TestWECProgress(t *testing.T) {
	ok := applied("True", "Applied", "Applied")
	for name, tc := range map[string]struct {
		parts   map[int]*unstructured.Unstructured
		written int64
		want    Progress
	}{
		"no Delivery yet":          {parts: nil, want: Waiting},
		"no status yet":            {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, nil)}, want: Waiting},
		"status of an older spec":  {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, map[string]any{"observedGeneration": int64(1)})}, want: Waiting},
		"applied":                  {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, ok)}, want: Applied},
		"the cache lags the write": {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, ok)}, written: 3, want: Waiting},
		"a part missing":           {parts: map[int]*unstructured.Unstructured{0: delivery(0, 2, ok)}, want: Waiting},
		"both parts applied":       {parts: map[int]*unstructured.Unstructured{0: delivery(0, 2, ok), 1: delivery(1, 0, ok)}, want: Applied},
		"entries still pending":    {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, applied("False", "NotApplied", "Applied", "Pending", "Error"))}, want: Waiting},
		"an entry in error":        {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, applied("False", "NotApplied", "Applied", "Error"))}, want: Failed},
		"unreachable":              {parts: map[int]*unstructured.Unstructured{0: delivery(0, 1, applied("False", "Unreachable"))}, want: Failed},
		"one part failed, one waiting": {parts: map[int]*unstructured.Unstructured{
			0: delivery(0, 2, applied("False", "NotApplied", "Conflict")), 1: delivery(1, 0, nil)}, want: Waiting},
	} {
		t.Run(name, func(t *testing.T) {
			written := func(string) int64 { return tc.written }
			assert.Equal(t, tc.want, WECProgress(tc.parts, written))
		})
	}
}
