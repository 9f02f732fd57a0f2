package controller

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestStatusSchedule(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	s := statusSchedule{interval: 10 * time.Second, quiet: 250 * time.Millisecond}

	// A first change is written once it has been quiet a moment.
	assert.False(t, s.due(at(0), "v1"), "just changed")
	assert.False(t, s.due(at(100), "v2"), "still changing (another WEC reported)")
	assert.False(t, s.due(at(300), "v2"), "quiet for 200 ms only")
	assert.True(t, s.due(at(400), "v2"), "quiet for 300 ms: written")
	s.wrote(at(400), "v2")
	assert.False(t, s.due(at(500), "v2"), "as written")

	// The next change waits for the interval since that write began.
	assert.False(t, s.due(at(2000), "v3"))
	assert.False(t, s.due(at(10300), "v3"), "quiet, but within the interval")
	assert.True(t, s.due(at(10400), "v3"), "an interval after the last write")
	s.wrote(at(10400), "v3")

	// A stream of changes is written once per interval, quiet or not.
	for ms := 10500; ms < 20400; ms += 100 {
		assert.False(t, s.due(at(ms), "w"+time.Duration(ms).String()), "at %d ms", ms)
	}
	assert.True(t, s.due(at(20500), "w-last"), "changing for an interval: written anyway")

	// A failed write is tried again an interval later.
	s.failed(at(20500))
	assert.False(t, s.due(at(25000), "w-last"))
	assert.True(t, s.due(at(30600), "w-last"))

	// A summary that changed back to what was written needs no write.
	s.wrote(at(30600), "x")
	assert.False(t, s.due(at(45000), "x"))
}
