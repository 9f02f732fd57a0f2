package plan

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
)

// MaxMarkdownBytes keeps a Markdown plan within a pull-request comment
// (GitHub allows 65,536 characters).
const MaxMarkdownBytes = 60000

// WriteJSON writes the plan as indented JSON (its fields: docs/plan.md).
func (p *Plan) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(p)
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

// WriteText writes the plan for a terminal.
func (p *Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "plan: %s → %s\n", p.Base.Name, p.Head.Name)
	if !p.Changes() {
		b.WriteString("\nNo change to any WEC or BindingPolicy.\n")
	}
	for _, wec := range p.WECs {
		fmt.Fprintf(&b, "\nWEC %s: %s\n", wec.WEC, wec.counts())
		for _, c := range wec.Created {
			fmt.Fprintf(&b, "  + %s\n", c.line("create"))
		}
		for _, c := range wec.Updated {
			fmt.Fprintf(&b, "  ~ %s\n", c.line("update"))
			for _, l := range strings.Split(strings.TrimRight(c.Diff, "\n"), "\n") {
				fmt.Fprintf(&b, "      %s\n", l)
			}
		}
		for _, c := range wec.Deleted {
			fmt.Fprintf(&b, "  - %s\n", c.line("delete"))
		}
	}
	if len(p.Policies) > 0 {
		b.WriteString("\nBindingPolicies:\n")
		for _, pc := range p.Policies {
			fmt.Fprintf(&b, "  %s %s: %s\n", pc.WDS, pc.Policy, pc.Status)
			for _, x := range []struct{ what, list string }{
				{"WECs gained", strings.Join(pc.WECsGained, ", ")}, {"WECs lost", strings.Join(pc.WECsLost, ", ")},
				{"objects gained", refs(pc.ObjectsGained)}, {"objects lost", refs(pc.ObjectsLost)},
			} {
				if x.list != "" {
					fmt.Fprintf(&b, "    %s: %s\n", x.what, x.list)
				}
			}
		}
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(&b, "\nWarnings (%d):\n", len(p.Warnings))
		for _, warn := range p.Warnings {
			fmt.Fprintf(&b, "  ! %s\n", warn)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// markdownEscape keeps names and messages from being read as Markdown or
// HTML.
var markdownEscape = strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "*", `\*`, "_", `\_`, "`", "'", "\n", " ")

// WriteMarkdown writes the plan for a pull-request comment: a summary
// table first, then details in collapsible sections, cut to
// MaxMarkdownBytes with a note.
func (p *Plan) WriteMarkdown(w io.Writer) error {
	var head, details strings.Builder
	fmt.Fprintf(&head, "### gitstellar plan: `%s` → `%s`\n\n", strings.ReplaceAll(p.Base.Name, "`", "'"), strings.ReplaceAll(p.Head.Name, "`", "'"))
	if !p.Changes() {
		head.WriteString("No change to any WEC or BindingPolicy.\n")
	} else {
		head.WriteString("| WEC | created | updated | deleted |\n|---|---:|---:|---:|\n")
		for _, wec := range p.WECs {
			fmt.Fprintf(&head, "| %s | %d | %d | %d |\n", markdownEscape.Replace(wec.WEC), len(wec.Created), len(wec.Updated), len(wec.Deleted))
		}
	}
	if len(p.Policies) > 0 {
		head.WriteString("\n| WDS | BindingPolicy | change | WECs gained | WECs lost | objects gained | objects lost |\n|---|---|---|---|---|---:|---:|\n")
		for _, pc := range p.Policies {
			fmt.Fprintf(&head, "| %s | %s | %s | %s | %s | %d | %d |\n", markdownEscape.Replace(pc.WDS), markdownEscape.Replace(pc.Policy), pc.Status,
				markdownEscape.Replace(strings.Join(pc.WECsGained, ", ")), markdownEscape.Replace(strings.Join(pc.WECsLost, ", ")),
				len(pc.ObjectsGained), len(pc.ObjectsLost))
		}
	}
	if len(p.Warnings) > 0 {
		fmt.Fprintf(&head, "\n**Warnings (%d)**\n\n", len(p.Warnings))
		for _, warn := range p.Warnings {
			fmt.Fprintf(&head, "- ⚠️ %s\n", markdownEscape.Replace(warn))
		}
	}
	for _, wec := range p.WECs {
		fmt.Fprintf(&details, "\n<details><summary>WEC %s: %s</summary>\n\n", markdownEscape.Replace(wec.WEC), wec.counts())
		for _, c := range wec.Created {
			fmt.Fprintf(&details, "- ➕ %s\n", markdownEscape.Replace(c.line("create")))
		}
		for _, c := range wec.Deleted {
			fmt.Fprintf(&details, "- ➖ %s\n", markdownEscape.Replace(c.line("delete")))
		}
		for _, c := range wec.Updated {
			fmt.Fprintf(&details, "- ✏️ %s\n\n```diff\n%s```\n", markdownEscape.Replace(c.line("update")), fence(c.Diff))
		}
		details.WriteString("\n</details>\n")
	}
	for _, pc := range p.Policies {
		if len(pc.ObjectsGained)+len(pc.ObjectsLost) == 0 {
			continue
		}
		fmt.Fprintf(&details, "\n<details><summary>BindingPolicy %s/%s: objects gained and lost</summary>\n\n", markdownEscape.Replace(pc.WDS), markdownEscape.Replace(pc.Policy))
		for _, r := range pc.ObjectsGained {
			fmt.Fprintf(&details, "- ➕ %s\n", markdownEscape.Replace(r.String()))
		}
		for _, r := range pc.ObjectsLost {
			fmt.Fprintf(&details, "- ➖ %s\n", markdownEscape.Replace(r.String()))
		}
		details.WriteString("\n</details>\n")
	}
	out := head.String() + details.String()
	if len(out) > MaxMarkdownBytes {
		const note = "\n\n> ✂️ The plan is cut here: %d more bytes. Run `gitstellar plan` locally for all of it.\n"
		cut := MaxMarkdownBytes - len(note) - 20
		cut = strings.LastIndex(out[:cut], "\n")
		rest := len(out) - cut
		out = out[:cut]
		if strings.Count(out, "```")%2 == 1 {
			out += "\n```"
		}
		if strings.Count(out, "<details>") > strings.Count(out, "</details>") {
			out += "\n</details>"
		}
		out += fmt.Sprintf(note, rest)
	}
	_, err := io.WriteString(w, out)
	return err
}

// fence keeps a diff from closing its code block early.
func fence(diff string) string {
	diff = strings.ReplaceAll(diff, "```", "'''")
	if diff != "" && !strings.HasSuffix(diff, "\n") {
		diff += "\n"
	}
	return diff
}
