// Package propagate carries bound objects to the WECs through the ITS: it
// transforms them with KubeStellar's rules, writes them as Deliveries into
// each WEC's mailbox namespace, and runs the WEC agent that applies them
// and reports their state back.
//
// The transforms are pure functions (Transforms.Transform, Path); the
// Transport and the Agent move data between the WDS, the ITS and a WEC.
package propagate
