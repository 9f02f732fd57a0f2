package propagate

import (
	"strconv"
	"sync"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// versionMemo remembers, per object, a value computed from one version of
// it, so that an object read again unchanged is not decoded again. An
// entry lives until its object is forgotten (deleted), never wiped
// wholesale.
type versionMemo[T any] struct {
	mu sync.Mutex
	m  map[string]versioned[T]
}

type versioned[T any] struct {
	version string
	value   T
}

// get returns the value for key at version, computing it when the memo
// holds another version or none.
func (m *versionMemo[T]) get(key, version string, compute func() T) T {
	m.mu.Lock()
	v, ok := m.m[key]
	m.mu.Unlock()
	if ok && v.version == version {
		return v.value
	}
	value := compute()
	m.mu.Lock()
	if m.m == nil {
		m.m = map[string]versioned[T]{}
	}
	m.m[key] = versioned[T]{version: version, value: value}
	m.mu.Unlock()
	return value
}

// forget drops what is known of key.
func (m *versionMemo[T]) forget(key string) {
	m.mu.Lock()
	delete(m.m, key)
	m.mu.Unlock()
}

// objectName is the memo key of an object: namespace/name.
func objectName(u *unstructured.Unstructured) string {
	return u.GetNamespace() + "/" + u.GetName()
}

// specVersion identifies an object's spec: a new object (uid) or a new
// generation is another version; a status write is not.
func specVersion(u *unstructured.Unstructured) string {
	return string(u.GetUID()) + "/" + strconv.FormatInt(u.GetGeneration(), 10)
}
