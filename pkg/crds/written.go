package crds

import (
	"context"
	"fmt"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// written holds, per CRD, one object with every field gitstellar writes
// into objects of that kind (their spec for the kinds it makes, their
// status for every kind), so that a CRD someone else installed (say,
// KubeStellar's own) is checked against what it would be given: a field
// it would drop or a value it would refuse makes it incompatible.
var written = map[string]string{
	"bindings.control.kubestellar.io": `
apiVersion: control.kubestellar.io/v1alpha1
kind: Binding
metadata:
  name: web
  labels: {app.kubernetes.io/managed-by: gitstellar, gitstellar.io/binding-policy: web}
  annotations: {gitstellar.io/binding-parts: "2", gitstellar.io/deletion: orphan}
  ownerReferences: [{apiVersion: control.kubestellar.io/v1alpha1, kind: BindingPolicy, name: web, uid: 6f1c0a52-3f7e-4b7e-9d43-2f1bbd5b9c11, controller: true, blockOwnerDeletion: true}]
spec:
  workload:
    clusterScope:
    - {group: "", version: v1, resource: namespaces, name: web, resourceVersion: "12", createOnly: true, wantSingletonReportedState: true, wantMultiWECReportedState: true, statusCollectors: [ready]}
    namespaceScope:
    - {group: apps, version: v1, resource: deployments, namespace: web, name: web, resourceVersion: "13", statusCollectors: [ready]}
  destinations: [{clusterId: edge1}]
status:
  observedGeneration: 3
  errors: ["edge1: unreachable: the WEC cannot be reached"]
  conditions:
  - {type: Synced, status: "True", reason: ReconcileSuccess, message: Deliveries written for 1 WECs, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: StatusCollectorsAvailable, status: "False", reason: ReconcileError, message: "Missing StatusCollector(s) [ready]", lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: Ready, status: Unknown, reason: WaitingForWECs, message: waiting for 1 WEC, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
	"bindingpolicies.control.kubestellar.io": `
apiVersion: control.kubestellar.io/v1alpha1
kind: BindingPolicy
metadata: {name: web}
spec:
  clusterSelectors: [{matchLabels: {location: edge}}]
  downsync: [{objectSelectors: [{matchLabels: {app: web}}]}]
status:
  observedGeneration: 2
  errors: ['Singleton reported status return is requested but some objects have the wrong number of associated WECs, for example: [{"ObjectID":{"GVK":{"Group":"apps","Version":"v1","Kind":"Deployment"},"Resource":"deployments","ObjectName":{"Namespace":"app","Name":"web"}},"NumWECs":2}]']
  conditions:
  - {type: Synced, status: "True", reason: ReconcileSuccess, message: Binding web is up to date, lastTransitionTime: "2026-01-01T00:00:00Z"}
  - {type: Ready, status: "False", reason: ReconcileError, message: a WEC could not apply, lastTransitionTime: "2026-01-01T00:00:00Z"}
`,
	"combinedstatuses.control.kubestellar.io": `
apiVersion: control.kubestellar.io/v1alpha1
kind: CombinedStatus
metadata:
  name: 6f1c0a52-3f7e-4b7e-9d43-2f1bbd5b9c11.0b5d2d0e-9a53-4f4e-8d7c-1e2f3a4b5c6d
  namespace: web
  labels: {status.kubestellar.io/api-group: apps, status.kubestellar.io/resource: deployments, status.kubestellar.io/namespace: web, status.kubestellar.io/name: web, status.kubestellar.io/binding-policy: web}
results:
- name: ready
  columnNames: [wecs, available]
  rows:
  - columns: [{type: Number, float: "2"}, {type: String, string: edge1}, {type: Bool, bool: true}, {type: "Null"}, {type: Object, object: {a: 1}}, {type: Array, array: [1]}]
  rowErrors: [{wec: {clusterId: edge1}, columnName: available, error: no such key}]
  aggregationErrors: [{columnName: wecs, error: "not a number: \"x\""}]
`,
	"statuscollectors.control.kubestellar.io": `
apiVersion: control.kubestellar.io/v1alpha1
kind: StatusCollector
metadata: {name: ready}
spec: {combinedFields: [{name: wecs, type: COUNT}], limit: 20}
status: {observedGeneration: 2, errors: ["spec.select[0].def: 1:17: Syntax error"]}
`,
	"customtransforms.control.kubestellar.io": `
apiVersion: control.kubestellar.io/v1alpha1
kind: CustomTransform
metadata: {name: t}
spec: {apiGroup: "", resource: configmaps, remove: ["$.data.debug"]}
status: {observedGeneration: 2, errors: ["spec.remove[0]: path \"$\": removing the whole object is not allowed"]}
`,
}

// writesRefused says why a CRD would drop or refuse what gitstellar writes
// into objects of its kind, or "": it compiles the CRD's schema for each
// version gitstellar writes and validates the object of written against
// it, as that CRD's apiserver would.
func writesRefused(want, got *apiextensionsv1.CustomResourceDefinition) string {
	sample, ok := written[want.Name]
	for _, v := range want.Spec.Versions {
		var gv *apiextensionsv1.CustomResourceDefinitionVersion
		for i := range got.Spec.Versions {
			if got.Spec.Versions[i].Name == v.Name {
				gv = &got.Spec.Versions[i]
			}
		}
		if gv == nil {
			continue // incompatibility says so
		}
		if v.Subresources != nil && v.Subresources.Status != nil && (gv.Subresources == nil || gv.Subresources.Status == nil) {
			return fmt.Sprintf("version %s has no status subresource; gitstellar writes the status", v.Name)
		}
		if !ok || gv.Schema == nil || gv.Schema.OpenAPIV3Schema == nil {
			continue
		}
		kv, err := compile(gv.Schema)
		if err != nil {
			return fmt.Sprintf("version %s: its schema does not compile: %v", v.Name, err)
		}
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(sample), &obj); err != nil {
			return fmt.Sprintf("the written %s does not decode: %v", want.Spec.Names.Kind, err) // a bug here, not in the CRD
		}
		u := &unstructured.Unstructured{Object: obj}
		u.SetAPIVersion(want.Spec.Group + "/" + v.Name)
		if problems := kv.validate(context.Background(), u); len(problems) > 0 {
			return fmt.Sprintf("version %s would drop or refuse what gitstellar writes: %s", v.Name, strings.Join(problems, "; "))
		}
	}
	return ""
}
