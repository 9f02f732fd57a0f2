package main

import (
	"errors"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/gitstellar/gitstellar/pkg/propagate"
)

func newAgentCommand() *cobra.Command {
	var (
		itsKubeconfig, wecKubeconfig, cluster, logFormat string
		resync                                           = propagate.AgentOptions{}.Resync
	)
	cmd := &cobra.Command{
		Use:   "agent --cluster NAME --its-kubeconfig FILE --wec-kubeconfig FILE",
		Short: "Apply a WEC's mailbox into the WEC (for WECs the hub does not reach)",
		Long: "The agent watches the Deliveries in mailbox-NAME of the ITS, applies them into the WEC with\n" +
			"server-side apply (field manager gitstellar-agent), deletes what it created when it leaves the\n" +
			"mailbox, and reports each object's result in the Deliveries' status. It needs only outbound\n" +
			"access to the ITS. `gitstellar run` runs the same agent itself for WorkloadClusters that name\n" +
			"their kubeconfig.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cluster == "" || itsKubeconfig == "" || wecKubeconfig == "" {
				return errors.New("--cluster, --its-kubeconfig and --wec-kubeconfig are required")
			}
			log, err := (&runOptions{logFormat: logFormat}).logger(cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			itsCfg, err := clientcmd.BuildConfigFromFlags("", itsKubeconfig)
			if err != nil {
				return err
			}
			wecCfg, err := clientcmd.BuildConfigFromFlags("", wecKubeconfig)
			if err != nil {
				return err
			}
			a, err := propagate.NewAgent(propagate.AgentOptions{Cluster: cluster, ITSConfig: itsCfg, WECConfig: wecCfg, Resync: resync, Log: log})
			if err != nil {
				return err
			}
			log.Info("agent started", "cluster", cluster)
			return a.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&cluster, "cluster", "", "the WEC's name (its WorkloadCluster in the ITS)")
	f.StringVar(&itsKubeconfig, "its-kubeconfig", "", "kubeconfig of the ITS (its current context)")
	f.StringVar(&wecKubeconfig, "wec-kubeconfig", "", "kubeconfig of the WEC (its current context)")
	f.DurationVar(&resync, "resync", 0, "how often everything is applied again, correcting drift (default 30s)")
	f.StringVar(&logFormat, "log-format", "text", "log format: text or json")
	return cmd
}
