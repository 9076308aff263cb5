// Package server builds K8flex's processes from a config.Config. Server is
// the whole `k8flex serve` process (store, engine, worker pool over the
// durable queue, storm folding, HTTP edge, Slack bot with its outbox,
// thread notes): New, Run, Close. Beside it are the parts every command
// shares (OpenStore, OpenKnowledge, NewAnalyzers, NewEngine, the cluster
// and metrics sources, ChartFiles) and the one-shot runs the other
// commands call: Investigate (one investigation streamed to a writer),
// Doctor (the checklist of a configuration), PrintKnowledgeStats,
// ExportKnowledge, ImportKnowledge and ReembedKnowledge. It is the one
// package that imports the adapters together; nothing but cmd/k8flex and
// the commands' packages (eval, demo) imports it.
package server
