package devenv

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const adminUser = "gitstellar-admin"

// KubeconfigPath is the kubeconfig with one context per space, named like
// the space; its current context is the first WDS by name (wds1), or
// without a WDS the first space.
func (e *Environment) KubeconfigPath() string { return filepath.Join(e.dir, "kubeconfig") }

// spaceKubeconfig is a kubeconfig with the one context of a space, for the
// controllers that run beside its apiserver.
func (e *Environment) spaceKubeconfig(space string) string {
	return filepath.Join(e.dir, "kubeconfigs", space+".kubeconfig")
}

func (e *Environment) writeKubeconfigs() error {
	ca, err := os.ReadFile(e.pki.caCert())
	if err != nil {
		return err
	}
	cert, err := os.ReadFile(e.pki.adminCert())
	if err != nil {
		return err
	}
	key, err := os.ReadFile(e.pki.adminKey())
	if err != nil {
		return err
	}
	all := clientcmdapi.NewConfig()
	all.AuthInfos[adminUser] = &clientcmdapi.AuthInfo{ClientCertificateData: cert, ClientKeyData: key}
	if err := os.MkdirAll(filepath.Join(e.dir, "kubeconfigs"), 0o700); err != nil {
		return err
	}
	for _, sp := range e.state.Spaces {
		cluster := &clientcmdapi.Cluster{Server: sp.Server(), CertificateAuthorityData: ca}
		ctx := &clientcmdapi.Context{Cluster: sp.Name, AuthInfo: adminUser}
		all.Clusters[sp.Name] = cluster
		all.Contexts[sp.Name] = ctx

		one := clientcmdapi.NewConfig()
		one.Clusters[sp.Name] = cluster
		one.AuthInfos[adminUser] = all.AuthInfos[adminUser]
		one.Contexts[sp.Name] = ctx
		one.CurrentContext = sp.Name
		if err := clientcmd.WriteToFile(*one, e.spaceKubeconfig(sp.Name)); err != nil {
			return err
		}
	}
	all.CurrentContext = e.currentContext()
	return clientcmd.WriteToFile(*all, e.KubeconfigPath())
}

// RESTConfig returns a client configuration for a space, as the admin.
func (e *Environment) RESTConfig(space string) (*rest.Config, error) {
	if _, ok := e.Space(space); !ok {
		return nil, fmt.Errorf("dev environment %s has no space %q", e.dir, space)
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(
		&clientcmd.ClientConfigLoadingRules{ExplicitPath: e.KubeconfigPath()},
		&clientcmd.ConfigOverrides{CurrentContext: space},
	).ClientConfig()
}

// currentContext is the kubeconfig's current context: the first WDS by
// name, else the first space.
func (e *Environment) currentContext() string {
	if wds := e.Roles(RoleWDS); len(wds) > 0 {
		return slices.Min(wds)
	}
	if len(e.state.Spaces) > 0 {
		return e.state.Spaces[0].Name
	}
	return ""
}
