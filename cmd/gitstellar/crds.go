package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/spaces"
)

func newCRDsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "crds",
		Short: "Print or install gitstellar's CustomResourceDefinitions",
	}
	cmd.AddCommand(newCRDsPrintCommand(), newCRDsInstallCommand())
	return cmd
}

func newCRDsPrintCommand() *cobra.Command {
	var role string
	cmd := &cobra.Command{
		Use:   "print",
		Short: "Print the CRDs as YAML",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			list, err := crds.ForRole(crds.Role(role))
			if err != nil {
				return err
			}
			y, err := crds.YAML(list)
			if err != nil {
				return err
			}
			_, err = cmd.OutOrStdout().Write(y)
			return err
		},
	}
	cmd.Flags().StringVar(&role, "role", string(crds.RoleAll), "which CRDs: WDS, ITS or all")
	return cmd
}

func newCRDsInstallCommand() *cobra.Command {
	var (
		kubeconfig string
		wds, its   []string
	)
	cmd := &cobra.Command{
		Use:   "install --wds CONTEXT --its CONTEXT",
		Short: "Install the CRDs into spaces with server-side apply",
		Long: "Install applies the CRDs a WDS or an ITS needs into the spaces reached through the given\n" +
			"kubeconfig contexts, and waits until they are served. `gitstellar run` does this itself at start.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if len(wds)+len(its) == 0 {
				return fmt.Errorf("name at least one space: --wds CONTEXT or --its CONTEXT")
			}
			conn := spaces.Connector{Kubeconfig: kubeconfig}
			install := func(context string, role crds.Role) error {
				cfg, err := conn.Config(cmd.Context(), context, nil)
				if err != nil {
					return err
				}
				results, err := crds.Install(cmd.Context(), cfg, role, crds.InstallOptions{})
				for _, r := range results {
					fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", context, r)
				}
				if err != nil {
					return fmt.Errorf("%s: %w", context, err)
				}
				return nil
			}
			for _, c := range its {
				if err := install(c, crds.RoleITS); err != nil {
					return err
				}
			}
			for _, c := range wds {
				if err := install(c, crds.RoleWDS); err != nil {
					return err
				}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig holding the contexts (default: $KUBECONFIG or ~/.kube/config)")
	cmd.Flags().StringArrayVar(&wds, "wds", nil, "context of a WDS (repeatable)")
	cmd.Flags().StringArrayVar(&its, "its", nil, "context of an ITS (repeatable)")
	return cmd
}
