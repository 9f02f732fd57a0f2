package report

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"

	controlv1alpha1 "github.com/gitstellar/gitstellar/pkg/apis/control/v1alpha1"
)

// CombinedStatusFor builds the CombinedStatus object of a (workload object,
// BindingPolicy) pair in KubeStellar's exact shape: its namespace is the
// object's namespace, or "kubestellar-report" for a cluster-scoped object;
// its name is "<workloadUID>.<bindingPolicyUID>"; its labels
// status.kubestellar.io/api-group, /resource, /namespace, /name and
// /binding-policy say which object and policy it is about; results are
// copied and sorted by collector name.
//
// The labels hold the values verbatim, as KubeStellar does: the core group
// ("" in a GroupVersionResource) gives an empty api-group label, which is a
// valid label value, and a cluster-scoped object an empty namespace label.
// KubeStellar sets no label value longer than the 63 characters Kubernetes
// allows either, so its API server refuses the CombinedStatus of an object
// (or policy) whose name is longer; we instead shorten such a value to its
// first characters, a dash and 8 hex digits of its SHA-256, so the object
// can be written and the value stays recognisable and distinct. The
// CombinedStatus's name, built from UIDs, is what identifies the pair.
func CombinedStatusFor(group, resource, namespace, name string, objectUID types.UID, policy string, policyUID types.UID, results []controlv1alpha1.NamedStatusCombination) *controlv1alpha1.CombinedStatus {
	csNamespace := namespace
	if csNamespace == "" {
		csNamespace = controlv1alpha1.CombinedStatusNamespaceForClusterScoped
	}
	cs := &controlv1alpha1.CombinedStatus{
		TypeMeta: metav1.TypeMeta{
			APIVersion: controlv1alpha1.GroupVersion.String(),
			Kind:       "CombinedStatus",
		},
		ObjectMeta: metav1.ObjectMeta{
			Namespace: csNamespace,
			Name:      string(objectUID) + "." + string(policyUID),
			Labels: map[string]string{
				controlv1alpha1.LabelCombinedStatusAPIGroup:      combinedStatusLabelValue(group),
				controlv1alpha1.LabelCombinedStatusResource:      combinedStatusLabelValue(resource),
				controlv1alpha1.LabelCombinedStatusNamespace:     combinedStatusLabelValue(namespace),
				controlv1alpha1.LabelCombinedStatusName:          combinedStatusLabelValue(name),
				controlv1alpha1.LabelCombinedStatusBindingPolicy: combinedStatusLabelValue(policy),
			},
		},
	}
	for i := range results {
		cs.Results = append(cs.Results, *results[i].DeepCopy())
	}
	slices.SortStableFunc(cs.Results, func(a, b controlv1alpha1.NamedStatusCombination) int {
		return strings.Compare(a.Name, b.Name)
	})
	return cs
}

// combinedStatusLabelValue returns value when it is a valid label value, and
// otherwise a valid label value derived from it: its longest prefix that
// starts and ends with an alphanumeric character and leaves room for a dash
// and 8 hex digits of the value's SHA-256 (only the hash if there is none).
func combinedStatusLabelValue(value string) string {
	if len(validation.IsValidLabelValue(value)) == 0 {
		return value
	}
	sum := sha256.Sum256([]byte(value))
	hash := hex.EncodeToString(sum[:4])
	prefix := value[:min(len(value), validation.LabelValueMaxLength-len(hash)-1)]
	isAlnum := func(r rune) bool {
		return r < 0x80 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}
	prefix = strings.TrimFunc(prefix, func(r rune) bool { return !isAlnum(r) })
	if prefix == "" || len(validation.IsValidLabelValue(prefix)) > 0 {
		return hash
	}
	return prefix + "-" + hash
}
