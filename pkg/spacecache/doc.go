// Package spacecache shares informers among the components that read one
// space (a WDS or an ITS) in one process: the bind controller, the
// transport, the status controller, the cluster monitor and the in-process
// agents ask a space's Cache for the objects they watch, and those that
// ask for the same resource, namespace and label selector get the same
// informer, its objects decoded and held once.
//
// A Cache owns its informers' lifetime: they run from Start until its
// context ends, whoever asked for them, so that a component stopping
// (an agent whose WEC left the repository) does not stop what the others
// read. A component built without a shared Cache makes its own.
package spacecache
