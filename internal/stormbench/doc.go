// Package stormbench holds the alert-storm benchmarks of K8flex (no
// library code): an in-process stack wired as `k8flex serve` wires it
// (webhook, embedded durable queue, storm folding, bounded worker pool,
// engine) against a real kube-apiserver from internal/apiservertest, and
// the serving binary itself as a subprocess for its peak memory. Figures
// and commands are in BENCHMARKS.md at the repository root.
package stormbench
