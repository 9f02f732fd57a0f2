package crds

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
)

func names(list []CRD) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.Name)
	}
	return out
}

func TestForRole(t *testing.T) {
	wds, err := ForRole(RoleWDS)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"bindingpolicies.control.kubestellar.io",
		"bindings.control.kubestellar.io",
		"combinedstatuses.control.kubestellar.io",
		"customtransforms.control.kubestellar.io",
		"spaces.gitstellar.io",
		"statuscollectors.control.kubestellar.io",
	}, names(wds))

	its, err := ForRole(RoleITS)
	require.NoError(t, err)
	assert.Equal(t, []string{"deliveries.gitstellar.io", "spaces.gitstellar.io", "workloadclusters.gitstellar.io"}, names(its))

	_, err = ForRole("WEC")
	assert.ErrorContains(t, err, `role "WEC"`)
}

// The scopes and short names are KubeStellar's: a manifest written for
// KubeStellar must find the same resources.
func TestKubeStellarScopesAndShortNames(t *testing.T) {
	all, err := ForRole(RoleAll)
	require.NoError(t, err)
	want := map[string]struct {
		scope apiextensionsv1.ResourceScope
		short string
	}{
		"bindingpolicies.control.kubestellar.io":  {apiextensionsv1.ClusterScoped, "bp"},
		"bindings.control.kubestellar.io":         {apiextensionsv1.ClusterScoped, "bdg"},
		"customtransforms.control.kubestellar.io": {apiextensionsv1.ClusterScoped, "ct"},
		"statuscollectors.control.kubestellar.io": {apiextensionsv1.ClusterScoped, "sc"},
		"combinedstatuses.control.kubestellar.io": {apiextensionsv1.NamespaceScoped, "cs"},
		"workloadclusters.gitstellar.io":          {apiextensionsv1.ClusterScoped, "wec"},
		"deliveries.gitstellar.io":                {apiextensionsv1.NamespaceScoped, "dlv"},
		"spaces.gitstellar.io":                    {apiextensionsv1.ClusterScoped, ""},
	}
	require.Len(t, all, len(want))
	for _, crd := range all {
		w, ok := want[crd.Name]
		require.True(t, ok, crd.Name)
		assert.Equal(t, w.scope, crd.Spec.Scope, crd.Name)
		if w.short != "" {
			assert.Contains(t, crd.Spec.Names.ShortNames, w.short, crd.Name)
		}
		require.Len(t, crd.Spec.Versions, 1)
		assert.Equal(t, "v1alpha1", crd.Spec.Versions[0].Name)
		assert.Equal(t, "gitstellar", crd.Labels["app.kubernetes.io/managed-by"])
	}
}

func TestIncompatibility(t *testing.T) {
	wds, err := ForRole(RoleWDS)
	require.NoError(t, err)
	ours := wds[0].CustomResourceDefinition
	cases := map[string]struct {
		edit func(*apiextensionsv1.CustomResourceDefinition)
		want string
	}{
		"same":          {func(*apiextensionsv1.CustomResourceDefinition) {}, ""},
		"scope":         {func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Scope = apiextensionsv1.NamespaceScoped }, "scope Namespaced"},
		"kind":          {func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Names.Kind = "Other" }, `kind "Other"`},
		"group":         {func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Group = "example.com" }, `group "example.com"`},
		"no served":     {func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Served = false }, "version v1alpha1 not served"},
		"other version": {func(c *apiextensionsv1.CustomResourceDefinition) { c.Spec.Versions[0].Name = "v1beta1" }, "version v1alpha1 not served"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			got := ours.DeepCopy()
			tc.edit(got)
			reason := incompatibility(ours, got)
			if tc.want == "" {
				assert.Empty(t, reason)
				return
			}
			assert.Contains(t, reason, tc.want)
		})
	}
}

// TestWritesRefused: a CRD someone else installed is compatible only if it
// keeps and accepts every field gitstellar writes into its objects.
func TestWritesRefused(t *testing.T) {
	all, err := ForRole(RoleAll)
	require.NoError(t, err)
	byName := map[string]*apiextensionsv1.CustomResourceDefinition{}
	for _, c := range all {
		byName[c.Name] = c.CustomResourceDefinition
		assert.Empty(t, incompatibility(c.CustomResourceDefinition, c.DeepCopy()), "%s: what gitstellar writes passes its own CRD", c.Name)
	}
	for name := range written {
		require.Contains(t, byName, name, "a written object for a CRD gitstellar installs")
	}
	schemaOf := func(c *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.JSONSchemaProps {
		return c.Spec.Versions[0].Schema.OpenAPIV3Schema
	}
	for name, tc := range map[string]struct {
		crd  string
		edit func(*apiextensionsv1.CustomResourceDefinition)
		want string
	}{
		"a row error's WEC as a string (KubeStellar before v0.28)": {"combinedstatuses.control.kubestellar.io", func(c *apiextensionsv1.CustomResourceDefinition) {
			rowErrors := schemaOf(c).Properties["results"].Items.Schema.Properties["rowErrors"]
			rowErrors.Items.Schema.Properties["wec"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
			schemaOf(c).Properties["results"].Items.Schema.Properties["rowErrors"] = rowErrors
		}, `results[0].rowErrors[0].wec: Invalid value: "object"`},
		"conditions without a reason": {"bindingpolicies.control.kubestellar.io", func(c *apiextensionsv1.CustomResourceDefinition) {
			status := schemaOf(c).Properties["status"]
			conds := status.Properties["conditions"]
			delete(conds.Items.Schema.Properties, "reason")
			conds.Items.Schema.Required = slices.DeleteFunc(conds.Items.Schema.Required, func(s string) bool { return s == "reason" })
			status.Properties["conditions"] = conds
			schemaOf(c).Properties["status"] = status
		}, `unknown field "status.conditions[0].reason"`},
		"no status subresource": {"bindings.control.kubestellar.io", func(c *apiextensionsv1.CustomResourceDefinition) {
			c.Spec.Versions[0].Subresources = nil
		}, "version v1alpha1 has no status subresource; gitstellar writes the status"},
	} {
		t.Run(name, func(t *testing.T) {
			got := byName[tc.crd].DeepCopy()
			tc.edit(got)
			assert.Contains(t, incompatibility(byName[tc.crd], got), tc.want)
		})
	}
}
