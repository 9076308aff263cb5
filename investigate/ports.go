package investigate

import (
	"context"
)

// Gatherer collects the Kubernetes evidence a category needs about a target.
// It returns an error only when nothing can be gathered at all (for example
// an invalid target); failing collectors become Gaps in the Snapshot.
type Gatherer interface {
	Gather(ctx context.Context, t Target, c Category) (Snapshot, error)
}

// Snapshot is what a Gatherer observed. Diagnose draws deterministic
// findings from it; Evidence renders it as redacted, size-bounded sections.
type Snapshot interface {
	Diagnose() []Finding
	Evidence() Evidence
}

// AlertAware is implemented by a Snapshot whose diagnosis can use what the
// alert itself states (its labels and annotations: the throttling figure of
// CPUThrottlingHigh, the container a KubeContainerOOMKilled names) beside
// the cluster's state. The engine calls UseAlert before Diagnose, with the
// alert that started the investigation (never for a manual one).
type AlertAware interface {
	UseAlert(a *Alert)
}

// Categorizer asks a model for the category of an alert the rules are
// unsure about. The answer must be one of candidates; the engine validates
// it and falls back to the rules on any error.
type Categorizer interface {
	Categorize(ctx context.Context, a *Alert, candidates []Category) (Category, error)
}

// Analyzer writes the analysis of an investigation, streaming it chunk by
// chunk to emit in order. The concatenation of the emitted chunks equals
// the returned Analysis.Text.
type Analyzer interface {
	Name() string
	Analyze(ctx context.Context, in *AnalysisInput, emit func(chunk string)) (Analysis, error)
}

// Embedder turns texts into vectors of Dimensions() floats for similarity
// search.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
	Dimensions() int
}

// CaseStore is the knowledge base as the engine uses it: recall validated
// cases and past verdicts. The engine writes nothing: an investigation's
// result is stored once, by whoever runs it (a worker completes its case
// through Queue.Complete).
type CaseStore interface {
	FindSimilar(ctx context.Context, embedding []float32, threshold float64, topN int) ([]SimilarCase, error)
	PastFeedback(ctx context.Context, c Category, alertName string, limit int) ([]PastFeedback, error)
}

// Reporter publishes one investigation as it happens (a Slack thread, the
// terminal, a test recorder). Started is called once the request is
// categorised; Chunk receives the analysis text in order; Finished is called
// exactly once, also when the investigation failed. Errors returned by a
// Reporter are logged and never stop the investigation. A worker
// completes the case only after Finished returned, so a Reporter that owes
// the outside a final report records it durably in Finished (without
// waiting on the remote side); a case killed before its completion runs
// again, and its Reporter reports into what the earlier run opened.
type Reporter interface {
	Started(ctx context.Context, inv *Investigation) error
	Chunk(ctx context.Context, text string)
	Finished(ctx context.Context, r *Result) error
}

// MetricsSource reads the time series behind an investigation from the
// monitoring system that computed the alert (a Prometheus-API server, or a
// scenario's recorded metrics). It is optional: without one the engine runs
// on Kubernetes evidence alone. The engine calls it beside Gather, bounded
// by Options.MetricsTimeout; an error becomes a Gap ("metrics
// unavailable"), never a failed investigation.
type MetricsSource interface {
	Metrics(ctx context.Context, q MetricsQuery) (Metrics, error)
}
