// Package propagate carries bound objects to the WECs through the ITS: it
// transforms them with KubeStellar's rules, writes them as Deliveries into
// each WEC's mailbox namespace, and runs the WEC agent that applies them
// and reports their state back.
//
// Not implemented yet: the package only reserves its place in the data flow
// source → render → apply → bind → propagate → report.
package propagate
