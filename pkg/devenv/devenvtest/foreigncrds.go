package devenvtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsv1client "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/gitstellar/gitstellar/pkg/crds"
	"github.com/gitstellar/gitstellar/pkg/devenv"
)

// ForeignWDSCRDsEnv names the environment variable that, when it holds the
// path of a YAML file of CustomResourceDefinitions, makes Start create
// those CRDs in every WDS of the environment before the test uses it, as
// another tool would have installed them (field manager ForeignCRDManager).
// gitstellar then keeps them (they are not its own) and writes its objects
// and status against their schemas: running a package's tests so checks
// gitstellar's writes against another project's CRDs of the same kinds,
// such as KubeStellar's control.kubestellar.io CRDs.
const ForeignWDSCRDsEnv = "GITSTELLAR_TEST_WDS_CRDS"

// ForeignCRDManager is the field manager of the CRDs created from
// ForeignWDSCRDsEnv.
const ForeignCRDManager = "foreign-install"

// installForeignWDSCRDs creates the CRDs of file in every WDS of e and
// returns their names.
func installForeignWDSCRDs(ctx context.Context, e *devenv.Environment, file string) ([]string, error) {
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var list []*apiextensionsv1.CustomResourceDefinition
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(raw), 4096)
	for {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := dec.Decode(crd); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("%s: %w", file, err)
		}
		if crd.Name != "" {
			list = append(list, crd)
		}
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("%s: no CustomResourceDefinition", file)
	}
	names := make([]string, len(list))
	for i, crd := range list {
		names[i] = crd.Name
	}
	err = eachWDS(e, func(wds string, client apiextensionsv1client.CustomResourceDefinitionInterface) error {
		for _, crd := range list {
			if _, err := client.Create(ctx, crd.DeepCopy(), metav1.CreateOptions{FieldManager: ForeignCRDManager}); err != nil {
				return fmt.Errorf("%s: create %s: %w", wds, crd.Name, err)
			}
		}
		if err := crds.WaitEstablished(ctx, client, names, time.Minute); err != nil {
			return fmt.Errorf("%s: %s: %w", wds, file, err)
		}
		return nil
	})
	return names, err
}

// eachWDS calls f with the CRD client of every WDS of e, until one fails.
func eachWDS(e *devenv.Environment, f func(wds string, client apiextensionsv1client.CustomResourceDefinitionInterface) error) error {
	for _, wds := range e.Roles(devenv.RoleWDS) {
		cfg, err := e.RESTConfig(wds)
		if err != nil {
			return err
		}
		client, err := apiextensionsclient.NewForConfig(cfg)
		if err != nil {
			return err
		}
		if err := f(wds, client.ApiextensionsV1().CustomResourceDefinitions()); err != nil {
			return err
		}
	}
	return nil
}

// foreignCRDsTaken lists the foreign CRDs of every WDS of e that someone
// other than ForeignCRDManager manages now: gitstellar must have kept
// them as they were.
func foreignCRDsTaken(ctx context.Context, e *devenv.Environment, names []string) ([]string, error) {
	var taken []string
	err := eachWDS(e, func(wds string, client apiextensionsv1client.CustomResourceDefinitionInterface) error {
		for _, name := range names {
			crd, err := client.Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return fmt.Errorf("%s: %w", wds, err)
			}
			for _, mf := range crd.ManagedFields {
				if mf.Manager != ForeignCRDManager && mf.Subresource == "" {
					taken = append(taken, fmt.Sprintf("%s: %s (%s)", wds, name, mf.Manager))
				}
			}
		}
		return nil
	})
	return taken, err
}
