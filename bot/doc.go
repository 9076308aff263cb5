// Package bot is K8flex's Slack adapter.
//
// It keeps one Socket Mode connection to Slack (no public endpoint needed),
// acknowledges every envelope at once and hands the work to a bounded pool
// of workers. It renders investigations as threads: a root message per
// alert or request (Block Kit: severity, alert, namespace and target,
// summary, runbook and graph links, category, who asked, status), then the
// analysis streamed into a reply, updated as chunks arrive, coalesced and
// throttled per message and across the app (chat.update is Tier 3; final
// updates go before those of analyses still streaming), split across
// messages within Slack's limits, and ending with ✅/❌ buttons and the
// similar past cases. Posts are paced per channel (about one per second,
// short bursts); a call Slack answers 429 is made again after its
// Retry-After until Slack accepts it or the bot shuts down. A thread's
// lasting messages (its root, the final analysis, notes on the root) are
// recorded in the Outbox before they are sent and delivered by one sender
// that keeps only the latest version of each message and retries with
// back-off while Slack is unreachable: an investigation that runs during
// an outage gets its thread, already final, once Slack answers, and what
// a stopped process left undelivered is sent by the next. Verdicts arrive
// as reactions or button clicks and go to a FeedbackRecorder; the App Home is a browser of the knowledge base;
// /k8flex queues investigations (in the same durable queue as alerts, run
// by the same worker pool, reported through ReporterFor in the asker's
// channel), searches the knowledge base and shows accuracy.
//
// Every untrusted text (alert labels, logs, model output) is redacted and
// escaped for mrkdwn before it reaches Slack, so a log line cannot mention
// @channel or disguise a link, and is stripped of bidirectional controls
// and zero-width characters (Unspoof), so it cannot read differently from
// what it is. Every Web API request passes unspoofTransport, which strips
// them again whatever built the request.
//
// Without Slack tokens, ConsoleReporter renders the same investigation as
// plain text for a terminal.
//
// The package declares the small interfaces it consumes (FeedbackRecorder,
// CaseLookup, MessageLinker, KnowledgeBrowser) with bot-local types, and
// consumes the engine's queue port (investigate.Enqueuer); cmd/k8flex
// adapts the knowledge base to them.
package bot
