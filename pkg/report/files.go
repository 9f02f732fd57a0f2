package report

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/propagate"
)

// The files at the root of the status branch.
const (
	StatusReadmeFile  = "README.md"
	StatusSummaryFile = "summary.yaml"
)

// The path components standing for the core group and for "no namespace"
// in the paths of object files.
const (
	statusCoreGroup     = "core"
	statusClusterScoped = "_cluster"
)

// RenderStatusFiles renders a Summary into the files of the status branch,
// path → content: README.md for people, summary.yaml for tools, and one
// file per object, <wds>/<group>/<kind>/<namespace>/<name>.yaml, with its
// returned status and CombinedStatus results. The same Summary always gives
// the same bytes: nothing depends on time or on the order of the input.
//
// Returned status is redacted on the way: never written for core Secrets,
// and stripped of every JSONPath of ObjectSummary.Redact. Nothing of an
// object is written but its identity, policies and reported state.
func RenderStatusFiles(s Summary) (map[string][]byte, error) {
	rendered, err := (&statusMemo{}).render(s)
	if err != nil {
		return nil, err
	}
	files := make(map[string][]byte, len(rendered))
	for p, f := range rendered {
		files[p] = f.data
	}
	return files, nil
}

// statusFile is a rendered file of the status branch: the hash of its Git
// blob, and its content, which is nil when the memo that rendered it knew
// the blob from an earlier render that was stored.
type statusFile struct {
	hash plumbing.Hash
	data []byte
	// inHead: a file of the branch's head kept as it is (WriteErrors),
	// whose blob the remote has and the writer need not hold.
	inHead bool
}

func newStatusFile(data []byte) statusFile {
	return statusFile{hash: plumbing.ComputeHash(plumbing.BlobObject, data), data: data}
}

// statusMemo carries what one render of the status files can reuse from
// the previous: the blob of every file and the YAML of every object's
// entry in summary.yaml, by the hash of their JSON. Converting to YAML is
// what costs, not the JSON; and only blob hashes are kept, not the files,
// whose content the repository already holds. A render's memo replaces the
// previous one only when kept (its blobs stored).
type statusMemo struct {
	mu          sync.Mutex
	blobs, next map[[32]byte]plumbing.Hash
	items, more map[[32]byte][]byte
}

// memoKey is the hash of v's JSON and a comment, and that JSON.
func memoKey(comment string, v any) ([32]byte, []byte, error) {
	j, err := json.Marshal(v)
	if err != nil {
		return [32]byte{}, nil, err
	}
	return sha256.Sum256(append(j[:len(j):len(j)], comment...)), j, nil
}

// reuse gives the value the kept render had for key, or computes it, and
// records it for the render being made.
func reuse[V any](mu *sync.Mutex, kept map[[32]byte]V, next *map[[32]byte]V, key [32]byte, compute func() (V, error)) (V, error) {
	mu.Lock()
	v, ok := kept[key]
	mu.Unlock()
	if !ok {
		var err error
		if v, err = compute(); err != nil {
			return v, err
		}
	}
	mu.Lock()
	if *next == nil {
		*next = map[[32]byte]V{}
	}
	(*next)[key] = v
	mu.Unlock()
	return v, nil
}

// file renders one file: YAML after an optional comment. Its content is
// nil when the kept render had it.
func (m *statusMemo) file(comment string, v any) (statusFile, error) {
	key, j, err := memoKey(comment, v)
	if err != nil {
		return statusFile{}, err
	}
	var data []byte
	hash, err := reuse(&m.mu, m.blobs, &m.next, key, func() (plumbing.Hash, error) {
		b, err := jsonToYAML(j)
		data = withComment(comment, b)
		return newStatusFile(b).hash, err
	})
	return statusFile{hash: hash, data: data}, err
}

// item is the YAML of v as an element of a block sequence indented by
// indent spaces.
func (m *statusMemo) item(indent int, v any) ([]byte, error) {
	key, j, err := memoKey(strings.Repeat(" ", indent), v)
	if err != nil {
		return nil, err
	}
	return reuse(&m.mu, m.items, &m.more, key, func() ([]byte, error) {
		b, err := jsonToYAML(j)
		return sequenceItem(b, indent), err
	})
}

// keep makes the last render's memo the one the next render reuses: its
// blobs are in the repository.
func (m *statusMemo) keep() {
	m.mu.Lock()
	m.blobs, m.next, m.items, m.more = m.next, nil, m.more, nil
	m.mu.Unlock()
}

// reset forgets everything: the next render renders every file.
func (m *statusMemo) reset() {
	m.mu.Lock()
	m.blobs, m.next, m.items, m.more = nil, nil, nil, nil
	m.mu.Unlock()
}

// sequenceItem indents a YAML document as an element of a block sequence:
// "- " before its first line, two spaces before the others, all after
// indent spaces. Empty lines stay empty (inside a block scalar they are
// empty lines either way).
func sequenceItem(doc []byte, indent int) []byte {
	pad := strings.Repeat(" ", indent)
	var b bytes.Buffer
	b.Grow(len(doc) + (indent+2)*bytes.Count(doc, []byte("\n")))
	for i, line := range bytes.SplitAfter(bytes.TrimSuffix(doc, []byte("\n")), []byte("\n")) {
		switch {
		case i == 0:
			b.WriteString(pad + "- ")
		case len(bytes.TrimSpace(line)) > 0:
			b.WriteString(pad + "  ")
		}
		b.Write(line)
	}
	b.WriteByte('\n')
	return b.Bytes()
}

const summaryComment = "the summary of every bound object; per-object details are in <wds>/<group>/<kind>/<namespace>/<name>.yaml"

// summaryYAML renders summary.yaml: the YAML of withoutReturnedStatus(s),
// assembled from the YAML of each object and each space's policies, so
// that an object that did not change is not converted again.
func (m *statusMemo) summaryYAML(s Summary) ([]byte, error) {
	head, err := marshalStatusYAML(summaryComment, Summary{SourceCommit: s.SourceCommit, Errors: s.Errors, Charts: s.Charts})
	if err != nil {
		return nil, err
	}
	b := bytes.NewBuffer(head)
	if len(s.Spaces) > 0 {
		b.WriteString("spaces:\n")
	}
	for _, space := range withoutReturnedStatus(s).Spaces {
		name, err := statusYAML(struct {
			Name string `json:"name"`
		}{space.Name})
		if err != nil {
			return nil, err
		}
		b.Write(sequenceItem(name, 0))
		if len(space.Objects) > 0 {
			b.WriteString("  objects:\n")
		}
		for _, o := range space.Objects {
			item, err := m.item(2, o)
			if err != nil {
				return nil, fmt.Errorf("object %q of WDS %q: %w", o.Key(), space.Name, err)
			}
			b.Write(item)
		}
		if len(space.Policies) > 0 {
			b.WriteString("  policies:\n")
		}
		for _, p := range space.Policies {
			item, err := m.item(2, p)
			if err != nil {
				return nil, fmt.Errorf("policy %q of WDS %q: %w", p.Name, space.Name, err)
			}
			b.Write(item)
		}
		if space.Unreachable != "" { // the keys in order: name, objects, policies, unreachable
			line, err := statusYAML(struct {
				Unreachable string `json:"unreachable"`
			}{space.Unreachable})
			if err != nil {
				return nil, err
			}
			b.WriteString("  " + strings.ReplaceAll(strings.TrimSuffix(string(line), "\n"), "\n", "\n  ") + "\n")
		}
	}
	return b.Bytes(), nil
}

// render renders the files of a Summary, reusing what the memo kept.
func (m *statusMemo) render(s Summary) (map[string]statusFile, error) {
	s = sortedSummary(s)
	summary, err := m.summaryYAML(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", StatusSummaryFile, err)
	}
	files := map[string]statusFile{
		StatusReadmeFile:  newStatusFile(renderStatusReadme(s)),
		StatusSummaryFile: newStatusFile(summary),
	}
	for _, space := range s.Spaces {
		if space.Name == StatusReadmeFile || space.Name == StatusSummaryFile {
			return nil, fmt.Errorf("WDS %q: the name of a file of the status branch", space.Name)
		}
		for _, o := range space.Objects {
			p, err := statusObjectPath(space.Name, o)
			if err != nil {
				return nil, err
			}
			if _, dup := files[p]; dup {
				return nil, fmt.Errorf("%s: two objects of WDS %q have the same file", p, space.Name)
			}
			if files[p], err = m.file("", redactedObject(o)); err != nil {
				return nil, fmt.Errorf("%s: %w", p, err)
			}
		}
	}
	return files, nil
}

// DecodeStatusSummary reads summary.yaml.
func DecodeStatusSummary(data []byte) (Summary, error) {
	var s Summary
	if err := yaml.Unmarshal(data, &s); err != nil {
		return Summary{}, fmt.Errorf("%s: %w", StatusSummaryFile, err)
	}
	return s, nil
}

// statusObjectPath is <wds>/<group>/<kind>/<namespace>/<name>.yaml.
func statusObjectPath(wds string, o ObjectSummary) (string, error) {
	group, ns := cmp.Or(o.Group, statusCoreGroup), cmp.Or(o.Namespace, statusClusterScoped)
	parts := []string{wds, group, o.Kind, ns, o.Name}
	for _, part := range parts {
		if part == "" || part == "." || part == ".." || strings.EqualFold(part, ".git") || strings.ContainsAny(part, "/\\\x00\n") {
			return "", fmt.Errorf("object %q of WDS %q: %q cannot be part of a file path", o.Key(), wds, part)
		}
	}
	return path.Join(parts...) + ".yaml", nil
}

// statusObjectFile is the content of an object's file.
type statusObjectFile struct {
	ObjectSummary
	// Notes say what redaction withheld, and why.
	Notes []string `json:"notes,omitempty"`
}

// redactedObject is an object with its returned status redacted.
func redactedObject(o ObjectSummary) statusObjectFile {
	f := statusObjectFile{ObjectSummary: o}
	f.WECs = slices.Clone(o.WECs)
	if o.Group == "" && o.Kind == "Secret" {
		withheld := len(o.Combined) > 0
		for i := range f.WECs {
			withheld = withheld || f.WECs[i].Status != nil
			f.WECs[i].Status = nil
		}
		f.Combined = nil
		if withheld {
			f.Notes = append(f.Notes, "the returned status and combined results of a Secret are never written")
		}
		return f
	}
	var paths []propagate.Path
	for _, text := range o.Redact {
		p, err := propagate.ParsePath(text)
		if err != nil {
			for i := range f.WECs {
				f.WECs[i].Status = nil
			}
			f.Notes = append(f.Notes, fmt.Sprintf("returned status withheld: redact path %v", err))
			return f
		}
		paths = append(paths, p)
	}
	for i := range f.WECs {
		f.WECs[i].Status = redactedStatus(f.WECs[i].Status, paths)
	}
	return f
}

// redactedStatus is a deep copy of a status without what the paths
// address; a status that cannot be copied is withheld.
func redactedStatus(status map[string]any, paths []propagate.Path) map[string]any {
	if status == nil {
		return nil
	}
	b, err := json.Marshal(status)
	if err != nil {
		return nil
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		return nil
	}
	for _, p := range paths {
		p.Remove(c)
	}
	return c
}

// withoutReturnedStatus is the Summary as summary.yaml holds it: no
// returned status, no combined results.
func withoutReturnedStatus(s Summary) Summary {
	s.Spaces = slices.Clone(s.Spaces)
	for i := range s.Spaces {
		objects := slices.Clone(s.Spaces[i].Objects)
		for j := range objects {
			objects[j].Combined = nil
			objects[j].WECs = slices.Clone(objects[j].WECs)
			for k := range objects[j].WECs {
				objects[j].WECs[k].Status = nil
			}
		}
		s.Spaces[i].Objects = objects
	}
	return s
}

// sortedSummary is a copy of s with every list sorted, so that the files
// do not depend on the order of the input.
func sortedSummary(s Summary) Summary {
	s.Errors = sortedStrings(s.Errors)
	s.Spaces = slices.Clone(s.Spaces)
	slices.SortFunc(s.Spaces, func(a, b SpaceSummary) int { return cmp.Compare(a.Name, b.Name) })
	for i := range s.Spaces {
		space := &s.Spaces[i]
		space.Policies = slices.Clone(space.Policies)
		for j := range space.Policies {
			p := &space.Policies[j]
			p.WECs, p.Objects, p.Errors = sortedStrings(p.WECs), sortedStrings(p.Objects), sortedStrings(p.Errors)
		}
		slices.SortFunc(space.Policies, func(a, b PolicySummary) int { return cmp.Compare(a.Name, b.Name) })
		space.Objects = slices.Clone(space.Objects)
		for j := range space.Objects {
			o := &space.Objects[j]
			o.Policies = sortedStrings(o.Policies)
			o.WECs = slices.Clone(o.WECs)
			slices.SortFunc(o.WECs, func(a, b WECObjectStatus) int { return cmp.Compare(a.WEC, b.WEC) })
			o.Combined = slices.Clone(o.Combined)
			slices.SortFunc(o.Combined, func(a, b PolicyCombination) int { return cmp.Compare(a.Policy, b.Policy) })
		}
		slices.SortFunc(space.Objects, func(a, b ObjectSummary) int {
			return cmp.Or(cmp.Compare(a.Group, b.Group), cmp.Compare(a.Kind, b.Kind),
				cmp.Compare(a.Namespace, b.Namespace), cmp.Compare(a.Name, b.Name))
		})
	}
	return s
}

func sortedStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return ss
}

// marshalStatusYAML is YAML (keys sorted) after an optional comment.
func marshalStatusYAML(comment string, v any) ([]byte, error) {
	b, err := statusYAML(v)
	return withComment(comment, b), err
}

// withComment puts an optional comment line before a YAML document.
func withComment(comment string, doc []byte) []byte {
	if comment == "" || doc == nil {
		return doc
	}
	return append([]byte("# Written by gitstellar: "+comment+".\n"), doc...)
}

// placement is the state of one object in one WEC, as README.md shows it.
type placement int

const (
	placementReady       placement = iota // synced and ready
	placementNotReady                     // synced, not ready yet
	placementNotSynced                    // not applied as the WDS has it: an error
	placementNotReported                  // no status from the WEC
)

func placementOf(st *WECObjectStatus) placement {
	switch {
	case st == nil:
		return placementNotReported
	case !st.Synced:
		return placementNotSynced
	case !st.Ready:
		return placementNotReady
	}
	return placementReady
}

// cell is a table cell: a symbol, words, and a short message.
func (p placement) cell(message string) string {
	text := [...]string{"✅ ready", "⏳ applied, not ready", "❌ not synced", "❔ not reported"}[p]
	if m := shortMessage(message); m != "" && p != placementReady {
		text += ": " + escapeMarkdown(m)
	}
	return text
}

// health is the colour of a flowchart node: the worst of its placements.
type health int

const (
	healthGreen health = iota
	healthAmber
	healthRed
)

func (h health) String() string { return [...]string{"green", "amber", "red"}[h] }

func (p placement) health() health {
	switch p {
	case placementReady:
		return healthGreen
	case placementNotSynced:
		return healthRed
	}
	return healthAmber
}

// policyView is a policy with its objects and their placements.
type policyView struct {
	PolicySummary
	labels []string                      // per object
	cells  [][]*WECObjectStatus          // per object, per WEC
	ready  int                           // ready placements
	perWEC map[string]struct{ n, m int } // ready and all placements per WEC
	health health
}

func viewPolicy(space SpaceSummary, byKey map[string]int, p PolicySummary) policyView {
	v := policyView{PolicySummary: p, perWEC: map[string]struct{ n, m int }{}}
	if len(p.Errors) > 0 {
		v.health = healthRed
	}
	for _, key := range p.Objects {
		var o ObjectSummary
		i, found := byKey[key]
		if found {
			o = space.Objects[i]
		}
		label := statusObjectLabel(o)
		if !found {
			label = keyLabel(key)
		}
		row := make([]*WECObjectStatus, len(p.WECs))
		for i, wec := range p.WECs {
			if found {
				row[i] = findWECStatus(o, wec)
			}
			pl := placementOf(row[i])
			counts := v.perWEC[wec]
			counts.m++
			if pl == placementReady {
				counts.n++
				v.ready++
			}
			v.perWEC[wec] = counts
			v.health = max(v.health, pl.health())
		}
		v.labels, v.cells = append(v.labels, label), append(v.cells, row)
	}
	return v
}

// objectIndex maps each object's key to its index in space.Objects.
func objectIndex(space SpaceSummary) map[string]int {
	out := make(map[string]int, len(space.Objects))
	for i, o := range space.Objects {
		if _, dup := out[o.Key()]; !dup {
			out[o.Key()] = i
		}
	}
	return out
}

func findWECStatus(o ObjectSummary, wec string) *WECObjectStatus {
	for i := range o.WECs {
		if o.WECs[i].WEC == wec {
			return &o.WECs[i]
		}
	}
	return nil
}

// statusObjectLabel is "Kind.group namespace/name".
func statusObjectLabel(o ObjectSummary) string {
	kind := o.Kind
	if o.Group != "" {
		kind += "." + o.Group
	}
	if o.Namespace != "" {
		return kind + " " + o.Namespace + "/" + o.Name
	}
	return kind + " " + o.Name
}

func keyLabel(key string) string {
	parts := strings.SplitN(key, "/", 4)
	if len(parts) != 4 {
		return key
	}
	return statusObjectLabel(ObjectSummary{Group: parts[0], Kind: parts[1], Namespace: parts[2], Name: parts[3]})
}

// renderStatusReadme writes README.md: the source commit, the errors, a
// table of objects × WECs per policy, and a flowchart of policies → WECs.
func renderStatusReadme(s Summary) []byte {
	var b strings.Builder
	b.WriteString("# gitstellar status\n\n")
	if s.SourceCommit != "" {
		fmt.Fprintf(&b, "Source commit: %s\n\n", escapeMarkdown(s.SourceCommit))
	} else {
		b.WriteString("Source commit: none yet\n\n")
	}
	if len(s.Errors) > 0 {
		fmt.Fprintf(&b, "> [!CAUTION]\n> **%d error(s) in this revision**: the spaces still hold the last good revision.\n>\n", len(s.Errors))
		for _, e := range s.Errors {
			fmt.Fprintf(&b, "> - %s\n", escapeMarkdown(oneLine(e)))
		}
		b.WriteString("\n")
	}
	b.WriteString("✅ ready · ⏳ applied, not ready · ❌ not synced (an error) · ❔ not reported by the WEC\n\n" +
		"Details of each object, with the status its WECs return: `<wds>/<group>/<kind>/<namespace>/<name>.yaml`; " +
		"everything in one file: `summary.yaml`.\n")
	var views [][]policyView
	for _, space := range s.Spaces {
		fmt.Fprintf(&b, "\n## WDS %s\n", escapeMarkdown(space.Name))
		if space.Unreachable != "" {
			fmt.Fprintf(&b, "\n> [!WARNING]\n> **Unreachable**: %s. What follows is as last seen.\n", escapeMarkdown(space.Unreachable))
		}
		if len(space.Policies) == 0 {
			b.WriteString("\nNo BindingPolicy.\n")
		}
		var spaceViews []policyView
		byKey := objectIndex(space)
		for _, p := range space.Policies {
			v := viewPolicy(space, byKey, p)
			writePolicyTable(&b, v)
			spaceViews = append(spaceViews, v)
		}
		views = append(views, spaceViews)
	}
	if len(s.Spaces) == 0 {
		b.WriteString("\nNo WDS reports anything yet.\n")
	} else {
		writeFlowchart(&b, s, views)
	}
	return []byte(b.String())
}

func writePolicyTable(b *strings.Builder, v policyView) {
	fmt.Fprintf(b, "\n### BindingPolicy %s: %d/%d ready\n\n", escapeMarkdown(v.Name), v.ready, len(v.Objects)*len(v.WECs))
	for _, e := range v.Errors {
		fmt.Fprintf(b, "- ❌ %s\n", escapeMarkdown(oneLine(e)))
	}
	if len(v.Errors) > 0 {
		b.WriteString("\n")
	}
	switch {
	case len(v.WECs) == 0:
		b.WriteString("Selects no WEC.\n")
		return
	case len(v.Objects) == 0:
		b.WriteString("Binds no object.\n")
		return
	}
	b.WriteString("| Object |")
	for _, wec := range v.WECs {
		fmt.Fprintf(b, " %s |", escapeMarkdown(wec))
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(v.WECs)) + "\n")
	for i, label := range v.labels {
		fmt.Fprintf(b, "| %s |", escapeMarkdown(label))
		for _, st := range v.cells[i] {
			message := ""
			if st != nil {
				message = st.Message
			}
			fmt.Fprintf(b, " %s |", placementOf(st).cell(message))
		}
		b.WriteString("\n")
	}
}

// writeFlowchart writes a Mermaid flowchart: one subgraph per WDS holding
// its policies, an edge from each policy to each WEC it selects labelled
// with its ready count, nodes coloured by health.
func writeFlowchart(b *strings.Builder, s Summary, views [][]policyView) {
	wecHealth := map[string]health{}
	for _, space := range s.Spaces {
		for _, o := range space.Objects {
			for i := range o.WECs {
				st := &o.WECs[i]
				wecHealth[st.WEC] = max(wecHealth[st.WEC], placementOf(st).health())
			}
		}
	}
	for _, spaceViews := range views {
		for _, v := range spaceViews {
			for _, wec := range v.WECs {
				h := wecHealth[wec]
				if c := v.perWEC[wec]; c.n < c.m {
					h = max(h, healthAmber) // not reported
				}
				wecHealth[wec] = h
			}
		}
	}
	wecs := slices.Sorted(maps.Keys(wecHealth))
	wecID := map[string]string{}
	classes := map[health][]string{}
	b.WriteString("\n## Overview\n\n```mermaid\nflowchart LR\n")
	for i, space := range s.Spaces {
		fmt.Fprintf(b, "  subgraph S%d[\"WDS %s\"]\n", i, escapeMermaid(space.Name))
		for j, v := range views[i] {
			id := fmt.Sprintf("S%dP%d", i, j)
			fmt.Fprintf(b, "    %s[\"%s\"]\n", id, escapeMermaid(v.Name))
			classes[v.health] = append(classes[v.health], id)
		}
		b.WriteString("  end\n")
	}
	for i, wec := range wecs {
		id := fmt.Sprintf("W%d", i)
		wecID[wec] = id
		fmt.Fprintf(b, "  %s[\"%s\"]\n", id, escapeMermaid(wec))
		classes[wecHealth[wec]] = append(classes[wecHealth[wec]], id)
	}
	for i, spaceViews := range views {
		for j, v := range spaceViews {
			for _, wec := range v.WECs {
				c := v.perWEC[wec]
				fmt.Fprintf(b, "  S%dP%d -->|\"%d/%d ready\"| %s\n", i, j, c.n, c.m, wecID[wec])
			}
		}
	}
	b.WriteString("  classDef green fill:#d3f9d8,stroke:#2b8a3e,color:#1b4332\n" +
		"  classDef amber fill:#fff3bf,stroke:#e67700,color:#5c3c00\n" +
		"  classDef red fill:#ffe3e3,stroke:#c92a2a,color:#5c0011\n")
	for _, h := range []health{healthGreen, healthAmber, healthRed} {
		if ids := classes[h]; len(ids) > 0 {
			fmt.Fprintf(b, "  class %s %s\n", strings.Join(ids, ","), h)
		}
	}
	b.WriteString("```\n")
}

// oneLine joins the lines of a message.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// shortMessage is the first 80 characters of a message, on one line.
func shortMessage(s string) string {
	s = oneLine(s)
	if r := []rune(s); len(r) > 80 {
		return string(r[:79]) + "…"
	}
	return s
}

// escapeMarkdown makes text show as itself in Markdown, table cells
// included: inline markup is escaped everywhere, block markup at the start.
func escapeMarkdown(s string) string {
	s = oneLine(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case strings.ContainsRune("\\`*_[]<>|~&!", r):
			b.WriteByte('\\')
		case i == 0 && strings.ContainsRune("#+-=", r):
			b.WriteByte('\\')
		case (r == '.' || r == ')') && i > 0 && isDigits(s[:i]):
			b.WriteByte('\\') // "1. x" would start an ordered list
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isDigits(s string) bool {
	return strings.Trim(s, "0123456789") == ""
}

// escapeMermaid makes text safe inside a quoted Mermaid label, with
// Mermaid's entity codes.
func escapeMermaid(s string) string {
	return strings.NewReplacer(
		"#", "#35;", `"`, "#quot;", "<", "#lt;", ">", "#gt;", "&", "#amp;", "`", "#96;", "|", "#124;",
	).Replace(oneLine(s))
}
