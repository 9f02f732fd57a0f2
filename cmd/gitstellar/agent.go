package main

import (
	"errors"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitstellar/gitstellar/pkg/metrics"
	"github.com/gitstellar/gitstellar/pkg/propagate"
)

func newAgentCommand() *cobra.Command {
	var (
		itsKubeconfig, wecKubeconfig, cluster, logFormat string
		inventoryNamespace, metricsAddr                  string
		resync                                           = propagate.AgentOptions{}.Resync
		gcPercent                                        int
	)
	cmd := &cobra.Command{
		Use:   "agent --cluster NAME --its-kubeconfig FILE [--wec-kubeconfig FILE]",
		Short: "Apply a WEC's mailbox into the WEC (for WECs the hub does not reach)",
		Long: "The agent watches the Deliveries in mailbox-NAME of the ITS, applies them into the WEC with\n" +
			"server-side apply (field manager gitstellar-agent), deletes what it created when it leaves the\n" +
			"mailbox, and reports each object's result in the Deliveries' status. It registers by renewing\n" +
			"the Lease gitstellar-agent in its mailbox: in the ITS it writes nothing outside mailbox-NAME.\n" +
			"It needs only outbound access to the ITS. An object its role in the WEC does not allow is\n" +
			"reported as not allowed; the rest is applied. `gitstellar run` runs the same agent itself for\n" +
			"WorkloadClusters that name their kubeconfig.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster == "" || itsKubeconfig == "" {
				return errors.New("--cluster and --its-kubeconfig are required")
			}
			if err := setGCPercent(cmd.Flags(), gcPercent); err != nil {
				return err
			}
			log, err := (&runOptions{logFormat: logFormat}).logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			itsCfg, err := clientcmd.BuildConfigFromFlags("", itsKubeconfig)
			if err != nil {
				return err
			}
			// No --wec-kubeconfig: the agent runs in the WEC (in-cluster).
			wecCfg, err := clientcmd.BuildConfigFromFlags("", wecKubeconfig)
			if err != nil {
				return fmt.Errorf("the WEC: %w", err)
			}
			a, err := propagate.NewAgent(propagate.AgentOptions{Cluster: cluster, ITSConfig: itsCfg, WECConfig: wecCfg, Resync: resync,
				InventoryNamespace: inventoryNamespace, Log: log})
			if err != nil {
				return err
			}
			if metricsAddr != "" {
				srv, err := metrics.Listen(cmd.Context(), metricsAddr)
				if err != nil {
					return fmt.Errorf("--metrics-addr: %w", err)
				}
				srv.SetReady(true)
				log.Info("metrics listening", "addr", srv.Addr(), "paths", "/metrics /healthz /readyz")
			}
			log.Info("agent started", "cluster", cluster)
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cluster, "cluster", "", "the WEC's name (its WorkloadCluster in the ITS)")
	f.StringVar(&itsKubeconfig, "its-kubeconfig", "", "kubeconfig of the ITS (its current context)")
	f.StringVar(&wecKubeconfig, "wec-kubeconfig", "", "kubeconfig of the WEC (its current context; default: in-cluster)")
	f.StringVar(&inventoryNamespace, "inventory-namespace", propagate.DefaultInventoryNamespace, "WEC namespace of the agent's inventory ConfigMap (created when it is the default; else it must exist)")
	f.StringVar(&metricsAddr, "metrics-addr", "", "address to serve /metrics, /healthz and /readyz on, e.g. :8080")
	f.DurationVar(&resync, "resync", 0, "how often everything is applied again, correcting drift (default 30s)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	addGCFlag(f, &gcPercent)
	return cmd
}
