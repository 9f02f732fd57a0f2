package propagate

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestObjectRefsReleaseWhatNoBindingLists(t *testing.T) {
	var r objectRefs
	assert.Empty(t, r.set("web", []string{"a", "b", "shared"}))
	assert.Empty(t, r.set("db", []string{"shared", "c"}))
	assert.ElementsMatch(t, []string{"a"}, r.set("web", []string{"b", "shared"}), "a left web, which alone listed it")
	assert.Empty(t, r.set("web", []string{"b"}), "shared is still db's")
	assert.ElementsMatch(t, []string{"shared", "c"}, r.set("db", nil), "db gone")
	assert.ElementsMatch(t, []string{"b"}, r.set("web", nil))
	assert.Empty(t, r.byBinding)
	assert.Empty(t, r.count)
}
