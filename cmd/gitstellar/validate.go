package main

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/printable"
	"github.com/gitstellar/gitstellar/pkg/propagate"
	"github.com/gitstellar/gitstellar/pkg/render"
)

func newValidateCommand() *cobra.Command {
	var flags renderFlags
	cmd := &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Render a checkout offline and validate it, control objects against their schemas",
		Long: "Validate renders DIR (default: the current directory) as gitstellar would, and checks\n" +
			"gitstellar's and KubeStellar's objects against the CRDs' schemas and rules. It needs no\n" +
			"cluster. Problems are printed as file:line: message, and the exit code is 1.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := "."
			if len(args) == 1 {
				dir = args[0]
			}
			res, err := render.Directory(cmd.Context(), dir, flags.options(""))
			if err == nil {
				var v *crds.Validator
				if v, err = crds.NewValidator(); err != nil {
					return err
				}
				if errs := render.Validate(cmd.Context(), res, validators{v, customTransformPaths{}}); errs != nil {
					err = errs
				}
			}
			var problems render.Errors
			if errors.As(err, &problems) {
				for _, p := range problems {
					fmt.Fprintln(cmd.OutOrStdout(), printable.TerminalLine(p.In(dir))) // one line each, hidden characters visible
				}
				return &exitError{code: 1, err: fmt.Errorf("%s: %d problem(s)", dir, len(problems))}
			}
			if err != nil {
				return err
			}
			n := 0
			for _, s := range res.Spaces {
				n += len(s.Objects)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "%s: %d objects for %d spaces, valid\n", dir, n, len(res.Spaces))
			return nil
		},
	}
	flags.bind(cmd.Flags())
	return cmd
}

// validators runs every validator that handles an object.
type validators []render.SchemaValidator

func (vs validators) Handles(gvk schema.GroupVersionKind) bool {
	return slices.ContainsFunc(vs, func(v render.SchemaValidator) bool { return v.Handles(gvk) })
}

func (vs validators) Validate(ctx context.Context, obj *unstructured.Unstructured) []string {
	var problems []string
	for _, v := range vs {
		if v.Handles(obj.GroupVersionKind()) {
			problems = append(problems, v.Validate(ctx, obj)...)
		}
	}
	return problems
}

// customTransformPaths parses a CustomTransform's paths as the transport
// will, so that a path that would be refused there fails validate.
type customTransformPaths struct{}

func (customTransformPaths) Handles(gvk schema.GroupVersionKind) bool {
	return gvk.Group == controlv1alpha1.GroupVersion.Group && gvk.Kind == "CustomTransform"
}

func (customTransformPaths) Validate(_ context.Context, obj *unstructured.Unstructured) []string {
	return propagate.CheckCustomTransform(obj)
}
