// Package kb is K8flex's knowledge base and durable queue: every
// investigation as a case (its alert, analysis, redacted evidence, Slack
// thread and the messages in it, and verdict), the ✅/❌ votes people give
// it, similarity search over validated cases, accuracy statistics, the
// queue the webhook writes and the workers claim from, and the Slack
// outbox (the final messages of threads, kept until Slack took them and
// held by the process sending them, so replicas never send one twice).
//
// Two backends offer the same methods and behaviour, proven by one
// conformance suite:
//
//   - Embedded (OpenEmbedded): a single bbolt file, crash-safe, no server.
//     It is the default and serves exactly ONE process: bbolt locks the file,
//     so a second replica cannot open it. Similarity search is a brute-force
//     cosine scan over the validated embeddings kept in memory.
//   - Postgres (OpenPostgres): PostgreSQL 15+ with pgvector. Many replicas
//     share one database: migrations run under an advisory lock, the queue is
//     claimed with FOR UPDATE SKIP LOCKED and leases, search uses an HNSW
//     cosine index.
//
// kb never embeds text itself: callers pass embeddings in (RecordFeedback,
// Reembed's embed function). Only validated cases carry an embedding, so
// search only ever sees cases people confirmed. The embedding dimension is
// recorded in the store and checked at open; a changed embedder gives
// ErrDimensionMismatch, to be fixed with `k8flex kb reembed`.
//
// The queue: Enqueue records a whole webhook payload atomically and
// deduplicates on the alert's Key (fingerprint + startsAt); workers Claim
// cases under a lease (extended with Renew), then Complete, Fail or Release
// them; a dead worker's expired lease makes its case claimable again, at
// most MaxAttempts times.
//
// Storm folding (alerts of the same alert name and workload sharing one
// investigation) is done when cases are claimed, by package fold: every
// alert stays its own case here, so dedup and resolve work per alert. The
// store records which case leads each open incident (OpenIncidents), so
// replicas and a restarted process fold into the same investigation.
package kb
