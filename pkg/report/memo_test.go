package report

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSummaryFromItems: summary.yaml assembled from the YAML of each
// object reads back as the Summary without returned status, with long
// messages (which YAML wraps at a column that depends on indentation),
// multi-line ones and strings that need quoting; and a render reusing the
// previous render's items gives the same bytes as a fresh one.
func TestSummaryFromItems(t *testing.T) {
	s := branchTestSummary("0123456789012345678901234567890123456789", "a", "b", "c: d", "- e", "true")
	s.Errors = []string{"x.yaml:3: " + strings.Repeat("a long message ", 12)}
	wecs := s.Spaces[0].Objects[0].WECs
	wecs[0].Ready, wecs[0].Message = false, strings.Repeat("word ", 40)
	s.Spaces[0].Objects[1].WECs[0].Message = "first line\n\n  indented third line\n# not a comment"
	s.Spaces[0].Objects[2].WECs[0].Status = map[string]any{"phase": "Running"}
	s.Spaces = append(s.Spaces, SpaceSummary{Name: "wds: 2"})

	memo := &statusMemo{}
	first, err := memo.render(s)
	require.NoError(t, err)
	memo.keep()
	got, err := DecodeStatusSummary(first[StatusSummaryFile].data)
	require.NoError(t, err)
	assert.Empty(t, cmp.Diff(withoutReturnedStatus(sortedSummary(s)), got))

	s.Spaces[0].Objects[3].WECs[0].Ready = false
	again, err := memo.render(s)
	require.NoError(t, err)
	fresh, err := RenderStatusFiles(s)
	require.NoError(t, err)
	assert.Equal(t, string(fresh[StatusSummaryFile]), string(again[StatusSummaryFile].data))
	assert.NotEqual(t, string(first[StatusSummaryFile].data), string(again[StatusSummaryFile].data))
	for p, f := range again {
		assert.Equal(t, newStatusFile(fresh[p]).hash, f.hash, p)
		switch p {
		case StatusReadmeFile, StatusSummaryFile, "wds1/core/ConfigMap/default/- e.yaml":
			assert.NotNil(t, f.data, "%s changed: rendered", p)
		default:
			assert.Nil(t, f.data, "%s did not change: its blob is reused", p)
		}
	}
	assert.Len(t, memo.items, 6, "the items of the last render only: 5 objects and a policy")
}
