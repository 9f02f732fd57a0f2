// Package spaces connects to the API servers that gitstellar works with:
// the spaces (WDS and ITS) and the WECs whose agents the controller runs.
// A Space or WorkloadCluster says how it is reached (a KubeconfigSource);
// by default it is the kubeconfig context named like the object.
//
// It only builds client configurations; it does not watch or apply.
package spaces
