// Package report returns what happens in the WECs to the people who asked
// for it.
//
// A StatusController per WDS reads what the agents write into the
// Deliveries' status in the ITS (each object's apply result, health and
// .status) and writes back into the WDS, as KubeStellar does: the singleton
// and multi-WEC reported state into the workload objects, and CombinedStatus
// objects computed by StatusCollectors (CEL, compiled once per generation).
// It also keeps a Summary of every bound object in every WEC, which the
// StatusBranchWriter commits to a branch of the source repository (README,
// summary.yaml, a file per object) and `gitstellar status` reads back.
//
// Data flow: source → render → apply → bind → propagate → report.
package report
