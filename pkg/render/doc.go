// Package render turns a revision of the repository into one object set per
// space: plain YAML/JSON and kustomize overlays, with errors that name the
// file and line. A revision with any error renders nothing.
//
// Not implemented yet: the package only reserves its place in the data flow
// source → render → apply → bind → propagate → report.
package render
