package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/metrics"
	"github.com/k8flex/k8flex/scenario"
)

// commonFlags are the flags every engine-running command accepts.
type commonFlags struct {
	configPath *string
	llm        *string
	model      *string
	baseURL    *string
	logLevel   *string
	// extra are overrides set by a command's own flags, by config key.
	extra map[string]any
}

func addCommonFlags(fs *flag.FlagSet) *commonFlags {
	return &commonFlags{
		configPath: fs.String("config", "", "YAML configuration file (keys as in the README; K8FLEX_* env vars override it)"),
		llm:        fs.String("llm", "", "analysis provider: builtin, ollama, openai, anthropic, gemini, bedrock (llm.provider)"),
		model:      fs.String("model", "", "model name (llm.model)"),
		baseURL:    fs.String("llm-base-url", "", "provider endpoint, e.g. an OpenAI-compatible server (llm.base_url)"),
		logLevel:   fs.String("log-level", "", "trace, debug, info, warn, error (log.level)"),
		extra:      map[string]any{},
	}
}

// config loads the configuration with the flags' overrides applied.
func (c *commonFlags) config() (Config, error) {
	o := map[string]any{}
	for k, v := range c.extra {
		o[k] = v
	}
	set := func(key string, v *string) {
		if v != nil && *v != "" {
			o[key] = *v
		}
	}
	set("llm.provider", c.llm)
	set("llm.model", c.model)
	set("llm.base_url", c.baseURL)
	set("log.level", c.logLevel)
	return loadConfig(*c.configPath, o)
}

// newLogger builds the process logger. quiet commands (demo, eval) log
// warnings and above only unless log.level asks for more.
func newLogger(c LogConfig, w io.Writer, quiet bool) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(c.Level)
	if err != nil || c.Level == "" {
		lvl = zerolog.InfoLevel
	}
	if quiet && lvl == zerolog.InfoLevel {
		lvl = zerolog.WarnLevel
	}
	if c.Format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: "15:04:05", NoColor: !isTerminal(w)}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// analyzers are the configured analysis ports: the analyzer (the
// built-in one, or a model with the built-in analysis as its fallback),
// the built-in analyser for evidence that needs no model, and, for a
// model, the categorizer the engine asks when its rules are unsure.
type analyzers struct {
	analyzer    investigate.Analyzer
	builtin     investigate.Analyzer
	categorizer investigate.Categorizer
}

func newAnalyzers(cfg Config, log zerolog.Logger) (analyzers, error) {
	builtin := llm.NewBuiltin()
	if !cfg.LLM.UsesModel() {
		return analyzers{analyzer: builtin, builtin: builtin}, nil
	}
	model, err := llm.NewAnalyzer(cfg.LLM, log)
	if err != nil {
		return analyzers{}, fmt.Errorf("llm: %w", err)
	}
	// The categorizer shares the analyzer's provider limits.
	return analyzers{analyzer: llm.WithFallback(model, builtin, log), builtin: builtin, categorizer: model.Categorizer()}, nil
}

// newEngine builds the engine from the configuration and its ports; ms,
// emb and st are optional (no metrics or no recall without them). The
// engine stores nothing: serve's workers complete each case with its
// result, the demo records its own.
func newEngine(cfg Config, g investigate.Gatherer, ms investigate.MetricsSource, a analyzers, emb investigate.Embedder,
	st investigate.CaseStore, log zerolog.Logger) (*investigate.Engine, error) {
	o := investigate.Options{Gatherer: g, Analyzer: a.analyzer, Builtin: a.builtin, Categorizer: a.categorizer,
		Embedder: emb, Store: st, Log: log, Metrics: ms, MetricsTimeout: cfg.Prometheus.Timeout,
		SimilarThreshold: cfg.Engine.SimilarThreshold, SimilarTopN: cfg.Engine.SimilarTopN,
		PromptMaxTokens: cfg.Engine.PromptMaxTokens, GatherTimeout: cfg.Engine.GatherTimeout,
		AnalyzeTimeout: cfg.Engine.AnalyzeTimeout}
	return investigate.New(o)
}

func gathererOptions(cfg Config, log zerolog.Logger) k8s.Options {
	return k8s.Options{
		CollectorTimeout: cfg.Kube.CollectorTimeout,
		CacheTTL:         cfg.Kube.CacheTTL,
		Budget:           k8s.Budget{SectionBytes: cfg.Kube.SectionBytes, TotalBytes: cfg.Kube.TotalBytes, LogLines: cfg.Kube.LogLines},
		Log:              log,
	}
}

// liveMetrics is the metrics port of an investigation of a live cluster:
// the configured Prometheus, or without prometheus.url a source that
// reports the metrics as unavailable (a gap in every investigation).
func liveMetrics(cfg Config) (investigate.MetricsSource, error) {
	if !cfg.Prometheus.Enabled() {
		return metrics.Unavailable{Reason: "prometheus.url is not set"}, nil
	}
	p, err := metrics.NewPrometheus(cfg.Prometheus)
	if err != nil {
		return nil, err
	}
	return metrics.NewSource(p, cfg.Prometheus, time.Now), nil
}

// scenarioMetrics is the metrics port of a recorded incident: its
// metrics.om, else the configured Prometheus (a replay loaded into a real
// API server and Prometheus), else none: the replay runs as recorded.
func scenarioMetrics(cfg Config, sc *scenario.Scenario) (investigate.MetricsSource, error) {
	if ms := sc.MetricsSource(cfg.Prometheus); ms != nil {
		return ms, nil
	}
	if cfg.Prometheus.Enabled() {
		return liveMetrics(cfg)
	}
	return nil, nil
}
