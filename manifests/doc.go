// Package manifests holds no code: its directory is the kustomize base
// (base/) and overlays (overlays/embedded, overlays/postgres) that install
// K8flex on a cluster, with examples/. Its tests render every overlay with
// the real kubectl, apply it to a real API server with a server-side dry
// run, and prove the shipped ClusterRole lets K8flex's ServiceAccount read
// what the collectors read and nothing else (no Secrets, no writes). They
// also test the Helm chart in ../charts/k8flex with the real Helm CLI
// (scripts/build-helm.sh): lint, render, a server-side dry run of the
// default and PostgreSQL values, its ClusterRole equal to the base's, and
// its Deployment's environment started as a k8flex process.
package manifests
