package main

import (
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/gitstellar/gitstellar/pkg/devenv"
	"github.com/gitstellar/gitstellar/pkg/k8sbinaries"
)

func newDevCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dev",
		Short: "Run real local spaces and WECs (etcd + kube-apiserver processes) on this machine",
	}
	cmd.AddCommand(newDevUpCommand(), newDevStatusCommand(), newDevDownCommand(), newDevBinariesCommand())
	return cmd
}

func stateDirFlag(cmd *cobra.Command, dir *string) {
	cmd.Flags().StringVar(dir, "state-dir", devenv.DefaultStateDir, "directory of the environment's state, logs and kubeconfig")
}

func newDevUpCommand() *cobra.Command {
	opts := devenv.Options{}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start its1, wds1 and cluster1..N, or the spaces a repository declares, or restart what died",
		Long: "Up starts one etcd and one kube-apiserver per space: its1, wds1 and cluster1..N (--wecs), or\n" +
			"with --repo the Spaces of the repository's spaces/ and the WorkloadClusters of its clusters/\n" +
			"reached by a kubeconfig context, each named like its context. Run again, it restarts what\n" +
			"died and, with --repo, starts the spaces declared since; the spaces no longer declared keep\n" +
			"running until --prune stops and removes them (docs/dev-environment.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			out := cmd.OutOrStdout()
			opts.WECsSet = cmd.Flags().Changed("wecs")
			if opts.Repo != "" && !opts.WECsSet {
				opts.WECs = 0 // the repository declares them
			}
			opts.Progress = out
			start := time.Now()
			env, err := devenv.Up(cmd.Context(), opts)
			var contradicting devenv.OptionsError
			if errors.As(err, &contradicting) {
				return usageError(err)
			}
			if err != nil {
				return err
			}
			var names []string
			for _, sp := range env.Spaces() {
				names = append(names, sp.Name)
			}
			if len(env.Started()) == 0 {
				fmt.Fprintf(out, "dev environment already running in %s: %s\n", env.Dir(), strings.Join(names, ", "))
			} else {
				fmt.Fprintf(out, "dev environment ready in %s (%s): %s\n", time.Since(start).Round(100*time.Millisecond), env.Dir(), strings.Join(names, ", "))
			}
			if pruned := env.Pruned(); len(pruned) > 0 {
				fmt.Fprintf(out, "stopped and removed (no longer in the repository): %s\n", strings.Join(pruned, ", "))
			}
			if removed := env.Removed(); len(removed) > 0 {
				repo, path := env.Repo()
				fmt.Fprintln(out, removedOffer(removed, repo, path, opts.StateDir))
			}
			fmt.Fprintf(out, "\nNext:\n  export KUBECONFIG=%s\n", env.KubeconfigPath())
			if wecs := env.WECs(); len(wecs) > 0 {
				fmt.Fprintf(out, "  kubectl --context %s get nodes\n", wecs[0])
			}
			var crds []string
			for _, its := range env.Roles(devenv.RoleITS) {
				crds = append(crds, "--its "+its)
			}
			for _, wds := range env.Roles(devenv.RoleWDS) {
				crds = append(crds, "--wds "+wds)
			}
			if len(crds) > 0 {
				fmt.Fprintf(out, "  gitstellar crds install %s\n", strings.Join(crds, " "))
			}
			fmt.Fprintf(out, "  gitstellar dev status --state-dir %s\n  gitstellar dev down --state-dir %s\n", opts.StateDir, opts.StateDir)
			return nil
		},
	}
	stateDirFlag(cmd, &opts.StateDir)
	cmd.Flags().IntVar(&opts.WECs, "wecs", 2, "number of WECs (cluster1..clusterN), without --repo")
	cmd.Flags().StringVar(&opts.Repo, "repo", "", "run the spaces this repository's work tree declares (spaces/, and clusters/ for the WECs reached by a kubeconfig context)")
	cmd.Flags().StringVar(&opts.Path, "path", "", "the layout's directory inside --repo")
	cmd.Flags().BoolVar(&opts.Prune, "prune", false, "with --repo, stop the spaces the repository no longer declares and remove them from the state and the kubeconfig")
	cmd.Flags().BoolVar(&opts.Bare, "bare", false, "run only etcd and the apiservers: no controllers or fake nodes in the WECs")
	cmd.Flags().DurationVar(&opts.ReadyTimeout, "timeout", 3*time.Minute, "how long to wait for every process to be ready")
	return cmd
}

// removedOffer lists the spaces the repository no longer declares and
// how to stop them.
func removedOffer(removed []string, repo, path, stateDir string) string {
	if repo == "" {
		repo = "DIR"
	}
	args := []string{"gitstellar", "dev", "up", "--repo", shellQuote(repo)}
	if path != "" {
		args = append(args, "--path", shellQuote(path))
	}
	if stateDir != devenv.DefaultStateDir {
		args = append(args, "--state-dir", shellQuote(stateDir))
	}
	return fmt.Sprintf("not in the repository any more: %s (still running; stop them with: %s --prune)",
		strings.Join(removed, ", "), strings.Join(args, " "))
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./=:@%+,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

func newDevStatusCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "status",
		Short: "List the environment's processes and whether each is ready",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := devenv.Load(dir)
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "PROCESS\tPID\tSTATE\tENDPOINT")
			down := 0
			for _, ps := range env.Status(cmd.Context()) {
				state, pid := "ready", fmt.Sprint(ps.PID)
				switch {
				case ps.PID == 0:
					state, pid, down = "not running", "-", down+1
				case !ps.Ready:
					state, down = "not ready", down+1
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", ps.Name, pid, state, ps.Endpoint)
			}
			tw.Flush()
			fmt.Fprintf(cmd.OutOrStdout(), "kubeconfig: %s\n", env.KubeconfigPath())
			if down > 0 {
				return &exitError{code: 1, err: fmt.Errorf("%d process(es) not ready; `gitstellar dev up --state-dir %s` restarts what died (logs in %s/logs)", down, dir, env.Dir())}
			}
			return nil
		},
	}
	stateDirFlag(cmd, &dir)
	return cmd
}

func newDevDownCommand() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "down",
		Short: "Stop the environment's processes and remove its state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := devenv.Load(dir)
			if devenv.IsNotFound(err) {
				fmt.Fprintf(cmd.OutOrStdout(), "no dev environment in %s\n", dir)
				return nil
			}
			if err != nil {
				return err
			}
			if err := env.Down(cmd.Context()); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "dev environment in %s stopped and removed\n", env.Dir())
			return nil
		},
	}
	stateDirFlag(cmd, &dir)
	return cmd
}

func newDevBinariesCommand() *cobra.Command {
	var bare, noBuild bool
	cmd := &cobra.Command{
		Use:   "binaries [NAME...]",
		Short: "Find, or build once from the Go module proxy, the Kubernetes programs the environment runs",
		Long: "Binaries prints the path of each program (default: those `dev up` runs; --bare: etcd and\n" +
			"kube-apiserver; or the NAMEs given, kubectl among them), building the missing ones into\n" +
			"the cache. With one NAME it prints the path alone.",
		RunE: func(cmd *cobra.Command, args []string) error {
			need := k8sbinaries.All
			if bare {
				need = k8sbinaries.Hub
			}
			if len(args) > 0 {
				need = nil
				for _, a := range args {
					need = append(need, k8sbinaries.Name(a))
				}
			}
			set, err := k8sbinaries.Ensure(cmd.Context(), k8sbinaries.Options{Need: need, Progress: cmd.ErrOrStderr(), NoBuild: noBuild})
			if err != nil {
				var nf *k8sbinaries.NotFoundError
				if errors.As(err, &nf) {
					return &exitError{code: 2, err: err}
				}
				return err
			}
			if len(args) == 1 {
				fmt.Fprintln(cmd.OutOrStdout(), set.Path(need[0]))
				return nil
			}
			for _, n := range need {
				fmt.Fprintf(cmd.OutOrStdout(), "%s\t%s\n", n, set.Path(n))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&bare, "bare", false, "only etcd and kube-apiserver")
	cmd.Flags().BoolVar(&noBuild, "no-build", false, "fail instead of building a missing program")
	return cmd
}
