// Package propagate carries bound objects to the WECs through the ITS: it
// transforms them with KubeStellar's rules, writes them as Deliveries into
// each WEC's mailbox namespace, and runs the WEC agent that applies them
// and reports their state back.
//
// Implemented so far: the transforms (Transforms.Transform and the JSONPath
// removal of CustomTransforms), as pure functions. The transport controller
// and the WEC agent are not written yet.
package propagate
