package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/gitstellar/gitstellar/e2e/bench"
)

func newBenchCommand() *cobra.Command {
	o := bench.Options{}
	var outDir string
	cmd := &cobra.Command{
		Use:   "bench [--objects N] [--wecs N]",
		Short: "Measure gitstellar against kubectl and the raw limit on local WECs",
		Long: "Bench starts a dev environment whose WECs are bare apiservers on one etcd, follows a generated\n" +
			"repository with `gitstellar run` (a separate process, push webhooks), and measures cold convergence,\n" +
			"warm latency, status lag, peak RSS and API writes per change; then, on the same objects and WECs,\n" +
			"`kubectl apply --server-side` WEC after WEC and concurrent server-side apply from one process.\n" +
			"It prints a table and writes bench.json and bench.svg (docs/performance.md).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Out = cmd.ErrOrStderr()
			res, err := bench.Run(cmd.Context(), o)
			if err != nil {
				return err
			}
			if err := res.WriteTable(cmd.OutOrStdout()); err != nil {
				return err
			}
			for name, write := range map[string]func(*os.File) error{
				"bench.json": func(f *os.File) error { return res.WriteJSON(f) },
				"bench.svg":  func(f *os.File) error { return res.WriteSVG(f) },
			} {
				f, err := os.Create(filepath.Join(outDir, name))
				if err != nil {
					return err
				}
				if err := write(f); err != nil {
					f.Close()
					return err
				}
				if err := f.Close(); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "wrote %s\n", filepath.Join(outDir, name))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.IntVar(&o.Objects, "objects", 1000, "objects in the repository")
	f.IntVar(&o.WECs, "wecs", 10, "WECs (bare apiservers on one etcd)")
	f.IntVar(&o.Changes, "changes", 20, "one-object changes for the warm latency")
	f.StringVar(&o.Dir, "dir", "", "working directory: environment, repository, logs (default: a new temporary directory)")
	f.StringVar(&outDir, "out-dir", ".", "where bench.json and bench.svg are written")
	f.BoolVar(&o.SkipBaselines, "skip-baselines", false, "measure gitstellar only, without kubectl and the raw limit (quicker; no ratios)")
	f.StringArrayVar(&o.RunArgs, "run-arg", nil, "an argument added to the gitstellar run command line, e.g. --run-arg=--pprof-addr=127.0.0.1:6060 (repeatable)")
	return cmd
}
