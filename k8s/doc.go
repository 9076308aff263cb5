// Package k8s is K8flex's Kubernetes adapter. It satisfies
// investigate.Gatherer, and its Snapshot satisfies investigate.Snapshot.
// It has three parts, each in its own files:
//
// Reading the cluster. Reader (api.go) is the read-only access the
// collectors need; Cluster (cluster.go) implements it over the API server,
// Memory (memory.go) over recorded objects. Gatherer (gather.go, run.go)
// resolves the alert's target (resolve.go) and runs the collectors in
// phases, in parallel, each with a timeout and a size budget, through a
// read cache shared by concurrent investigations (cache.go). The
// collectors walk the object graph around the target whatever the
// category: owners up and down (owners.go, workloads.go), every pod of
// the workload, Services and EndpointSlices (services.go), Ingresses,
// HPAs, PDBs (ingress.go, autoscaling.go, disruption.go), NetworkPolicies
// (network.go), referenced ConfigMaps, Secrets (by name only), PVCs and
// ServiceAccounts (refs.go, storage.go), the nodes, quotas and limits
// (nodes.go, resources.go), the Services logs and configuration name
// (deps.go), the RBAC bindings around a ServiceAccount the pods' logs say
// is forbidden (rbac.go), and the events of all of them (events.go). The category
// decides only depth: logs (logs.go), cluster DNS (dns in network.go),
// metrics.k8s.io.
//
// Judging the evidence. Snapshot.Diagnose (diagnose.go) runs the rules,
// listed there in one table, each a pure function over the snapshot in a
// file named diagnose_<topic>.go with its test beside it; impliedCategory
// maps a rule to the category its finding is evidence of. A finding's Score
// ranks it as a root-cause candidate: a cause outranks the symptoms it
// explains. Warning events that no rule cites become findings in
// Kubernetes' own words (diagnose_events.go). vocabulary.tsv lists every
// reason Kubernetes v1.37.2 emits and coverage.tsv the rule that explains
// each; coverage_test.go keeps them in agreement.
//
// Rendering the evidence. Snapshot.Evidence (render.go, render_graph.go)
// turns the snapshot into redacted, size-bounded sections for the prompt.
package k8s
