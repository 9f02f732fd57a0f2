package report

import (
	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// Summary is the state gitstellar reports for one source: what the status
// branch holds (summary.yaml is its YAML form) and what `gitstellar
// status` prints.
type Summary struct {
	// SourceCommit is the source commit the WDS content reflects.
	SourceCommit string `json:"sourceCommit"`
	// Errors are the render and apply errors of the source's current
	// revision ("file:line: message" for repository content); when set, the
	// spaces still hold the last good revision.
	Errors []string `json:"errors,omitempty"`
	// Charts are the Helm chart releases SourceCommit rendered, each with
	// the chart version it resolved to.
	Charts []ChartSummary `json:"charts,omitempty"`
	// Spaces has one element per WDS, sorted by name.
	Spaces []SpaceSummary `json:"spaces,omitempty"`
}

// ChartSummary is one Helm chart release of the source.
type ChartSummary struct {
	// Source is the declaration: helmchart.yaml or a kustomization.
	Source     string `json:"source"`
	Release    string `json:"release"`
	Chart      string `json:"chart"`
	Version    string `json:"version"`
	Repository string `json:"repository,omitempty"`
	Digest     string `json:"digest,omitempty"`
}

// SpaceSummary is one WDS.
type SpaceSummary struct {
	Name string `json:"name"`
	// Unreachable says why the WDS, or its ITS, cannot be reached now;
	// its policies and objects are then as last seen.
	Unreachable string          `json:"unreachable,omitempty"`
	Policies    []PolicySummary `json:"policies,omitempty"`
	// Objects are the bound objects, sorted by group, kind, namespace, name.
	Objects []ObjectSummary `json:"objects,omitempty"`
}

// PolicySummary is one BindingPolicy and what it binds.
type PolicySummary struct {
	Name string `json:"name"`
	// WECs are the selected WECs, sorted.
	WECs []string `json:"wecs,omitempty"`
	// Objects are the keys of the bound objects (ObjectSummary.Key), sorted.
	Objects []string `json:"objects,omitempty"`
	// Errors are the policy's and its Binding's status errors.
	Errors []string `json:"errors,omitempty"`
}

// ObjectSummary is one bound object of a WDS and its state in each WEC.
type ObjectSummary struct {
	Group     string `json:"group"`
	Version   string `json:"version"`
	Kind      string `json:"kind"`
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name"`
	// Policies binding the object, sorted.
	Policies []string `json:"policies,omitempty"`
	// WECs has one element per WEC the object is bound to, sorted by WEC.
	WECs []WECObjectStatus `json:"wecs,omitempty"`
	// Combined are the CombinedStatus results for the object, per policy.
	Combined []PolicyCombination `json:"combined,omitempty"`
	// Redact are the JSONPaths (annotation gitstellar.io/redact on the WDS
	// object, comma-separated) removed from every returned status before
	// it leaves the cluster.
	Redact []string `json:"-"`
}

// Key is "group/kind/namespace/name" (empty parts stay empty).
func (o ObjectSummary) Key() string {
	return o.Group + "/" + o.Kind + "/" + o.Namespace + "/" + o.Name
}

// WECObjectStatus is an object's state in one WEC.
type WECObjectStatus struct {
	WEC string `json:"wec"`
	// Synced: the agent applied the object as the WDS has it now.
	Synced bool `json:"synced"`
	// Ready: the object is healthy in the WEC (kstatus Current).
	Ready bool `json:"ready"`
	// Message says why not, when not synced or not ready.
	Message string `json:"message,omitempty"`
	// Status is the WEC object's .status, when the object's policy returns
	// it (reported state or StatusCollectors). Redacted before it is
	// written anywhere.
	Status map[string]any `json:"status,omitempty"`
}

// PolicyCombination is the CombinedStatus of an object for one policy.
type PolicyCombination struct {
	Policy  string                                   `json:"policy"`
	Results []controlv1alpha1.NamedStatusCombination `json:"results,omitempty"`
}
