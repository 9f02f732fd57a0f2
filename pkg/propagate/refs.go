package propagate

import "sync"

// objectRefs records which Bindings list each bound object, so that what
// the transport keeps of an object (read and transformed, per version) is
// dropped once no Binding lists it: objects that come and go do not
// accumulate.
type objectRefs struct {
	mu        sync.Mutex
	byBinding map[string]map[string]bool // Binding → the keys of its objects
	count     map[string]int             // object key → how many Bindings list it
}

// set records the objects a Binding lists now, and returns those that no
// Binding lists any more.
func (r *objectRefs) set(binding string, keys []string) (released []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.byBinding == nil {
		r.byBinding, r.count = map[string]map[string]bool{}, map[string]int{}
	}
	now := make(map[string]bool, len(keys))
	for _, k := range keys {
		now[k] = true
	}
	before := r.byBinding[binding]
	for k := range now {
		if !before[k] {
			r.count[k]++
		}
	}
	for k := range before {
		if now[k] {
			continue
		}
		if r.count[k]--; r.count[k] <= 0 {
			delete(r.count, k)
			released = append(released, k)
		}
	}
	if len(now) == 0 {
		delete(r.byBinding, binding)
	} else {
		r.byBinding[binding] = now
	}
	return released
}
