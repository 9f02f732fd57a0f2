package spaces

import (
	"context"
	"fmt"
	"os"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// HostingConfig reaches the cluster gitstellar runs in: the in-cluster
// configuration when there is one, else the kubeconfig's current context.
func HostingConfig(kubeconfig string) (*rest.Config, error) {
	if cfg, err := rest.InClusterConfig(); err == nil {
		return cfg, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	if kubeconfig != "" {
		rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
	}
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// HostingNamespace is the namespace of the pod gitstellar runs in, or
// "default" outside a cluster.
func HostingNamespace() string {
	b, err := os.ReadFile("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
	if ns := strings.TrimSpace(string(b)); err == nil && ns != "" {
		return ns
	}
	return metav1.NamespaceDefault
}

// ReadSecret reads one Secret's data. Errors name the Secret, never its
// content.
func ReadSecret(ctx context.Context, cfg *rest.Config, namespace, name string) (map[string][]byte, error) {
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	s, err := cs.CoreV1().Secrets(namespace).Get(ctx, name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return nil, fmt.Errorf("secret %s/%s not found", namespace, name)
	case apierrors.IsForbidden(err):
		return nil, fmt.Errorf("secret %s/%s: not allowed to read it", namespace, name)
	case err != nil:
		return nil, fmt.Errorf("secret %s/%s: %w", namespace, name, err)
	}
	return s.Data, nil
}

// SecretReader reads Secrets of one cluster (for KubeconfigSource.SecretRef).
type secretReader struct{ cfg *rest.Config }

// NewSecretReader reads kubeconfigs from Secrets of the cluster at cfg.
func NewSecretReader(cfg *rest.Config) SecretReader { return secretReader{cfg: cfg} }

func (r secretReader) SecretValue(ctx context.Context, namespace, name, key string) ([]byte, error) {
	data, err := ReadSecret(ctx, r.cfg, namespace, name)
	if err != nil {
		return nil, err
	}
	v, ok := data[key]
	if !ok {
		return nil, fmt.Errorf("secret %s/%s has no key %q", namespace, name, key)
	}
	return v, nil
}
