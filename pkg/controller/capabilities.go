package controller

import (
	"slices"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"

	"github.com/gitstellar/gitstellar/pkg/render"
)

// discoverCapabilities reads what a space serves, as Helm's .Capabilities
// has it: the server's version, and every group version ("apps/v1") and
// kind ("apps/v1/Deployment") it serves.
func discoverCapabilities(cfg *rest.Config) (*render.ChartCapabilities, error) {
	client, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	version, err := client.ServerVersion()
	if err != nil {
		return nil, err
	}
	_, lists, err := client.ServerGroupsAndResources()
	if err != nil && len(lists) == 0 {
		return nil, err
	}
	caps := &render.ChartCapabilities{KubeVersion: version.GitVersion}
	for _, l := range lists {
		caps.APIVersions = append(caps.APIVersions, l.GroupVersion)
		for _, r := range l.APIResources {
			caps.APIVersions = append(caps.APIVersions, l.GroupVersion+"/"+r.Kind)
		}
	}
	slices.Sort(caps.APIVersions)
	caps.APIVersions = slices.Compact(caps.APIVersions) // subresources repeat their kind
	return caps, nil
}
