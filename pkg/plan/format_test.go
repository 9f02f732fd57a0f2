package plan_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gitstellar/gitstellar/pkg/plan"
)

// hostileName is a file name an attacker can push: Markdown, HTML, a
// mention, a reference, an OSC 52 (clipboard) sequence, a bidi override,
// and a newline followed by a GitHub Actions workflow command. (No slash:
// a file name cannot have one.)
const hostileName = "![i](x.png) [l](y) @org-team #1 <img src=x> \x1b]52;c;QQ==\x07 \u202e\n::warning file=x::pwn.yaml"

// hostileWarning is a warning text an attacker can have gitstellar repeat.
const hostileWarning = "wds1: ![img](https://evil/x.png) [link](https://x) @org/team <details><summary>x</summary> \x1b[2J\n::error::pwned"

// hostileDiff holds a line that would close a ``` fence, a mention and a
// workflow command, as a diff of an object's YAML can.
const hostileDiff = "--- base\n+++ head\n@@ -1 +1 @@\n-a: b\n+a: |\n+  ```\n+  @org/team\n ::warning file=x::y\n"

// hostilePlan renders testdata/base against a head with a file named
// hostileName that does not parse, and adds a WEC update with hostileDiff
// and hostileWarning.
func hostilePlan(t *testing.T) *plan.Plan {
	t.Helper()
	head := t.TempDir()
	require.NoError(t, os.CopyFS(head, os.DirFS("testdata/base")))
	require.NoError(t, os.WriteFile(filepath.Join(head, "wds1", "web", hostileName), []byte("kind: [\n"), 0o644))
	p := plan.Compute(revision(t, "base", "testdata/base"), revision(t, "head", head), nil)
	require.NotEmpty(t, p.Head.Errors, "the file does not parse")
	require.Contains(t, p.Head.Errors[0], hostileName, "the render error names the file")
	p.Warnings = append(p.Warnings, hostileWarning)
	p.WECs = append(p.WECs, plan.WECChanges{WEC: "edge1", Updated: []plan.ObjectChange{{
		ObjectRef: plan.ObjectRef{WDS: "wds1", Version: "v1", Kind: "ConfigMap", Namespace: "web", Name: "settings"},
		Policies:  []string{"web"}, Diff: hostileDiff,
	}}})
	return p
}

func write(t *testing.T, f func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, f(&b))
	return b.String()
}

// noCommandLines asserts that no line of out is a CI workflow command.
func noCommandLines(t *testing.T, out string) {
	t.Helper()
	for _, line := range strings.Split(out, "\n") {
		assert.NotRegexp(t, `^\s*(::|##[A-Za-z]*\[)`, line, "a workflow command")
	}
}

func TestMarkdownEscapesRepositoryContent(t *testing.T) {
	p := hostilePlan(t)
	out := write(t, func(b *bytes.Buffer) error { return p.WriteMarkdown(b) })

	for _, raw := range []string{"![i](", "[l](", "![img](", "[link](", "<img", "<details><summary>x", "@org-team", "@org/team ", "#1 ",
		"https://", "\x1b", "\x07", "\u202e", "\n::warning", "\n::error"} {
		assert.NotContains(t, out, raw)
	}
	for _, escaped := range []string{
		`!\[i\](x.png) \[l\](y) @<!-- -->org-team \#<!-- -->1 &lt;img src=x&gt; \x1b\]52;c;QQ==\x07 \u202e\n::warning file=x::pwn.yaml`,
		`wds1: !\[img\](https:<!-- -->//evil/x.png) \[link\](https:<!-- -->//x) @<!-- -->org/team &lt;details&gt;&lt;summary&gt;x&lt;/summary&gt; \x1b\[2J\n::error::pwned`,
	} {
		assert.Contains(t, out, escaped)
	}
	assert.Contains(t, out, "````diff\n--- base\n", "the fence is longer than the diff's ```")
	assert.Contains(t, out, "+  ```\n+  @org/team\n \\x3a:warning file=x::y\n````\n")
	noCommandLines(t, out)
	assertBalanced(t, out)
}

func TestTextEscapesRepositoryContent(t *testing.T) {
	p := hostilePlan(t)
	out := write(t, func(b *bytes.Buffer) error { return p.WriteText(b) })
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "\n::"} {
		assert.NotContains(t, out, raw)
	}
	assert.Contains(t, out, `![i](x.png) [l](y) @org-team #1 <img src=x> \x1b]52;c;QQ==\x07 \u202e\n::warning file=x::pwn.yaml`)
	assert.Contains(t, out, `  ! wds1: ![img](https://evil/x.png) [link](https://x) @org/team <details><summary>x</summary> \x1b[2J\n::error::pwned`+"\n")
	assert.Contains(t, out, "       \\x3a:warning file=x::y\n", "the diff line")
	noCommandLines(t, out)
}

func TestJSONIsValidAndPrintable(t *testing.T) {
	p := hostilePlan(t)
	out := write(t, func(b *bytes.Buffer) error { return p.WriteJSON(b) })
	for _, raw := range []string{"\x1b", "\x07", "\u202e", "<", ">", "&"} {
		assert.NotContains(t, out, raw)
	}
	var back plan.Plan
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, p.Warnings, back.Warnings, "the same values")
	assert.Equal(t, p.WECs[len(p.WECs)-1].Updated[0].Diff, back.WECs[len(back.WECs)-1].Updated[0].Diff)
}

// TestMarkdownCut: a plan longer than MaxMarkdownBytes is cut at a line,
// with its code block and its <details> closed, whatever backticks the
// diffs hold.
func TestMarkdownCut(t *testing.T) {
	var diff strings.Builder
	diff.WriteString("--- base\n+++ head\n")
	for i := range 400 {
		diff.WriteString("+  line " + strings.Repeat("`", i%7) + " @org/team\n")
	}
	p := &plan.Plan{Base: plan.RevisionSummary{Name: "base"}, Head: plan.RevisionSummary{Name: "head"}}
	for _, wec := range []string{"edge1", "edge2", "edge3"} {
		w := plan.WECChanges{WEC: wec}
		for _, name := range []string{"a", "b", "c", "d", "e"} {
			w.Updated = append(w.Updated, plan.ObjectChange{ObjectRef: plan.ObjectRef{WDS: "wds1", Version: "v1", Kind: "ConfigMap", Name: name}, Diff: diff.String()})
		}
		p.WECs = append(p.WECs, w)
	}
	out := write(t, func(b *bytes.Buffer) error { return p.WriteMarkdown(b) })
	assert.LessOrEqual(t, len(out), plan.MaxMarkdownBytes)
	assert.Regexp(t, "```````\n\n</details>\n\n> ✂️ The plan is cut here: [0-9]+ more bytes\\. Run `gitstellar plan` locally for all of it\\.\n$", out)
	assertBalanced(t, out)
}

var fenceLine = regexp.MustCompile("^ {0,3}(`{3,})")

// assertBalanced asserts that every code block and <details> of a
// Markdown document is closed, and that a line closes a block only with a
// fence as long as its opening one.
func assertBalanced(t *testing.T, md string) {
	t.Helper()
	open, details := "", 0
	for _, line := range strings.Split(md, "\n") {
		m := fenceLine.FindStringSubmatch(line)
		switch {
		case open == "" && m != nil:
			open = m[1]
		case open != "" && m != nil && strings.TrimSpace(line) == m[1] && len(m[1]) >= len(open):
			open = ""
		case open != "" && m != nil:
			assert.Less(t, len(m[1]), len(open), "%q closes the block", line)
		case open == "":
			details += strings.Count(line, "<details>") - strings.Count(line, "</details>")
		}
	}
	assert.Empty(t, open, "a code block is left open")
	assert.Zero(t, details, "a <details> is left open")
}
