// Package manifests holds no code: its directory is the kustomize base
// (base/) and overlays (overlays/embedded, overlays/postgres) that install
// K8flex on a cluster, with examples/. Its tests render every overlay with
// the real kubectl, apply it to a real API server with a server-side dry
// run, and prove the shipped ClusterRole lets K8flex's ServiceAccount read
// what the collectors read and nothing else (no Secrets, no writes).
package manifests
