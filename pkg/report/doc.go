// Package report returns what happens in the WECs: singleton and multi-WEC
// reported state and CombinedStatus objects in the WDS, and a status branch
// committed to Git.
//
// Not implemented yet: the package only reserves its place in the data flow
// source → render → apply → bind → propagate → report.
package report
