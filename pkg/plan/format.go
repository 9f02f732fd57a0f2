package plan

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/gitstellar/gitstellar/pkg/printable"
)

// MaxMarkdownBytes keeps a Markdown plan within a pull-request comment
// (GitHub allows 65,536 characters).
const MaxMarkdownBytes = 60000

// Every string of a plan may come from the repository (names, file names,
// messages, diffs): the writers escape each with pkg/printable for where
// it lands, so that it shows as it is and acts on nothing.

// WriteJSON writes the plan as indented JSON (its fields: docs/plan.md).
// encoding/json escapes control characters and <, >, &; the hidden
// characters it leaves (DEL, C1 controls, bidirectional and zero-width
// characters) are written as \u escapes too: the same JSON, safe to print.
func (p *Plan) WriteJSON(w io.Writer) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(p); err != nil {
		return err
	}
	_, err := w.Write(printable.JSON(b.Bytes()))
	return err
}

func (c ObjectChange) line(verb string) string {
	return fmt.Sprintf("%s %s (%s)", verb, c.ObjectRef.String(), strings.Join(c.Policies, ", "))
}

func (w WECChanges) counts() string {
	var parts []string
	for _, c := range []struct {
		n    int
		verb string
	}{{len(w.Created), "created"}, {len(w.Updated), "updated"}, {len(w.Deleted), "deleted"}} {
		if c.n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c.n, c.verb))
		}
	}
	return strings.Join(parts, ", ")
}

func refs(rs []ObjectRef) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = r.String()
	}
	return strings.Join(s, ", ")
}

// WriteText writes the plan for a terminal: one line per string of the
// repository (printable.TerminalLine), a diff one line per line.
func (p *Plan) WriteText(w io.Writer) error {
	esc := printable.TerminalLine
	var b strings.Builder
	fmt.Fprintf(&b, "plan: %s → %s\n", esc(p.Base.Name), esc(p.Head.Name))
	for _, c := range p.Charts {
		fmt.Fprintf(&b, "chart: %s\n", esc(c.line()))
	}
	if !p.Changes() {
		b.WriteString("\nNo change to any WEC or BindingPolicy.\n")
	}
	for _, wec := range p.WECs {
		fmt.Fprintf(&b, "\nWEC %s: %s\n", esc(wec.WEC), wec.counts())
		for _, c := range wec.Created {
			fmt.Fprintf(&b, "  + %s\n", esc(c.line("create")))
		}
		for _, c := range wec.Updated {
			fmt.Fprintf(&b, "  ~ %s\n", esc(c.line("update")))
			for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", esc(l))
			}
		}
		for _, c := range wec.Deleted {
			fmt.Fprintf(&b, "  - %s\n", esc(c.line("delete")))
		}
	}
	if len(p.Policies) > 0 {
		b.WriteString("\nBindingPolicies:\n")
		for _, pc := range p.Policies {
			fmt.Fprintf(&b, "  %s %s: %s\n", esc(pc.WDS), esc(pc.Policy), esc(pc.Status))
			for _, x := range []struct{ what, list string }{
				{"WECs gained", strings.Join(pc.WECsGained, ", ")}, {"WECs lost", strings.Join(pc.WECsLost, ", ")},
				{"objects gained", refs(pc.ObjectsGained)}, {"objects lost", refs(pc.ObjectsLost)},
			} {
				if x.list != "" {
					fmt.Fprintf(&b, "    %s: %s\n", x.what, esc(x.list))
				}
			}
		}
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(&b, "\nWarnings (%d):\n", len(p.Warnings))
		for _, warn := range p.Warnings {
			fmt.Fprintf(&b, "  ! %s\n", esc(warn))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// WriteMarkdown writes the plan for a pull-request comment: a summary
// table first, then details in collapsible sections, cut to
// MaxMarkdownBytes with a note. Strings of the repository are Markdown
// text (printable.Markdown), HTML text in a <summary>
// (printable.HTML), or a diff in a code block whose fence no line of the
// diff can close (printable.CodeFence).
func (p *Plan) WriteMarkdown(w io.Writer) error {
	md, html := printable.Markdown, printable.HTML
	var m markdown
	m.printf("### gitstellar plan: %s → %s\n\n", printable.MarkdownCode(p.Base.Name), printable.MarkdownCode(p.Head.Name))
	for _, c := range p.Charts {
		m.printf("- chart: %s\n", md(c.line()))
	}
	if len(p.Charts) > 0 {
		m.printf("\n")
	}
	if !p.Changes() {
		m.printf("No change to any WEC or BindingPolicy.\n")
	} else {
		m.printf("| WEC | created | updated | deleted |\n|---|---:|---:|---:|\n")
		for _, wec := range p.WECs {
			m.printf("| %s | %d | %d | %d |\n", md(wec.WEC), len(wec.Created), len(wec.Updated), len(wec.Deleted))
		}
	}
	if len(p.Policies) > 0 {
		m.printf("\n| WDS | BindingPolicy | change | WECs gained | WECs lost | objects gained | objects lost |\n|---|---|---|---|---|---:|---:|\n")
		for _, pc := range p.Policies {
			m.printf("| %s | %s | %s | %s | %s | %d | %d |\n", md(pc.WDS), md(pc.Policy), md(pc.Status),
				md(strings.Join(pc.WECsGained, ", ")), md(strings.Join(pc.WECsLost, ", ")), len(pc.ObjectsGained), len(pc.ObjectsLost))
		}
	}
	if len(p.Warnings) > 0 {
		m.printf("\n**Warnings (%d)**\n\n", len(p.Warnings))
		for _, warn := range p.Warnings {
			m.printf("- ⚠️ %s\n", md(warn))
		}
	}
	for _, wec := range p.WECs {
		m.open("\n<details><summary>"+html("WEC "+wec.WEC+": "+wec.counts())+"</summary>\n\n", "\n</details>\n")
		for _, c := range wec.Created {
			m.printf("- ➕ %s\n", md(c.line("create")))
		}
		for _, c := range wec.Deleted {
			m.printf("- ➖ %s\n", md(c.line("delete")))
		}
		for _, c := range wec.Updated {
			m.printf("- ✏️ %s\n\n", md(c.line("update")))
			m.codeBlock("diff", c.Diff)
		}
		m.close()
	}
	for _, pc := range p.Policies {
		if len(pc.ObjectsGained)+len(pc.ObjectsLost) == 0 {
			continue
		}
		m.open("\n<details><summary>"+html("BindingPolicy "+pc.WDS+"/"+pc.Policy+": objects gained and lost")+"</summary>\n\n", "\n</details>\n")
		for _, r := range pc.ObjectsGained {
			m.printf("- ➕ %s\n", md(r.String()))
		}
		for _, r := range pc.ObjectsLost {
			m.printf("- ➖ %s\n", md(r.String()))
		}
		m.close()
	}
	_, err := io.WriteString(w, m.String(MaxMarkdownBytes))
	return err
}

// markdown builds a Markdown document that can be cut after any of its
// pieces (whole lines) with the blocks open there closed.
type markdown struct {
	pieces  []mdPiece
	closers []string // of the open blocks, innermost last
}

// mdPiece is text and what closes the blocks still open after it.
type mdPiece struct{ text, close string }

func (m *markdown) printf(format string, args ...any) {
	m.add(fmt.Sprintf(format, args...))
}

func (m *markdown) add(text string) {
	var close strings.Builder
	for i := len(m.closers) - 1; i >= 0; i-- {
		close.WriteString(m.closers[i])
	}
	m.pieces = append(m.pieces, mdPiece{text: text, close: close.String()})
}

// open adds text that opens a block closed by closer.
func (m *markdown) open(text, closer string) {
	m.closers = append(m.closers, closer) // a cut right after text closes it too
	m.add(text)
}

// close closes the innermost open block.
func (m *markdown) close() {
	closer := m.closers[len(m.closers)-1]
	m.closers = m.closers[:len(m.closers)-1]
	m.add(closer)
}

// codeBlock adds a fenced code block of s, a piece per line.
func (m *markdown) codeBlock(info, s string) {
	fence := printable.CodeFence(s)
	m.open(fence+info+"\n", fence+"\n")
	body := printable.Terminal(s)
	if body != "" && !strings.HasSuffix(body, "\n") {
		body += "\n"
	}
	for _, l := range strings.SplitAfter(body, "\n") {
		if l != "" {
			m.add(l)
		}
	}
	m.close()
}

const cutNote = "\n> ✂️ The plan is cut here: %d more bytes. Run `gitstellar plan` locally for all of it.\n"

// String returns the document; when it is longer than limit bytes, the
// pieces that fit, what closes the blocks open after them, and a note.
func (m *markdown) String(limit int) string {
	total := 0
	for _, p := range m.pieces {
		total += len(p.text)
	}
	var b strings.Builder
	if total <= limit {
		for _, p := range m.pieces {
			b.WriteString(p.text)
		}
		return b.String()
	}
	note := len(fmt.Sprintf(cutNote, total))
	size, close := 0, ""
	for _, p := range m.pieces {
		if size+len(p.text)+len(p.close)+note > limit {
			break
		}
		b.WriteString(p.text)
		size, close = size+len(p.text), p.close
	}
	b.WriteString(close)
	fmt.Fprintf(&b, cutNote, total-size)
	return b.String()
}

// line says a chart release and its version(s): "release orders
// (wds1/db/helmchart.yaml): postgresql 16.0.1 → 16.0.2 from URL".
func (c ChartChange) line() string {
	version := c.HeadVersion
	switch {
	case c.BaseVersion == "":
		version = c.HeadVersion + " (new)"
	case c.HeadVersion == "":
		version = c.BaseVersion + " (removed)"
	case c.Changed():
		version = c.BaseVersion + " → " + c.HeadVersion
	}
	from := ""
	if c.Repository != "" {
		from = " from " + c.Repository
	}
	return fmt.Sprintf("release %s (%s): %s %s%s", c.Release, c.Source, c.Chart, version, from)
}
