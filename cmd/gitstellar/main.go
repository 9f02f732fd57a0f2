// Command gitstellar drives KubeStellar's multi-cluster model from Git.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/gitstellar/gitstellar/pkg/printable"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() { // a second Ctrl-C ends the process at once
		<-ctx.Done()
		stop()
	}()
	if err := newRootCommand().ExecuteContext(ctx); err != nil {
		// Errors may quote the repository: shown, never acted on.
		fmt.Fprintln(os.Stderr, "error:", printable.Terminal(err.Error()))
		os.Exit(exitCode(err))
	}
}

func newRootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "gitstellar",
		Short: "KubeStellar's multi-cluster model, driven from Git",
		Long: "gitstellar follows a Git repository that declares spaces (WDS, ITS), WECs, workloads and\n" +
			"BindingPolicies, applies them into the spaces, propagates bound workloads to the WECs and\n" +
			"commits their status back to Git.\n" +
			"Exit code: 0 on success; 1 when the command finds problems (each command's help says which);\n" +
			"2 on a usage error (unknown command or flag, bad flag value, wrong arguments), when the\n" +
			"command cannot do its job, or when its output cannot be written.",
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
	root.InitDefaultCompletionCmd()
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return usageError(err) }) // subcommands inherit it
	walk(root, func(cmd *cobra.Command) {
		strictArgs(cmd)
		checkOutput(cmd)
	})
	return root
}

// walk calls f on cmd and every command under it.
func walk(cmd *cobra.Command, f func(*cobra.Command)) {
	f(cmd)
	for _, c := range cmd.Commands() {
		walk(c, f)
	}
}
