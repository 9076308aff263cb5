// Package investigate is K8flex's investigation engine and its domain.
//
// An investigation turns a Request (an Alertmanager alert, or a target someone
// asked about) into an Analysis: categorise → recall similar cases → gather
// evidence → diagnose → build the prompt → stream the analysis to a Reporter.
// The engine depends only on the small interfaces declared in ports.go; the
// Kubernetes, LLM, knowledge-base and Slack adapters satisfy them and are
// wired together in cmd/k8flex. This package imports none of them.
//
// queue.go declares the durable queue of investigations (Queue): the webhook
// and the Slack bot enqueue requests, the worker pool (dispatch) claims them
// and completes each case with its result — the one write of a result —
// and storm folding (fold) wraps it; the knowledge base implements it.
package investigate
