package spaces

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

func kubeconfig(t *testing.T, servers map[string]string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.AuthInfos["u"] = &clientcmdapi.AuthInfo{Token: "not-a-real-token"}
	for name, server := range servers {
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: "u"}
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	require.NoError(t, clientcmd.WriteToFile(*cfg, path))
	return path
}

type secrets map[string][]byte

func (s secrets) SecretValue(_ context.Context, ns, name, key string) ([]byte, error) {
	v, ok := s[ns+"/"+name+"/"+key]
	if !ok {
		return nil, errors.New("not found")
	}
	return v, nil
}

func TestConfig(t *testing.T) {
	path := kubeconfig(t, map[string]string{"wds1": "https://127.0.0.1:1001", "hub-a": "https://127.0.0.1:1002"})
	secretKubeconfig, err := clientcmd.Write(clientcmdapi.Config{
		Clusters:       map[string]*clientcmdapi.Cluster{"c": {Server: "https://127.0.0.1:1003"}},
		AuthInfos:      map[string]*clientcmdapi.AuthInfo{"u": {Token: "secret-token-value"}},
		Contexts:       map[string]*clientcmdapi.Context{"c": {Cluster: "c", AuthInfo: "u"}},
		CurrentContext: "c",
	})
	require.NoError(t, err)
	conn := Connector{Kubeconfig: path, Secrets: secrets{
		"gitstellar/wec-kc/kubeconfig":  secretKubeconfig,
		"gitstellar/garbage/kubeconfig": []byte("secret-token-value: ["),
		"gitstellar/empty/kubeconfig":   nil,
	}}
	ctx := context.Background()

	cases := map[string]struct {
		name    string
		src     *gitstellarv1alpha1.KubeconfigSource
		server  string
		wantErr string
	}{
		"default: the context named like the space": {name: "wds1", server: "https://127.0.0.1:1001"},
		"an explicit context":                       {name: "wds1", src: &gitstellarv1alpha1.KubeconfigSource{Context: "hub-a"}, server: "https://127.0.0.1:1002"},
		"a missing context":                         {name: "its9", wantErr: `its9: no context "its9" in ` + path},
		"a Secret":                                  {name: "cluster1", src: &gitstellarv1alpha1.KubeconfigSource{SecretRef: &gitstellarv1alpha1.SecretKeyReference{Namespace: "gitstellar", Name: "wec-kc"}}, server: "https://127.0.0.1:1003"},
		"a missing Secret":                          {name: "cluster1", src: &gitstellarv1alpha1.KubeconfigSource{SecretRef: &gitstellarv1alpha1.SecretKeyReference{Namespace: "gitstellar", Name: "nope", Key: "kc"}}, wantErr: `cluster1: secret gitstellar/nope key "kc": not found`},
		"an empty Secret":                           {name: "cluster1", src: &gitstellarv1alpha1.KubeconfigSource{SecretRef: &gitstellarv1alpha1.SecretKeyReference{Namespace: "gitstellar", Name: "empty"}}, wantErr: "empty"},
		"a Secret that is not a kubeconfig":         {name: "cluster1", src: &gitstellarv1alpha1.KubeconfigSource{SecretRef: &gitstellarv1alpha1.SecretKeyReference{Namespace: "gitstellar", Name: "garbage"}}, wantErr: "not a valid kubeconfig"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			cfg, err := conn.Config(ctx, tc.name, tc.src)
			if tc.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.wantErr)
				assert.NotContains(t, err.Error(), "secret-token-value", "secret values never appear in errors")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.server, cfg.Host)
		})
	}

	_, err = Connector{Kubeconfig: path}.Config(ctx, "cluster1", &gitstellarv1alpha1.KubeconfigSource{SecretRef: &gitstellarv1alpha1.SecretKeyReference{Namespace: "a", Name: "b"}})
	assert.ErrorContains(t, err, "only read when running in a cluster")
}
