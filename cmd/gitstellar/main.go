// Command gitstellar drives KubeStellar's multi-cluster model from Git.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gitstellar",
		Short: "KubeStellar's multi-cluster model, driven from Git",
		Long: "gitstellar follows a Git repository that declares spaces (WDS, ITS), WECs, workloads and\n" +
			"BindingPolicies, applies them into the spaces, propagates bound workloads to the WECs and\n" +
			"commits their status back to Git.",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCommand(),
		newDevCommand(),
		newCRDsCommand(),
		newValidateCommand(),
		newRunCommand(),
		newAgentCommand(),
		newStatusCommand(),
		newPlanCommand(),
		newBenchCommand(),
	)
	return root
}

// exitError carries an exit code other than 1.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	if e := (*exitError)(nil); errors.As(err, &e) {
		return e.code
	}
	return 1
}
