package spaces

import (
	"context"
	"errors"
	"fmt"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// SecretReader reads one key of a Secret: how a controller running in a
// cluster reaches spaces whose kubeconfig is in a Secret.
type SecretReader interface {
	SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error)
}

// Connector builds client configurations from KubeconfigSources.
type Connector struct {
	// Kubeconfig is the path of the kubeconfig holding the contexts; empty
	// uses the default loading rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string
	// Secrets reads kubeconfigs referenced by secretRef; nil refuses them.
	Secrets SecretReader
}

// Config returns the client configuration of the object called name
// (a Space or a WorkloadCluster) reached as src says; nil src means the
// context called name.
func (c Connector) Config(ctx context.Context, name string, src *gitstellarv1alpha1.KubeconfigSource) (*rest.Config, error) {
	context := name
	if src != nil && src.SecretRef != nil {
		return c.fromSecret(ctx, name, src.SecretRef)
	}
	if src != nil && src.Context != "" {
		context = src.Context
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if c.Kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: c.Kubeconfig}
	}
	raw, err := rules.Load()
	if err != nil {
		return nil, fmt.Errorf("%s: load kubeconfig: %w", name, err)
	}
	if _, ok := raw.Contexts[context]; !ok {
		where := c.Kubeconfig
		if where == "" {
			where = "the default kubeconfig"
		}
		return nil, fmt.Errorf("%s: no context %q in %s", name, context, where)
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{CurrentContext: context}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("%s: context %q: %w", name, context, err)
	}
	return cfg, nil
}

func (c Connector) fromSecret(ctx context.Context, name string, ref *gitstellarv1alpha1.SecretKeyReference) (*rest.Config, error) {
	key := ref.Key
	if key == "" {
		key = "kubeconfig"
	}
	where := fmt.Sprintf("secret %s/%s key %q", ref.Namespace, ref.Name, key)
	if c.Secrets == nil {
		return nil, fmt.Errorf("%s: %s: kubeconfigs in Secrets are only read when running in a cluster", name, where)
	}
	data, err := c.Secrets.SecretValue(ctx, ref.Namespace, ref.Name, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", name, where, err)
	}
	if len(data) == 0 {
		return nil, fmt.Errorf("%s: %s: %w", name, where, errEmpty)
	}
	cfg, err := clientcmd.RESTConfigFromKubeConfig(data)
	if err != nil {
		// The parse error may quote the content: do not pass it on.
		return nil, fmt.Errorf("%s: %s: not a valid kubeconfig", name, where)
	}
	return cfg, nil
}

var errEmpty = errors.New("empty")

// Rated returns a copy of a client configuration with gitstellar's
// controllers' request rate (500/s, bursts of 1,000) unless it sets its
// own: client-go's default of 5/s would make a sync of thousands of
// objects take minutes, and the apiserver's priority and fairness protects
// it.
func Rated(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	if c.QPS == 0 {
		c.QPS, c.Burst = 500, 1000
	}
	return c
}
