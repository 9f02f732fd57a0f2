package memo

import (
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// ByVersion remembers, per object, a value computed from one version of
// it, so that an object read again unchanged is not decoded again. An
// entry lives until its object is forgotten (deleted), never wiped
// wholesale. The zero value is ready to use.
type ByVersion[T any] struct {
	mu sync.Mutex
	m  map[string]versioned[T]
}

type versioned[T any] struct {
	version string
	value   T
}

// Get returns the value for key at version, computing it when the memo
// holds another version or none.
func (m *ByVersion[T]) Get(key, version string, compute func() T) T {
	v, _ := m.GetErr(key, version, func() (T, error) { return compute(), nil })
	return v
}

// GetErr is Get for a computation that can fail: a failure is returned
// and not remembered.
func (m *ByVersion[T]) GetErr(key, version string, compute func() (T, error)) (T, error) {
	m.mu.Lock()
	v, ok := m.m[key]
	m.mu.Unlock()
	if ok && v.version == version {
		return v.value, nil
	}
	value, err := compute()
	if err != nil {
		return value, err
	}
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]versioned[T]{}
	}
	m.m[key] = versioned[T]{version: version, value: value}
	m.mu.Unlock()
	return value, nil
}

// Forget drops what is known of key.
func (m *ByVersion[T]) Forget(key string) {
	m.mu.Lock()
	delete(m.m, key)
	m.mu.Unlock()
}

// ForgetIf drops what is known of every key gone says is gone.
func (m *ByVersion[T]) ForgetIf(gone func(key string) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.m {
		if gone(k) {
			delete(m.m, k)
		}
	}
}

// Len is how many keys the memo holds.
func (m *ByVersion[T]) Len() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.m)
}

// ObjectName is the memo key of an object: namespace/name.
func ObjectName(u *unstructured.Unstructured) string {
	return u.GetNamespace() + "/" + u.GetName()
}

// SpecVersion identifies an object's spec: a new object (uid) or a new
// generation is another version; a status write is not.
func SpecVersion(u *unstructured.Unstructured) string {
	return SpecVersionAt(u, u.GetGeneration())
}

// SpecVersionAt is the SpecVersion the object had at another generation.
func SpecVersionAt(u *unstructured.Unstructured, generation int64) string {
	return string(u.GetUID()) + "/" + strconv.FormatInt(generation, 10)
}
