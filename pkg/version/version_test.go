package version

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGet(t *testing.T) {
	oldV, oldC := Version, Commit
	t.Cleanup(func() { Version, Commit = oldV, oldC })

	Version, Commit = "v0.1.0", "0123abc"
	info := Get()
	assert.Equal(t, "v0.1.0", info.Version)
	assert.Equal(t, "0123abc", info.Commit)
	assert.True(t, strings.HasPrefix(info.String(), "gitstellar v0.1.0 (commit 0123abc, go"), info.String())

	Version, Commit = "", ""
	info = Get()
	assert.NotEmpty(t, info.Version, "falls back to build info or devel")
	assert.NotEmpty(t, info.Commit)
}
