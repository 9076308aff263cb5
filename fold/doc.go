// Package fold folds alert storms into incidents: firing alerts with the
// same alert name, namespace and owning workload (a Deployment's pods are
// named <deployment>-<pod-template-hash>-<suffix>, a StatefulSet's
// <statefulset>-<ordinal>) within a window share one investigation, one
// Slack thread and one model call.
//
// Folding happens when workers claim queued cases (Queue wraps the durable
// queue, investigate.Queue, and is one: the worker pool claims from it),
// not when alerts are accepted:
// every alert stays its own durable case, deduplicated and resolvable on
// its own, and the webhook's path stays one write. A case is either the
// incident's investigation or completed as "folded into <incident>", each
// exactly once under the queue's lease: a worker that dies before it
// completes a folded case leaves it to lease expiry and another claim, as
// for any case. Which case leads each open incident is recorded in the
// registry the wrapped queue shares (Incidents; the knowledge base, so
// replicas on one PostgreSQL and a restarted process agree on one
// investigation per incident), and cached in memory (bounded, expiring
// after the window). Without a registry, or while it fails, each process
// folds what it claims itself. The count of folded alerts shown on an
// incident's thread is per process.
package fold
