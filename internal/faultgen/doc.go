// Package faultgen generates a fault-injection corpus of incident scenarios
// in the shared scenario format (alert.json, cluster.yaml, logs/,
// expect.yaml; see package scenario).
//
// Each scenario starts from a healthy base cluster built as typed client-go
// objects with status — nodes with their Leases, workloads with their owner
// chain (Deployment → ReplicaSet → Pod, StatefulSet → Pod + PVC → PV,
// DaemonSet, CronJob → Job → Pod), Services with Endpoints and
// EndpointSlices derived from the pods, ConfigMaps, NetworkPolicies, HPAs,
// PDBs, Ingresses, ResourceQuotas and LimitRanges — and injects exactly one
// fault, written the way Kubernetes itself reports it: pod and container
// states, conditions and Events in the wording of the kubelet, the scheduler
// and the controllers, and the application's own log lines. The alert is
// the kube-prometheus-stack alert the fault raises (often a symptom far
// from the cause), and expect.yaml holds the verdict known by construction:
// the category and the root-cause keyword groups naming the object, the bad
// value and the mechanism.
//
// Generation is deterministic for a seed: names, namespaces, images, ports,
// replica counts and noise (unrelated crash-looping pods, old warning
// events, healthy neighbours) are drawn from it, so the variants of a fault
// class differ from each other and from run to run only when the seed does.
package faultgen
