package server

import (
	"fmt"
	"github.com/k8flex/k8flex/chart"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/metrics"
	"github.com/k8flex/k8flex/scenario"
)

// Analyzers are the configured analysis ports: the analyzer (the
// built-in one, or a model with the built-in analysis as its fallback),
// the built-in analyser for evidence that needs no model, and, for a
// model, the categorizer the engine asks when its rules are unsure.
type Analyzers struct {
	analyzer    investigate.Analyzer
	builtin     investigate.Analyzer
	categorizer investigate.Categorizer
}

// Name is the analyzer's name (the provider and model, or "builtin").
func (a Analyzers) Name() string { return a.analyzer.Name() }

// NewAnalyzers builds the analysis ports that cfg.LLM configures.
func NewAnalyzers(cfg config.Config, log zerolog.Logger) (Analyzers, error) {
	builtin := llm.NewBuiltin()
	if !cfg.LLM.UsesModel() {
		return Analyzers{analyzer: builtin, builtin: builtin}, nil
	}
	model, err := llm.NewAnalyzer(cfg.LLM, log)
	if err != nil {
		return Analyzers{}, fmt.Errorf("llm: %w", err)
	}
	// The categorizer shares the analyzer's provider limits.
	return Analyzers{analyzer: llm.WithFallback(model, builtin, log), builtin: builtin, categorizer: model.Categorizer()}, nil
}

// NewEngine builds the engine from the configuration and its ports; ms,
// emb and st are optional (no metrics or no recall without them). The
// engine stores nothing: serve's workers complete each case with its
// result, the demo records its own.
func NewEngine(cfg config.Config, g investigate.Gatherer, ms investigate.MetricsSource, a Analyzers, emb investigate.Embedder,
	st investigate.CaseStore, log zerolog.Logger) (*investigate.Engine, error) {
	o := investigate.Options{Gatherer: g, Analyzer: a.analyzer, Builtin: a.builtin, Categorizer: a.categorizer,
		Embedder: emb, Store: st, Log: log, Metrics: ms, MetricsTimeout: cfg.Prometheus.Timeout, Charts: chart.New(chart.Options{}),
		SimilarThreshold: cfg.Engine.SimilarThreshold, SimilarTopN: cfg.Engine.SimilarTopN,
		PromptMaxTokens: cfg.Engine.PromptMaxTokens, GatherTimeout: cfg.Engine.GatherTimeout,
		AnalyzeTimeout: cfg.Engine.AnalyzeTimeout}
	return investigate.New(o)
}

func GathererOptions(cfg config.Config, log zerolog.Logger) k8s.Options {
	return k8s.Options{
		CollectorTimeout: cfg.Kube.CollectorTimeout,
		CacheTTL:         cfg.Kube.CacheTTL,
		Budget:           k8s.Budget{SectionBytes: cfg.Kube.SectionBytes, TotalBytes: cfg.Kube.TotalBytes, LogLines: cfg.Kube.LogLines},
		Log:              log,
	}
}

// LiveMetrics is the metrics port of an investigation of a live cluster:
// the configured Prometheus, or without prometheus.url a source that
// reports the metrics as unavailable (a gap in every investigation).
func LiveMetrics(cfg config.Config) (investigate.MetricsSource, error) {
	if !cfg.Prometheus.Enabled() {
		return metrics.Unavailable{Reason: "prometheus.url is not set"}, nil
	}
	p, err := metrics.NewPrometheus(cfg.Prometheus)
	if err != nil {
		return nil, err
	}
	return metrics.NewSource(p, cfg.Prometheus, time.Now), nil
}

// ScenarioMetrics is the metrics port of a recorded incident: its
// metrics.om, else the configured Prometheus (a replay loaded into a real
// API server and Prometheus), else none: the replay runs as recorded.
func ScenarioMetrics(cfg config.Config, sc *scenario.Scenario) (investigate.MetricsSource, error) {
	if ms := sc.MetricsSource(cfg.Prometheus); ms != nil {
		return ms, nil
	}
	if cfg.Prometheus.Enabled() {
		return LiveMetrics(cfg)
	}
	return nil, nil
}
