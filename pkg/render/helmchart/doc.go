// Package helmchart renders Helm charts with Helm's Go SDK; no helm
// binary is involved.
//
// A chart is repository content, and its templates are a program: a loop
// of `until 1000000000` or a recursive `include` would hold a process's
// CPU and memory for as long as it likes, and Go templates cannot be
// interrupted. So every chart is rendered in a child process of the
// running binary (the same executable, started with an environment
// variable that makes this package's init serve one render and exit),
// bounded in wall-clock time, CPU time, address space and output size. A
// render over a bound is killed and refused with the bound named.
//
// The child reads nothing but its request: the chart's files and values
// come on its standard input. Templates get no cluster (`lookup` finds
// nothing), no DNS (`getHostByName` is empty), no environment (Helm
// removes `env` and `expandenv`). values.schema.json is not evaluated:
// Helm's validator follows `$ref`s to files and URLs.
package helmchart
