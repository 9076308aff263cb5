// Package k8s is K8flex's Kubernetes adapter: client-go collectors that
// gather the object graph around an alert's target (owners up and down,
// the workload's pods, Services and EndpointSlices, Ingresses, HPAs, PDBs,
// NetworkPolicies, referenced objects, nodes, quotas and the events of
// all of them; the category decides only how deep: logs, cluster DNS,
// metrics), in parallel, each with a timeout and a size budget; the
// rule-based diagnosis that turns that evidence into findings; and the
// rendering of evidence sections. It satisfies investigate.Gatherer.
package k8s
