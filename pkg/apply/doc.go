// Package apply puts a rendered object set into a space with server-side
// apply (fluxcd/pkg/ssa, field manager "gitstellar"), and prunes what left
// Git.
//
// CRDs and Namespaces are applied first and waited for; then the rest,
// concurrently. An object is only written when it drifted (a server-side
// dry run is compared with the live object), so an unchanged re-sync
// writes nothing. gitstellar never takes fields that another field manager
// owns: such an object is reported as a conflict, naming the manager, and
// the other objects go on — unless the object carries the annotation
// gitstellar.io/ssa: force.
//
// What was applied is recorded per (source, space) in an inventory kept in
// the space itself (ConfigMap gitstellar-system/inventory.<source>), so that
// pruning survives restarts. Pruning deletes only objects that carry this
// source's owner label and not the annotation gitstellar.io/prune: disabled.
package apply
