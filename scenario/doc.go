// Package scenario loads recorded Kubernetes incidents (the format of
// shared/scenarios/README.md: alert.json, cluster.yaml, logs/, expect.yaml,
// and optionally metrics.om: the incident's Prometheus series)
// into a file-backed cluster: a k8s.Memory holds the objects, a LogSource
// serves the recorded logs, so the engine investigates a
// recorded incident through the same collectors it runs against a real API
// server, and answers its Prometheus queries from metrics.om.
package scenario
