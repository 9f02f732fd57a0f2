package memo

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestByVersion(t *testing.T) {
	var m ByVersion[int]
	calls := 0
	compute := func(v int) func() int { return func() int { calls++; return v } }
	assert.Equal(t, 1, m.Get("a", "v1", compute(1)))
	assert.Equal(t, 1, m.Get("a", "v1", compute(99)), "same version: remembered")
	assert.Equal(t, 2, m.Get("a", "v2", compute(2)), "another version: computed again")
	assert.Equal(t, 2, calls)
	m.Forget("a")
	assert.Equal(t, 3, m.Get("a", "v2", compute(3)), "forgotten: computed again")

	boom := errors.New("boom")
	_, err := m.GetErr("b", "v1", func() (int, error) { return 0, boom })
	assert.ErrorIs(t, err, boom)
	v, err := m.GetErr("b", "v1", func() (int, error) { return 5, nil })
	assert.NoError(t, err)
	assert.Equal(t, 5, v, "a failure is not remembered")
	v, _ = m.GetErr("b", "v1", func() (int, error) { return 6, nil })
	assert.Equal(t, 5, v)

	m.ForgetIf(func(key string) bool { return key == "b" })
	v, _ = m.GetErr("b", "v1", func() (int, error) { return 6, nil })
	assert.Equal(t, 6, v, "forgotten: computed again")
	before := m.Len()
	m.ForgetIf(func(string) bool { return true })
	assert.Equal(t, 0, m.Len())
	assert.Positive(t, before)
}
