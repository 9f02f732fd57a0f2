package propagate

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// A Delivery carries its entries as one opaque, compressed value
// (DeliverySpec.Payload): the ITS neither parses nor field-tracks the
// objects inside, and stores and sends a fraction of their size. Writing
// a 64 KiB part of ConfigMaps as embedded objects cost an idle ITS ~58 ms;
// as its ~8 KiB compressed payload, ~9 ms.

// MaxPayloadBytes bounds what one Delivery's payload may expand to: a
// part holds at most PartBytes of objects, or one object of at most
// MaxObjectBytes, so a payload that expands beyond this was not written by
// a transport and is refused.
const MaxPayloadBytes = 4 << 20

// EncodeEntries compresses entries into a Delivery payload. The same
// entries always give the same bytes.
func EncodeEntries(entries []gitstellarv1alpha1.DeliveryEntry) ([]byte, error) {
	raw, err := json.Marshal(entries)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	zw := gzipWriters.Get().(*gzip.Writer)
	defer gzipWriters.Put(zw)
	zw.Reset(&buf)
	if _, err := zw.Write(raw); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// gzipWriters are reused: a compressor holds about 1 MB of state, and a
// sync of a Binding to ten WECs compresses dozens of parts at once.
var gzipWriters = sync.Pool{New: func() any {
	zw, _ := gzip.NewWriterLevel(nil, gzip.BestSpeed) // a valid level: no error
	return zw
}}

// entriesSum identifies entries by their content, cheaply next to
// compressing them.
func entriesSum(entries []gitstellarv1alpha1.DeliveryEntry) string {
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%d %t%t%t%t%t\n", len(e.Object.Raw), e.CreateOnly, e.Adopt, e.AdoptUnmanaged, e.Orphan, e.ReturnStatus)
		h.Write(e.Object.Raw)
	}
	return string(h.Sum(nil))
}

// DecodeEntries expands a Delivery payload, refusing one that expands
// beyond MaxPayloadBytes.
func DecodeEntries(payload []byte) ([]gitstellarv1alpha1.DeliveryEntry, error) {
	zr, err := gzip.NewReader(bytes.NewReader(payload))
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	raw, err := io.ReadAll(io.LimitReader(zr, MaxPayloadBytes+1))
	if err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	if len(raw) > MaxPayloadBytes {
		return nil, fmt.Errorf("payload: expands beyond %d bytes", MaxPayloadBytes)
	}
	var entries []gitstellarv1alpha1.DeliveryEntry
	if err := json.Unmarshal(raw, &entries); err != nil {
		return nil, fmt.Errorf("payload: %w", err)
	}
	return entries, nil
}

// SpecEntries are the entries a Delivery spec carries: its payload, or
// the entries of a Delivery written before payloads.
func SpecEntries(spec *gitstellarv1alpha1.DeliverySpec) ([]gitstellarv1alpha1.DeliveryEntry, error) {
	if len(spec.Payload) == 0 {
		return spec.Entries, nil
	}
	return DecodeEntries(spec.Payload)
}

// DeliveryEntries are the entries a Delivery carries.
func DeliveryEntries(d *unstructured.Unstructured) ([]gitstellarv1alpha1.DeliveryEntry, error) {
	spec, _ := d.Object["spec"].(map[string]any)
	if p, ok := spec["payload"].(string); ok && p != "" {
		payload, err := base64.StdEncoding.DecodeString(p)
		if err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		return DecodeEntries(payload)
	}
	list, _ := spec["entries"].([]any)
	if len(list) == 0 {
		return nil, nil
	}
	var s struct {
		Entries []gitstellarv1alpha1.DeliveryEntry `json:"entries"`
	}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(map[string]any{"entries": list}, &s); err != nil {
		return nil, errors.Join(errors.New("entries"), err)
	}
	return s.Entries, nil
}
