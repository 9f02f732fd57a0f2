// Package e2e holds end-to-end tests that run gitstellar the way users do:
// the gitstellar binary as a separate process, kubectl, and real
// kube-apiservers started by `gitstellar dev up`. It has no library code.
package e2e
