// Package render turns a checked-out revision of the repository into one
// object set per space, following the repository layout
// (examples/repo-layout/README.md):
//
//	spaces/*.yaml      Space objects; each is applied into the space it describes
//	clusters/*.yaml    WorkloadClusters; each is applied into the ITS it names
//	<wds-name>/**      the objects of that WDS: plain YAML/JSON, multi-document,
//	                   recursively; a directory holding a kustomization.yaml is
//	                   rendered by kustomize as a whole; one holding a
//	                   helmchart.yaml, by the chart releases it declares
//	                   (a directory holding Chart.yaml is a chart)
//	gitstellar.yaml    optional settings (ignore patterns)
//
// Rendering is all or nothing: a revision with any error yields no objects
// and every error, each naming its file and line. Rendering reads files
// only: it needs no cluster and changes nothing, so `gitstellar validate`
// and `gitstellar plan` use it as the controller does.
package render
