package plan

import (
	"errors"
	"maps"
	"slices"
	"strings"

	"github.com/pmezard/go-difflib/difflib"
	"sigs.k8s.io/yaml"

	"github.com/gitstellar/gitstellar/pkg/render"
)

// Revision is one side of a plan: a rendered revision, or its render
// errors.
type Revision struct {
	// Name says which revision it is (a commit, "working tree").
	Name string
	// Result is the rendered revision; nil when it does not render.
	Result *render.Result
	// Err is why it does not render (render.Errors: file:line each).
	Err error
}

// Plan is what changing from the base revision to the head revision does
// to every WEC and every BindingPolicy. Its JSON form is stable (see
// docs/plan.md).
type Plan struct {
	Base     RevisionSummary `json:"base"`
	Head     RevisionSummary `json:"head"`
	WECs     []WECChanges    `json:"wecs"`
	Policies []PolicyChanges `json:"policies"`
	// Charts: every Helm chart release of either revision, with its
	// chart's version on each side.
	Charts []ChartChange `json:"charts,omitempty"`
	// Warnings about the head revision (and render errors of either).
	Warnings []string `json:"warnings"`
}

// ChartChange is one chart release (a declaration's release) in the base
// and the head: the chart and its version on each side ("" where the
// release is not).
type ChartChange struct {
	Source      string `json:"source"`
	Release     string `json:"release"`
	Chart       string `json:"chart"`
	Repository  string `json:"repository,omitempty"`
	BaseVersion string `json:"baseVersion,omitempty"`
	HeadVersion string `json:"headVersion,omitempty"`
}

// Changed tells whether the release's chart version differs.
func (c ChartChange) Changed() bool { return c.BaseVersion != c.HeadVersion }

// chartChanges pairs the chart releases of two revisions by declaration
// and release name.
func chartChanges(base, head *render.Result) []ChartChange {
	byKey := map[string]*ChartChange{}
	var keys []string
	add := func(res *render.Result, head bool) {
		if res == nil {
			return
		}
		for _, c := range res.Charts {
			key := c.Source.File + "\x00" + c.Release
			cc := byKey[key]
			if cc == nil {
				cc = &ChartChange{Source: c.Source.File, Release: c.Release}
				byKey[key] = cc
				keys = append(keys, key)
			}
			cc.Chart, cc.Repository = c.Name, c.Repository
			if head {
				cc.HeadVersion = c.Version
			} else {
				cc.BaseVersion = c.Version
			}
		}
	}
	add(base, false)
	add(head, true)
	slices.Sort(keys)
	out := make([]ChartChange, 0, len(keys))
	for _, k := range keys {
		out = append(out, *byKey[k])
	}
	return out
}

// RevisionSummary names a side of the plan and its render errors.
type RevisionSummary struct {
	Name   string   `json:"name"`
	Errors []string `json:"errors,omitempty"`
}

// WECChanges is what changes in one WEC.
type WECChanges struct {
	WEC     string         `json:"wec"`
	Created []ObjectChange `json:"created"`
	Updated []ObjectChange `json:"updated"`
	Deleted []ObjectChange `json:"deleted"`
}

// ObjectChange is one object created, updated or deleted in a WEC.
type ObjectChange struct {
	ObjectRef
	// Policies that bind it (in the head revision; in the base for a
	// deletion).
	Policies []string `json:"policies"`
	// Diff is a unified diff of the object as it lands in the WEC (YAML),
	// from base to head; for a Secret, only "changed" (values are never
	// shown).
	Diff string `json:"diff,omitempty"`
}

// PolicyChanges is what one BindingPolicy gains and loses.
type PolicyChanges struct {
	WDS           string      `json:"wds"`
	Policy        string      `json:"policy"`
	Status        string      `json:"status"` // added, removed, changed
	WECsGained    []string    `json:"wecsGained"`
	WECsLost      []string    `json:"wecsLost"`
	ObjectsGained []ObjectRef `json:"objectsGained"`
	ObjectsLost   []ObjectRef `json:"objectsLost"`
}

// Changes tells whether the plan changes anything in a WEC or a policy.
func (p *Plan) Changes() bool { return len(p.WECs) > 0 || len(p.Policies) > 0 }

// Deletions counts the objects deleted from WECs.
func (p *Plan) Deletions() int {
	n := 0
	for _, w := range p.WECs {
		n += len(w.Deleted)
	}
	return n
}

// Compute plans the change from base to head. A side that does not render
// lands nothing new: a broken head changes nothing (the controller would
// not apply it) and says why in the warnings. inventory, when set,
// replaces the WorkloadClusters of both revisions.
func Compute(base, head Revision, inventory Inventory) *Plan {
	p := &Plan{Base: RevisionSummary{Name: base.Name, Errors: errorLines(base.Err)}, Head: RevisionSummary{Name: head.Name, Errors: errorLines(head.Err)},
		WECs: []WECChanges{}, Policies: []PolicyChanges{}, Warnings: []string{}}
	for _, e := range p.Base.Errors {
		p.Warnings = append(p.Warnings, "base revision does not render: "+e)
	}
	for _, e := range p.Head.Errors {
		p.Warnings = append(p.Warnings, "head revision does not render, nothing would be applied: "+e)
	}
	empty := &landing{wecs: map[string]map[string]*landed{}, policies: map[string]*policyLanding{}}
	before, after := empty, empty
	if base.Result != nil {
		before = resolve(base.Result, inventory)
	}
	switch {
	case head.Result != nil:
		after = resolve(head.Result, inventory)
		p.Warnings = append(p.Warnings, after.warnings...)
	case base.Result != nil:
		after = before // nothing is applied: nothing changes
	}
	if head.Result != nil {
		p.Charts = chartChanges(base.Result, head.Result)
	}
	after = keepFrozen(before, after)
	p.WECs = diffWECs(before, after)
	p.Policies = diffPolicies(before, after)
	slices.Sort(p.Warnings)
	p.Warnings = slices.Compact(p.Warnings)
	return p
}

// keepFrozen puts back, into what the head lands, the objects a policy
// held in a WEC where its templates no longer expand: the controller
// leaves them as they are.
func keepFrozen(before, after *landing) *landing {
	if len(after.frozen) == 0 {
		return after
	}
	for wec, objects := range before.wecs {
		for k, ld := range objects {
			for _, policy := range ld.policies {
				if !after.frozen[wec+"/"+ld.ref.WDS+"/"+policy] {
					continue
				}
				if after.wecs[wec] == nil {
					after.wecs[wec] = map[string]*landed{}
				}
				if after.wecs[wec][k] == nil {
					after.wecs[wec][k] = ld
				}
			}
		}
	}
	return after
}

func errorLines(err error) []string {
	if err == nil {
		return nil
	}
	var errs render.Errors
	if errors.As(err, &errs) {
		out := make([]string, len(errs))
		for i, e := range errs {
			out[i] = e.Error()
		}
		return out
	}
	return []string{err.Error()}
}

func diffWECs(before, after *landing) []WECChanges {
	names := map[string]bool{}
	for w := range before.wecs {
		names[w] = true
	}
	for w := range after.wecs {
		names[w] = true
	}
	out := []WECChanges{}
	for _, wec := range slices.Sorted(maps.Keys(names)) {
		b, a := before.wecs[wec], after.wecs[wec]
		ch := WECChanges{WEC: wec, Created: []ObjectChange{}, Updated: []ObjectChange{}, Deleted: []ObjectChange{}}
		keys := map[string]bool{}
		for k := range b {
			keys[k] = true
		}
		for k := range a {
			keys[k] = true
		}
		for _, k := range slices.Sorted(maps.Keys(keys)) {
			was, is := b[k], a[k]
			switch {
			case was == nil:
				ch.Created = append(ch.Created, ObjectChange{ObjectRef: is.ref, Policies: sorted(is.policies), Diff: objectDiff(nil, is)})
			case is == nil:
				ch.Deleted = append(ch.Deleted, ObjectChange{ObjectRef: was.ref, Policies: sorted(was.policies)})
			case was.hash != is.hash:
				ch.Updated = append(ch.Updated, ObjectChange{ObjectRef: is.ref, Policies: sorted(is.policies), Diff: objectDiff(was, is)})
			}
		}
		if len(ch.Created)+len(ch.Updated)+len(ch.Deleted) > 0 {
			out = append(out, ch)
		}
	}
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// objectDiff is a unified diff of an object's YAML, from was (nil:
// created) to is. Secrets are never shown.
func objectDiff(was, is *landed) string {
	if is.ref.Group == "" && is.ref.Kind == "Secret" {
		if was == nil {
			return "(a Secret: its content is not shown)"
		}
		return "(a Secret: changed; its content is not shown)"
	}
	var from []string
	if was != nil {
		from = yamlLines(was)
	}
	diff, err := difflib.GetUnifiedDiffString(difflib.UnifiedDiff{
		A: from, B: yamlLines(is), FromFile: "base", ToFile: "head", Context: 3,
	})
	if err != nil {
		return err.Error()
	}
	return diff
}

func yamlLines(l *landed) []string {
	b, err := yaml.Marshal(l.object.Object)
	if err != nil {
		return []string{err.Error()}
	}
	return difflib.SplitLines(string(b))
}

func diffPolicies(before, after *landing) []PolicyChanges {
	keys := map[string]bool{}
	for k := range before.policies {
		keys[k] = true
	}
	for k := range after.policies {
		keys[k] = true
	}
	out := []PolicyChanges{}
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		b, a := before.policies[k], after.policies[k]
		wds, name, _ := strings.Cut(k, "/")
		ch := PolicyChanges{WDS: wds, Policy: name, Status: "changed",
			WECsGained: []string{}, WECsLost: []string{}, ObjectsGained: []ObjectRef{}, ObjectsLost: []ObjectRef{}}
		if b == nil {
			b, ch.Status = &policyLanding{}, "added"
		}
		if a == nil {
			a, ch.Status = &policyLanding{}, "removed"
		}
		ch.WECsGained, ch.WECsLost = setDiff(b.wecs, a.wecs, strings.Compare)
		ch.ObjectsGained, ch.ObjectsLost = setDiff(b.objects, a.objects, compareRefs)
		if ch.Status != "changed" || len(ch.WECsGained)+len(ch.WECsLost)+len(ch.ObjectsGained)+len(ch.ObjectsLost) > 0 {
			out = append(out, ch)
		}
	}
	return out
}

// setDiff returns what is in after and not in before, and the reverse,
// sorted (never nil).
func setDiff[T comparable](before, after []T, cmp func(a, b T) int) (gained, lost []T) {
	gained, lost = []T{}, []T{}
	in := func(list []T) map[T]bool {
		m := make(map[T]bool, len(list))
		for _, x := range list {
			m[x] = true
		}
		return m
	}
	b, a := in(before), in(after)
	for x := range a {
		if !b[x] {
			gained = append(gained, x)
		}
	}
	for x := range b {
		if !a[x] {
			lost = append(lost, x)
		}
	}
	slices.SortFunc(gained, cmp)
	slices.SortFunc(lost, cmp)
	return gained, lost
}
