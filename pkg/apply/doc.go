// Package apply puts a rendered object set into a space with server-side
// apply (field manager "gitstellar"), and prunes what left Git.
//
// CRDs and Namespaces are applied first and waited for (fluxcd/pkg/ssa's
// kstatus wait); then the rest, concurrently. An object is only written when
// it drifted: a server-side dry run of the apply is compared with the live
// object, so an unchanged re-sync writes nothing. gitstellar never takes
// fields that another field manager owns: the dry run is not forced, and a
// conflict is reported naming the manager while the other objects go on —
// unless the object carries the annotation gitstellar.io/ssa: force.
// (fluxcd/pkg/ssa's own Apply always forces ownership, which is why the
// apply itself is done here.)
//
// What was applied is recorded per (source, space) in an inventory kept in
// the space itself (ConfigMap gitstellar-system/inventory.<source>), so that
// pruning survives restarts. Pruning deletes only objects that carry this
// source's owner label and not the annotation gitstellar.io/prune: disabled.
package apply
