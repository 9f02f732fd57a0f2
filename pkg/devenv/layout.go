package devenv

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/render"
)

// Layout is the set of spaces an environment runs, instead of the fixed
// its1, wds1, cluster1..N: what a repository declares (ReadLayout), or a
// test's own.
type Layout struct {
	Spaces []LayoutSpace
}

// LayoutSpace is one apiserver of a Layout.
type LayoutSpace struct {
	// Name is the space's name, which is also its kubeconfig context's:
	// a DNS-1123 subdomain (it names files and processes).
	Name string
	Role Role
}

// ReadLayout reads the spaces a repository's work tree declares, in dir
// (path: the layout's directory inside it, "" for the root), through
// os.Root: nothing outside dir is read. It reads gitstellar.yaml, spaces/
// and clusters/ only (pkg/render's SpacesOnly), never the WDS directories.
//
//   - A Space is an ITS or a WDS (spec.type), named like the kubeconfig
//     context the controller reaches it by: spec.kubeconfig.context, or
//     the Space's name. A Space whose kubeconfig is in a Secret is not run.
//   - A WorkloadCluster reached by a context (spec.kubeconfig.context) is
//     a WEC of that name. One without spec.kubeconfig (its agent runs in
//     the WEC) or with a secretRef is not run.
//
// The spaces are sorted by role (ITSes, WDSes, WECs), then by name. A
// repository that does not render, a context that cannot name a space, or
// one context for objects of different roles is an error naming each
// problem's file and line under dir.
func ReadLayout(ctx context.Context, dir, path string) (Layout, error) {
	res, err := render.Directory(ctx, dir, render.Options{Path: path, SpacesOnly: true})
	var errs render.Errors
	if errors.As(err, &errs) {
		return Layout{}, &LayoutError{Dir: filepath.Join(dir, path), Problems: errs}
	}
	if err != nil {
		return Layout{}, err
	}
	type decl struct {
		role   Role
		source render.Location
	}
	declared := map[string]decl{}
	var problems render.Errors
	add := func(kubeContext, what string, role Role, source render.Location) {
		if msgs := validation.IsDNS1123Subdomain(kubeContext); len(msgs) > 0 {
			problems = append(problems, &render.Error{Location: source, Message: fmt.Sprintf(
				"%s: the dev environment cannot run a space for kubeconfig context %q: %s", what, kubeContext, strings.Join(msgs, "; "))})
			return
		}
		prev, seen := declared[kubeContext]
		switch {
		case !seen:
			declared[kubeContext] = decl{role: role, source: source}
		case prev.role != role:
			problems = append(problems, &render.Error{Location: source, Message: fmt.Sprintf(
				"%s: kubeconfig context %q is also the %s declared at %s: one apiserver cannot be both a %s and a %s", what, kubeContext, prev.role, prev.source, prev.role, role)})
		}
	}
	for _, s := range res.Spaces {
		kubeContext := s.Name
		if kc := s.Declaration.Spec.Kubeconfig; kc != nil {
			if kc.SecretRef != nil {
				continue
			}
			kubeContext = cmp.Or(kc.Context, s.Name)
		}
		role := RoleWDS
		if s.Type == gitstellarv1alpha1.SpaceTypeITS {
			role = RoleITS
		}
		add(kubeContext, fmt.Sprintf("Space %q", s.Name), role, s.Source)
	}
	for _, s := range res.Spaces { // the Spaces first: a conflict is the WorkloadCluster's
		if s.Type != gitstellarv1alpha1.SpaceTypeITS {
			continue
		}
		for _, obj := range s.Objects {
			if obj.GroupVersionKind() != gitstellarv1alpha1.GroupVersion.WithKind("WorkloadCluster") {
				continue
			}
			var wc gitstellarv1alpha1.WorkloadCluster
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj.Object, &wc); err != nil {
				problems = append(problems, &render.Error{Location: obj.Source, Message: err.Error()})
				continue
			}
			if kc := wc.Spec.Kubeconfig; kc != nil && kc.SecretRef == nil && kc.Context != "" {
				add(kc.Context, fmt.Sprintf("WorkloadCluster %q", wc.Name), RoleWEC, obj.Source)
			}
		}
	}
	if len(problems) > 0 {
		slices.SortStableFunc(problems, func(a, b *render.Error) int {
			return cmp.Or(strings.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
		})
		return Layout{}, &LayoutError{Dir: filepath.Join(dir, path), Problems: problems}
	}
	if len(declared) > MaxSpaces {
		return Layout{}, fmt.Errorf("%s declares %d spaces the dev environment would run (Spaces, and WorkloadClusters reached by a kubeconfig context); it runs at most %d", filepath.Join(dir, path), len(declared), MaxSpaces)
	}
	var l Layout
	for name, d := range declared {
		l.Spaces = append(l.Spaces, LayoutSpace{Name: name, Role: d.role})
	}
	l.sort()
	return l, nil
}

// MaxSpaces bounds the spaces of a dev environment: a repository's layout
// declaring more is refused before anything starts.
const MaxSpaces = 32

// LayoutError is a repository whose spaces cannot be read: every problem,
// at its file and line.
type LayoutError struct {
	// Dir is the layout's directory: ReadLayout's dir, joined with path.
	Dir      string
	Problems render.Errors
}

func (e *LayoutError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.In(e.Dir)
	}
	return strings.Join(lines, "\n")
}

func (e *LayoutError) Unwrap() error { return e.Problems }

// roleOrder sorts ITSes first, then WDSes, then WECs.
func roleOrder(r Role) int {
	switch r {
	case RoleITS:
		return 0
	case RoleWDS:
		return 1
	}
	return 2
}

func compareSpaces(aName string, aRole Role, bName string, bRole Role) int {
	return cmp.Or(cmp.Compare(roleOrder(aRole), roleOrder(bRole)), strings.Compare(aName, bName))
}

func (l *Layout) sort() {
	slices.SortFunc(l.Spaces, func(a, b LayoutSpace) int { return compareSpaces(a.Name, a.Role, b.Name, b.Role) })
}

// check refuses a layout the environment cannot run.
func (l Layout) check() error {
	if len(l.Spaces) > MaxSpaces {
		return fmt.Errorf("layout: %d spaces; the dev environment runs at most %d (an apiserver each, and a controller manager, a scheduler and kwok per WEC)", len(l.Spaces), MaxSpaces)
	}
	seen := map[string]bool{}
	for _, sp := range l.Spaces {
		if msgs := validation.IsDNS1123Subdomain(sp.Name); len(msgs) > 0 {
			return fmt.Errorf("layout: space %q: %s", sp.Name, strings.Join(msgs, "; "))
		}
		switch sp.Role {
		case RoleITS, RoleWDS, RoleWEC:
		default:
			return fmt.Errorf("layout: space %q: role %q is not ITS, WDS or WEC", sp.Name, sp.Role)
		}
		if seen[sp.Name] {
			return fmt.Errorf("layout: space %q is listed twice", sp.Name)
		}
		seen[sp.Name] = true
	}
	return nil
}
