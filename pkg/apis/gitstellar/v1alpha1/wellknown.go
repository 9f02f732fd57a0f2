package v1alpha1

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
