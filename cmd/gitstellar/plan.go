package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/plan"
	"github.com/gitstellar/gitstellar/pkg/render"
	"github.com/gitstellar/gitstellar/pkg/source"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

type planOptions struct {
	repo, path, base, head string
	format                 string
	failOn                 []string
	inventoryFrom          string
	kubeconfig             string
	render                 renderFlags
	maxOutput              resource.Quantity
}

func newPlanCommand() *cobra.Command {
	o := planOptions{}
	cmd := &cobra.Command{
		Use:   "plan [--base REV] [--head REV]",
		Short: "Show, without a cluster, what a change does to every WEC and BindingPolicy",
		Long: "Plan renders two revisions of a repository (default: HEAD and the working tree), resolves the\n" +
			"Bindings of both against the WorkloadClusters the repository declares, applies the transforms each\n" +
			"WEC would receive, and lists per WEC the objects created, updated (with a diff) and deleted, per\n" +
			"BindingPolicy the WECs and objects gained and lost, and warnings. Secret values are never shown.\n" +
			"Exit code: 0; 1 when --fail-on matches; 2 when the repository or a revision cannot be read.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return o.run(cmd) },
	}
	f := cmd.Flags()
	f.StringVar(&o.repo, "repo", ".", "a local clone")
	f.StringVar(&o.path, "path", "", "sub-directory of the repository that holds the layout")
	f.StringVar(&o.base, "base", "HEAD", "the revision before the change (a branch, tag, commit, origin/main, HEAD~1...)")
	f.StringVar(&o.head, "head", "", "the revision after the change (default: the working tree)")
	f.StringVar(&o.format, "format", "text", "text, markdown (a pull-request comment) or json (docs/plan.md)")
	f.StringSliceVar(&o.failOn, "fail-on", nil, "exit 1 on: warnings, deletions (comma-separated)")
	f.StringVar(&o.inventoryFrom, "inventory-from", "", "read the WorkloadClusters from this kubeconfig context (a live ITS) instead of the repository")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig for --inventory-from (default: $KUBECONFIG or ~/.kube/config)")
	o.render.bind(f)
	o.render.bindFetchCharts(f)
	o.maxOutput = resource.MustParse("64Mi")
	f.Var(quantityValue{&o.maxOutput}, "max-output", "the most bytes a plan prints; a longer plan is cut and exits 2 (Markdown keeps to a pull-request comment's size on its own)")
	return cmd
}

func (o *planOptions) run(cmd *cobra.Command) error {
	if !slices.Contains([]string{"text", "markdown", "json"}, o.format) {
		return &exitError{code: 2, err: fmt.Errorf("--format %q: want text, markdown or json", o.format)}
	}
	for _, f := range o.failOn {
		if f != "warnings" && f != "deletions" {
			return &exitError{code: 2, err: fmt.Errorf("--fail-on %q: want warnings or deletions", f)}
		}
	}
	top, err := source.Toplevel(o.repo)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	base, err := o.revision(cmd.Context(), top, o.base)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	head, err := o.revision(cmd.Context(), top, o.head)
	if err != nil {
		return &exitError{code: 2, err: err}
	}
	var inventory plan.Inventory
	if o.inventoryFrom != "" {
		if inventory, err = o.liveInventory(cmd.Context()); err != nil {
			return &exitError{code: 2, err: err}
		}
	}
	p := plan.Compute(base, head, inventory)
	out := &cappedWriter{w: cmd.OutOrStdout(), left: o.maxOutput.Value()}
	switch o.format {
	case "markdown":
		err = p.WriteMarkdown(out)
	case "json":
		err = p.WriteJSON(out)
	default:
		err = p.WriteText(out)
	}
	if err != nil {
		if errors.Is(err, errOverCap) {
			return &exitError{code: 2, err: fmt.Errorf("the plan is over --max-output %s and was cut: raise it, or plan a smaller change", o.maxOutput.String())}
		}
		return err
	}
	switch {
	case slices.Contains(o.failOn, "warnings") && len(p.Warnings) > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d warning(s)", len(p.Warnings))}
	case slices.Contains(o.failOn, "deletions") && p.Deletions() > 0:
		return &exitError{code: 1, err: fmt.Errorf("%d object(s) deleted from WECs", p.Deletions())}
	}
	return nil
}

// revision renders a revision of the repository ("" is the working tree).
// A revision is read from the Git object store, the working tree through
// os.Root: neither reaches outside the repository. A revision that does
// not render is returned with its errors.
func (o *planOptions) revision(ctx context.Context, top, rev string) (plan.Revision, error) {
	var (
		res  *render.Result
		err  error
		name = "working tree"
	)
	opts, err := o.render.options(o.path)
	if err != nil {
		return plan.Revision{}, err
	}
	if rev == "" {
		res, err = render.Directory(ctx, top, opts)
	} else {
		tree, commit, terr := source.OpenRevision(top, rev)
		if terr != nil {
			return plan.Revision{}, terr
		}
		name = fmt.Sprintf("%s (%s)", rev, commit[:12])
		res, err = render.Render(ctx, tree, opts)
	}
	if err != nil {
		var errs render.Errors
		if !errors.As(err, &errs) {
			return plan.Revision{}, err
		}
		if o.path != "" {
			for _, e := range errs {
				e.File = path.Join(o.path, e.File)
			}
		}
		return plan.Revision{Name: name, Err: errs}, nil
	}
	return plan.Revision{Name: name, Result: res}, nil
}

// errOverCap is a cappedWriter's error once its bytes are spent.
var errOverCap = errors.New("output limit reached")

// cappedWriter passes on at most left bytes.
type cappedWriter struct {
	w    io.Writer
	left int64
}

func (c *cappedWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > c.left {
		n, err := c.w.Write(p[:c.left])
		c.left -= int64(n)
		if err == nil {
			err = errOverCap
		}
		return n, err
	}
	n, err := c.w.Write(p)
	c.left -= int64(n)
	return n, err
}

// quantityValue is a size flag (64Mi).
type quantityValue struct{ q *resource.Quantity }

func (v quantityValue) String() string { return v.q.String() }
func (v quantityValue) Type() string   { return "SIZE" }
func (v quantityValue) Set(s string) error {
	q, err := resource.ParseQuantity(s)
	if err != nil || q.Sign() <= 0 {
		return fmt.Errorf("%q: want a positive size such as 64Mi", s)
	}
	*v.q = q
	return nil
}

// liveInventory reads the WorkloadClusters of a live ITS; they stand for
// the inventory of every ITS of the repository.
func (o *planOptions) liveInventory(ctx context.Context) (plan.Inventory, error) {
	cfg, err := spaces.Connector{Kubeconfig: o.kubeconfig}.Config(ctx, o.inventoryFrom, nil)
	if err != nil {
		return nil, fmt.Errorf("--inventory-from %s: %w", o.inventoryFrom, err)
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(gitstellarv1alpha1.GroupVersion.WithResource("workloadclusters")).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("--inventory-from %s: %w", o.inventoryFrom, err)
	}
	var wecs []plan.WEC
	for _, u := range list.Items {
		wecs = append(wecs, plan.WEC{Name: u.GetName(), Labels: u.GetLabels(), Annotations: u.GetAnnotations()})
	}
	return plan.Inventory{plan.AnyITS: wecs}, nil
}
