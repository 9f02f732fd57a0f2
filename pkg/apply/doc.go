// Package apply is gitstellar's one apply engine: it puts objects into a
// space (the source controller's Applier) or a WEC (the agent), with
// server-side apply under one field manager per applier.
//
// A Target is one apiserver. It applies a set in two stages: CRDs,
// Namespaces and ClusterRoles first, waited for (fluxcd/pkg/ssa's kstatus
// wait), then the rest, concurrently, with the requests in flight sized to
// the apiserver by their latency and throttling. It watches the objects
// that carry its label (metadata only) and remembers what it verified: an
// object whose content is as last applied and whose live version is as
// verified (or moved by a status write only) costs no request; any other
// is applied in one request, whose resourceVersion tells whether it changed
// anything. It never takes fields another field manager owns: a conflict
// is reported naming the manager while the other objects go on, unless
// the object carries gitstellar.io/ssa: force — or, on an Exclusive target
// (a WEC, whose copies follow the WDS), the object is the applier's own
// or its entry adopts it; there an object that exists and is not the
// applier's, or that Flux or Argo CD manage, is left alone. (fluxcd/pkg/
// ssa's own Apply always forces ownership, which is why the apply itself
// is done here.)
//
// What was applied is recorded in an Inventory kept in the target itself
// (InventoryStore: a ConfigMap, one format for every applier), so that
// pruning survives restarts. The Applier prunes only objects that carry
// its source's owner label and not the annotation gitstellar.io/prune:
// disabled; the agent deletes only what the hub removed.
package apply
