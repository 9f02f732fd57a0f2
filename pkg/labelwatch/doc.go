// Package labelwatch watches, in one cluster, the objects a writer put
// there and marked with its label: one informer per kind, started when the
// writer first asks about that kind, holding only what a writer needs to
// know whether an object is still as it left it (identity,
// resourceVersion, labels, a few annotations, the names of its field
// managers). A writer that remembers the resourceVersion its own write
// returned can then tell, without a request, that an object is unchanged,
// and learns of anyone else's change, or of a deletion, as it happens.
//
// Kinds are watched by their metadata alone, unless the writer asks for a
// kind's status (Options.WithStatus): then the informer also holds each
// object's status and the few fields of its spec that its health is
// computed from, and the writer learns an object's health from the watch
// (Live) instead of reading it.
//
// The agent uses it in its WEC (label gitstellar.io/agent), with the
// status of every kind that has one, and the source controller's applier
// in each space (label gitstellar.io/source), by metadata. A kind
// the writer may not list and watch across the cluster is not watched:
// Lookup says so, and the writer reads such objects as before.
package labelwatch
