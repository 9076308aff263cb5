// Package fold folds alert storms into incidents: firing alerts with the
// same alert name, namespace and owning workload (a Deployment's pods are
// named <deployment>-<pod-template-hash>-<suffix>, a StatefulSet's
// <statefulset>-<ordinal>) within a window share one investigation, one
// Slack thread and one model call.
//
// Folding happens when workers claim queued cases (Queue wraps the durable
// queue the dispatch pool claims from), not when alerts are accepted:
// every alert stays its own durable case, deduplicated and resolvable on
// its own, and the webhook's path stays one write. A case is either the
// incident's investigation or completed as "folded into <incident>", each
// exactly once under the queue's lease: a worker that dies before it
// completes a folded case leaves it to lease expiry and another claim, as
// for any case. The incidents open in this process are kept in memory
// (bounded, expiring after the window); after a restart the first case of
// a storm claimed again opens a new incident. With several replicas on
// PostgreSQL, each replica folds its own claims (at most one investigation
// per incident and replica).
package fold
