// Package memo keeps values computed from Kubernetes objects (a decoded
// spec, a parsed status) per object and version, so that a controller
// reading the same version again from its informer does not decode it
// again.
package memo
