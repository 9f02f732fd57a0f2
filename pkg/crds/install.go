package crds

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apiextensionsclient "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset"
	apiextensionsv1client "k8s.io/apiextensions-apiserver/pkg/client/clientset/clientset/typed/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	gitstellarv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/gitstellar/v1alpha1"
)

// Action is what Install did with one CRD.
type Action string

// The actions.
const (
	Created     Action = "created"
	Configured  Action = "configured"
	Unchanged   Action = "unchanged"
	KeptForeign Action = "kept" // a compatible CRD managed by someone else
)

// Result is what Install did with one CRD.
type Result struct {
	Name   string
	Action Action
	// Managers are the field managers of a CRD kept as it was.
	Managers []string
}

func (r Result) String() string {
	if r.Action == KeptForeign {
		return fmt.Sprintf("customresourcedefinition/%s kept (compatible, managed by %s)", r.Name, strings.Join(r.Managers, ", "))
	}
	return fmt.Sprintf("customresourcedefinition/%s %s", r.Name, r.Action)
}

// IncompatibleError says that a space holds a CRD of the same name as one of
// ours that is managed by someone else and does not fit ours.
type IncompatibleError struct {
	Name   string
	Reason string
}

func (e *IncompatibleError) Error() string {
	return fmt.Sprintf("customresourcedefinition %s exists and is incompatible with gitstellar's (%s); not overwritten: remove it or install into another space", e.Name, e.Reason)
}

// InstallOptions configures Install.
type InstallOptions struct {
	// EstablishTimeout bounds the wait for the CRDs to be served; default 1m.
	EstablishTimeout time.Duration
}

// Install applies the CRDs of a role into the space at cfg with server-side
// apply (field manager "gitstellar") and waits until they are established.
// It stops at the first incompatible CRD, before applying anything.
func Install(ctx context.Context, cfg *rest.Config, role Role, opts InstallOptions) ([]Result, error) {
	if opts.EstablishTimeout == 0 {
		opts.EstablishTimeout = time.Minute
	}
	want, err := ForRole(role)
	if err != nil {
		return nil, err
	}
	client, err := apiextensionsclient.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	crdClient := client.ApiextensionsV1().CustomResourceDefinitions()

	// Decide for every CRD first, so that an incompatible one stops the
	// install before anything changes.
	existing := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, crd := range want {
		got, err := crdClient.Get(ctx, crd.Name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			continue
		case err != nil:
			return nil, fmt.Errorf("get customresourcedefinition %s: %w", crd.Name, err)
		}
		if !isOurs(got) {
			if reason := incompatibility(crd.CustomResourceDefinition, got); reason != "" {
				return nil, &IncompatibleError{Name: crd.Name, Reason: reason}
			}
		}
		existing[crd.Name] = got
	}

	var results []Result
	for _, crd := range want {
		old, found := existing[crd.Name]
		if found && !isOurs(old) {
			results = append(results, Result{Name: crd.Name, Action: KeptForeign, Managers: managers(old)})
			continue
		}
		applied, err := crdClient.Patch(ctx, crd.Name, types.ApplyPatchType, crd.applyJSON, metav1.PatchOptions{
			FieldManager: gitstellarv1alpha1.FieldManager,
			Force:        ptr(found), // ours: take back fields someone edited
		})
		if err != nil {
			return results, fmt.Errorf("apply customresourcedefinition %s: %w", crd.Name, err)
		}
		action := Created
		if found {
			action = Configured
			if applied.ResourceVersion == old.ResourceVersion {
				action = Unchanged
			}
		}
		results = append(results, Result{Name: crd.Name, Action: action})
	}

	names := make([]string, len(want))
	for i, crd := range want {
		names[i] = crd.Name
	}
	return results, WaitEstablished(ctx, crdClient, names, opts.EstablishTimeout)
}

// WaitEstablished waits until every named CRD is established, for at most
// timeout.
func WaitEstablished(ctx context.Context, client apiextensionsv1client.CustomResourceDefinitionInterface, names []string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		for _, name := range names {
			got, err := client.Get(ctx, name, metav1.GetOptions{})
			if err != nil || !established(got) {
				return false, nil
			}
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("waiting for the CRDs to be established: %w", err)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }

// isOurs tells whether gitstellar manages a CRD: it carries our managed-by
// label, or our field manager applied it.
func isOurs(crd *apiextensionsv1.CustomResourceDefinition) bool {
	if crd.Labels[gitstellarv1alpha1.LabelManagedBy] == gitstellarv1alpha1.ManagedByValue {
		return true
	}
	return slices.Contains(managers(crd), gitstellarv1alpha1.FieldManager)
}

func managers(crd *apiextensionsv1.CustomResourceDefinition) []string {
	var names []string
	for _, mf := range crd.ManagedFields {
		if mf.Subresource == "" && !slices.Contains(names, mf.Manager) {
			names = append(names, mf.Manager)
		}
	}
	slices.Sort(names)
	return names
}

// incompatibility says why an existing CRD cannot serve as ours, or "":
// another group, kind or scope, a version gitstellar writes not served, or
// a schema that would drop or refuse what gitstellar writes.
func incompatibility(want, got *apiextensionsv1.CustomResourceDefinition) string {
	switch {
	case got.Spec.Group != want.Spec.Group:
		return fmt.Sprintf("group %q, want %q", got.Spec.Group, want.Spec.Group)
	case got.Spec.Names.Kind != want.Spec.Names.Kind:
		return fmt.Sprintf("kind %q, want %q", got.Spec.Names.Kind, want.Spec.Names.Kind)
	case got.Spec.Scope != want.Spec.Scope:
		return fmt.Sprintf("scope %s, want %s", got.Spec.Scope, want.Spec.Scope)
	}
	for _, v := range want.Spec.Versions {
		i := slices.IndexFunc(got.Spec.Versions, func(gv apiextensionsv1.CustomResourceDefinitionVersion) bool { return gv.Name == v.Name })
		if i < 0 || !got.Spec.Versions[i].Served {
			return fmt.Sprintf("version %s not served", v.Name)
		}
	}
	return writesRefused(want, got)
}

func established(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established && c.Status == apiextensionsv1.ConditionTrue {
			return true
		}
	}
	return false
}
