package v1alpha1

import (
	"strconv"
	"strings"
)

// MailboxNamespacePrefix starts the name of every WEC's mailbox namespace in
// its ITS.
const MailboxNamespacePrefix = "mailbox-"

// MailboxNamespace returns the name of the mailbox namespace of a WEC.
func MailboxNamespace(wec string) string { return MailboxNamespacePrefix + wec }

// Labels and annotations in the gitstellar.io domain.
const (
	// FieldManager is the field manager of everything the controller applies
	// into the spaces.
	FieldManager = "gitstellar"
	// AgentFieldManager is the field manager of the WEC agents.
	AgentFieldManager = "gitstellar-agent"

	// LabelManagedBy marks objects gitstellar manages, with value "gitstellar".
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByValue is the value of LabelManagedBy on objects gitstellar manages.
	ManagedByValue = "gitstellar"

	// LabelWDS, LabelBinding and LabelCluster mark a Delivery with its source
	// WDS, its Binding and its destination WEC.
	LabelWDS     = "gitstellar.io/wds"
	LabelBinding = "gitstellar.io/binding"
	LabelCluster = "gitstellar.io/cluster"
	// LabelBindingPolicy names, on the parts of a policy's Binding after
	// the first (BindingPartName), the BindingPolicy they belong to.
	LabelBindingPolicy = "gitstellar.io/binding-policy"
	// AnnotationBindingParts on a policy's Binding counts its parts when
	// it has more than one (BindingPartName).
	AnnotationBindingParts = "gitstellar.io/binding-parts"
	// LabelAgent marks, in a WEC, the objects its agent applied, with the
	// WEC's name as the value; the agent watches them by it.
	LabelAgent = "gitstellar.io/agent"

	// AnnotationPrune with value "disabled" keeps an object in its space
	// when it leaves Git.
	AnnotationPrune = "gitstellar.io/prune"
	// AnnotationSSA with value "force" lets gitstellar take fields another
	// field manager owns.
	AnnotationSSA = "gitstellar.io/ssa"
	// AnnotationAdopt with value "true" lets a WEC agent take over an object
	// it did not create.
	AnnotationAdopt = "gitstellar.io/adopt"
	// AdoptUnmanaged is the AnnotationAdopt value of a BindingPolicy (and
	// its Binding) that takes over, for every object the policy binds, an
	// object in the WEC that no other GitOps tool manages: KubeStellar's
	// behaviour. gitstellar.yaml's `adopt: unmanaged` puts it on every
	// BindingPolicy of the repository that has no AnnotationAdopt.
	AdoptUnmanaged = "unmanaged"
	// AnnotationDeletion with value "orphan" (DeletionOrphan) keeps the WEC
	// copy of an object when it is unbound. On a BindingPolicy it applies to
	// every object the policy binds.
	AnnotationDeletion = "gitstellar.io/deletion"
	// DeletionOrphan is the AnnotationDeletion value that keeps WEC copies.
	DeletionOrphan = "orphan"
	// DeletionWithContents, on a Namespace, lets a WEC agent delete it when
	// the hub removes it even though it holds objects the agent did not
	// deliver (which it otherwise leaves, and reports).
	DeletionWithContents = "with-contents"
	// AnnotationSentAt on a Delivery is when the transport saw the change
	// it carries (RFC 3339); the agent measures propagation latency from it.
	AnnotationSentAt = "gitstellar.io/sent-at"
	// AnnotationAgentVersion, AnnotationWECVersion and AnnotationWECError
	// on an agent's Lease (AgentLeaseName) say which agent serves the WEC,
	// the WEC's Kubernetes version, and why the agent cannot reach the WEC
	// (empty when it can).
	AnnotationAgentVersion = "gitstellar.io/agent-version"
	AnnotationWECVersion   = "gitstellar.io/wec-version"
	AnnotationWECError     = "gitstellar.io/wec-error"
)

// AgentLeaseName is the Lease a WEC's agent renews in its mailbox
// namespace: its registration and heartbeat.
const AgentLeaseName = "gitstellar-agent"

// BindingPartName names part n (from 0) of a BindingPolicy's Binding. A
// policy binding more objects than one Binding can list (etcd bounds an
// object's size) has several: part 0 is KubeStellar's Binding, named like
// the policy; part n after it is named <policy>.part-<n+1>.
func BindingPartName(policy string, n int) string {
	if n == 0 {
		return policy
	}
	return policy + ".part-" + strconv.Itoa(n+1)
}

// BindingPartOf reads a Binding name made by BindingPartName for a part
// after the first: the policy and the part's number (ok false for any
// other name, the first part's included).
func BindingPartOf(name string) (policy string, n int, ok bool) {
	i := strings.LastIndex(name, ".part-")
	if i <= 0 {
		return "", 0, false
	}
	n, err := strconv.Atoi(name[i+len(".part-"):])
	if err != nil || n < 2 || strconv.Itoa(n) != name[i+len(".part-"):] {
		return "", 0, false
	}
	return name[:i], n - 1, true
}
