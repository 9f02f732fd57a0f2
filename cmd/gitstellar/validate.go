package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitstellar/gitstellar/pkg/printable"
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
			opts, err := flags.options("")
			if err != nil {
				return err
			}
			res, err := render.Directory(cmd.Context(), dir, opts)
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
	flags.bindFetchCharts(cmd.Flags())
	return cmd
}
