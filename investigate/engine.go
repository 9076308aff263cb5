package investigate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/redact"
)

// Options configure an Engine. Gatherer and Analyzer are required; every
// other port is optional and its stage is skipped when nil.
type Options struct {
	Gatherer Gatherer
	Analyzer Analyzer
	// Builtin, when set, writes the analysis instead of Analyzer when the
	// evidence leaves nothing for a model to reason about: the target no
	// longer exists and at most one finding says so. In a storm of alerts
	// for deleted pods this keeps the model bill at zero.
	Builtin     Analyzer
	Categorizer Categorizer
	Embedder    Embedder
	Store       CaseStore
	// Metrics, when set, adds the time series behind the alert to the
	// evidence and the diagnosis (see MetricsSource); nil = none.
	Metrics MetricsSource
	// Charts, when set, draws the plots a MetricsSource returns (the
	// series behind its findings) into Result.Charts; nil = no charts.
	Charts ChartRenderer

	Log zerolog.Logger

	// SimilarThreshold and SimilarTopN bound the recall of past cases
	// (defaults 0.75 and 5); FeedbackLimit bounds past feedback (default 5).
	SimilarThreshold float64
	SimilarTopN      int
	FeedbackLimit    int
	// PromptMaxTokens bounds the prompt (0 = DefaultPromptMaxTokens).
	PromptMaxTokens int

	// Stage timeouts (defaults: categorize 20s, recall 5s, gather 30s,
	// metrics 5s, analyze 5m).
	CategorizeTimeout time.Duration
	RecallTimeout     time.Duration
	GatherTimeout     time.Duration
	MetricsTimeout    time.Duration
	AnalyzeTimeout    time.Duration

	// Now and NewID make tests deterministic (defaults time.Now and a
	// random 16-hex-digit id).
	Now   func() time.Time
	NewID func() string
}

// DefaultPromptMaxTokens is the prompt budget when none is configured: room
// for the findings and the most important evidence of any category.
const DefaultPromptMaxTokens = 12000

// Engine runs investigations. It is safe for concurrent use.
type Engine struct {
	o Options
}

// New returns an engine, or an error naming the missing required option.
func New(o Options) (*Engine, error) {
	if o.Gatherer == nil {
		return nil, errors.New("investigate: Options.Gatherer is required")
	}
	if o.Analyzer == nil {
		return nil, errors.New("investigate: Options.Analyzer is required")
	}
	if o.SimilarThreshold == 0 {
		o.SimilarThreshold = 0.75
	}
	if o.SimilarTopN == 0 {
		o.SimilarTopN = 5
	}
	if o.FeedbackLimit == 0 {
		o.FeedbackLimit = 5
	}
	if o.PromptMaxTokens == 0 {
		o.PromptMaxTokens = DefaultPromptMaxTokens
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.CategorizeTimeout, 20*time.Second)
	def(&o.RecallTimeout, 5*time.Second)
	def(&o.GatherTimeout, 30*time.Second)
	def(&o.MetricsTimeout, 5*time.Second)
	def(&o.AnalyzeTimeout, 5*time.Minute)
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.NewID == nil {
		o.NewID = randomID
	}
	return &Engine{o: o}, nil
}

// AnalyzerName returns the name of the configured analyzer.
func (e *Engine) AnalyzerName() string { return e.o.Analyzer.Name() }

// Run investigates one request and reports it to rep (which may be nil).
// It always returns a Result; the error is non-nil only when the analysis
// could not be written at all (the Result then carries Err). Failing
// optional stages (recall, feedback, a failed collector) are logged and
// recorded in the Result, never fatal. Run stores nothing: the caller owns
// the one write of the result (a worker completes its case through
// Queue.Complete, from rep's Finished, before the investigation is logged
// as finished).
func (e *Engine) Run(ctx context.Context, req *Request, rep Reporter) (*Result, error) {
	if rep == nil {
		rep = nopReporter{}
	}
	res, log := e.newResult(req)

	timeStage(res, StageCategorize, func() { res.Categorization = e.categorize(ctx, req, log) })
	res.Target = req.EffectiveTarget()
	log = log.With().Str("category", string(res.Categorization.Category)).Str("namespace", res.Target.Namespace).Logger()
	log.Info().Str("decided_by", string(res.Categorization.DecidedBy)).Float64("confidence", res.Categorization.Confidence).
		Str("target", res.Target.String()).Msg("investigation started")
	if err := rep.Started(ctx, &res.Investigation); err != nil {
		log.Warn().Str("error", redactErr(err)).Msg("reporter: start")
	}

	// Recall and gather are independent: run them together.
	side := e.startSideReads(ctx, req, res, log)
	var snap Snapshot
	timeStage(res, StageGather, func() { snap = e.gather(ctx, res, log) })
	timeStage(res, StageDiagnose, func() { diagnoseSnapshot(req, res, snap) })
	side.wait()
	e.mergeSideReads(res, side)
	if !res.Evidence.Target.IsZero() {
		res.Target = res.Evidence.Target
	}
	e.recategorize(res, log)
	if len(res.Similar) > 0 {
		log.Info().Int("similar_cases", len(res.Similar)).Float64("top_similarity", res.Similar[0].Similarity).Msg("similar cases found")
	}

	timeStage(res, StagePrompt, func() {
		res.Feedback = e.pastFeedback(ctx, req, res.Categorization.Category, log)
		res.Prompt = BuildPrompt(PromptInput{Request: req, Target: res.Target, Categorization: res.Categorization,
			Similar: res.Similar, Feedback: res.Feedback, Findings: res.Findings, Evidence: res.Evidence,
			MaxTokens: e.o.PromptMaxTokens})
	})

	var analyzeErr error
	timeStage(res, StageAnalyze, func() { analyzeErr = e.analyze(ctx, req, res, rep) })
	res.Finished = e.o.Now()
	if err := rep.Finished(ctx, res); err != nil {
		log.Warn().Str("error", redactErr(err)).Msg("reporter: finish")
	}
	// Logged after Finished, where a worker stores the result: a process
	// killed in between leaves a stored case without this line, never a
	// line for a case that will run again.
	logFinished(log, res, analyzeErr)
	return res, analyzeErr
}

// newResult starts the Result of req: its id (req's, or a new one written
// back into req), its start time, and the logger every later line of the
// investigation is written with.
func (e *Engine) newResult(req *Request) (*Result, zerolog.Logger) {
	res := &Result{}
	res.ID = req.ID
	if res.ID == "" {
		res.ID = e.o.NewID()
		req.ID = res.ID
	}
	res.Request = req
	res.StartedAt = e.o.Now()
	log := e.o.Log.With().Str("investigation", res.ID).Str("alertname", req.AlertName()).Logger()
	if req.Alert != nil {
		log = log.With().Str("fingerprint", req.Alert.Fingerprint).Logger()
	}
	return res, log
}

// timeStage runs f and appends how long it took to res.Timings as stage s.
func timeStage(res *Result, s Stage, f func()) {
	t0 := time.Now()
	f()
	res.Timings = append(res.Timings, StageTiming{Stage: s, Duration: time.Since(t0)})
}

// sideReads are the stages that run beside gather and diagnose: the recall
// of similar cases (written to Result.Similar) and, when configured, the
// metrics and their charts (written to Result.Charts). Nothing but the
// goroutines started by startSideReads touches those fields or sideReads'
// own until wait returns.
type sideReads struct {
	wg         sync.WaitGroup
	met        Metrics
	recallDur  time.Duration
	metricsDur time.Duration
	chartDur   time.Duration
}

// startSideReads starts the recall and, when a MetricsSource is configured,
// the metrics (and charts) of res in the background; call wait before
// reading their results.
func (e *Engine) startSideReads(ctx context.Context, req *Request, res *Result, log zerolog.Logger) *sideReads {
	s := &sideReads{}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t0 := time.Now()
		res.Similar = e.recall(ctx, req, res.Categorization.Category, log)
		s.recallDur = time.Since(t0)
	}()
	// Metrics, when configured, are read beside them too.
	if e.o.Metrics != nil {
		s.wg.Add(1)
		t, c := res.Target, res.Categorization.Category
		go func() {
			defer s.wg.Done()
			t0 := time.Now()
			s.met = e.metrics(ctx, req, t, c, log)
			s.metricsDur = time.Since(t0)
			if e.o.Charts != nil && len(s.met.Plots) > 0 {
				t0 = time.Now()
				res.Charts = e.charts(ctx, s.met.Plots, log)
				s.chartDur = time.Since(t0)
			}
		}()
	}
	return s
}

// wait returns when every side read has finished.
func (s *sideReads) wait() { s.wg.Wait() }

// mergeSideReads records the side reads' timings in res and adds the
// metrics' sections, gaps and findings to its evidence and findings. Call
// it after wait.
func (e *Engine) mergeSideReads(res *Result, s *sideReads) {
	res.Timings = append(res.Timings, StageTiming{Stage: StageRecall, Duration: s.recallDur})
	if e.o.Metrics == nil {
		return
	}
	res.Timings = append(res.Timings, StageTiming{Stage: StageMetrics, Duration: s.metricsDur})
	if s.chartDur > 0 {
		res.Timings = append(res.Timings, StageTiming{Stage: StageChart, Duration: s.chartDur})
	}
	res.Evidence.Sections = append(res.Evidence.Sections, s.met.Sections...)
	res.Evidence.Gaps = append(res.Evidence.Gaps, s.met.Gaps...)
	res.Findings = MergeMetricFindings(res.Findings, s.met.Findings)
}

// gather collects the evidence of res.Target within GatherTimeout into
// res.Evidence, redacted, and returns the snapshot the gatherer returned,
// to diagnose. When the gatherer fails res.Evidence holds only the target
// and a gap saying why.
func (e *Engine) gather(ctx context.Context, res *Result, log zerolog.Logger) Snapshot {
	gctx, cancel := context.WithTimeoutCause(ctx, e.o.GatherTimeout, fmt.Errorf("gather exceeded %s", e.o.GatherTimeout))
	defer cancel()
	snap, err := e.o.Gatherer.Gather(gctx, res.Target, res.Categorization.Category)
	if err != nil {
		log.Warn().Str("error", redactErr(err)).Msg("gather failed")
		res.Evidence = Evidence{Target: res.Target, Gaps: []Gap{{Collector: "gather", Reason: redact.String(err.Error())}}}
		return snap
	}
	res.Evidence = redactEvidence(snap.Evidence())
	return snap
}

// diagnoseSnapshot writes the findings of snap (nil: none) into res, redacted,
// after handing it the alert when it is AlertAware.
func diagnoseSnapshot(req *Request, res *Result, snap Snapshot) {
	if snap == nil {
		return
	}
	if aa, ok := snap.(AlertAware); ok && req.Alert != nil {
		aa.UseAlert(req.Alert)
	}
	res.Findings = redactFindings(snap.Diagnose())
}

// analyze writes res.Analysis within AnalyzeTimeout, streaming its chunks
// to rep. The builtin analyzer, when configured, writes it instead of the
// model when the target is gone and at most one finding says so. On
// failure it returns the error (naming the analyzer and, on a timeout, the
// cause) and records it, redacted, in res.Err.
func (e *Engine) analyze(ctx context.Context, req *Request, res *Result, rep Reporter) error {
	actx, cancel := context.WithTimeoutCause(ctx, e.o.AnalyzeTimeout, fmt.Errorf("analysis exceeded %s", e.o.AnalyzeTimeout))
	defer cancel()
	in := &AnalysisInput{Request: req, Target: res.Target, Categorization: res.Categorization,
		Findings: res.Findings, Evidence: res.Evidence, Similar: res.Similar, Feedback: res.Feedback, Prompt: res.Prompt}
	analyzer := e.o.Analyzer
	if e.o.Builtin != nil && res.Evidence.TargetGone && len(res.Findings) <= 1 {
		analyzer = e.o.Builtin
	}
	var err error
	res.Analysis, err = analyzer.Analyze(actx, in, func(chunk string) {
		if chunk != "" {
			rep.Chunk(ctx, chunk)
		}
	})
	if err == nil {
		return nil
	}
	if c := context.Cause(actx); c != nil && !errors.Is(err, c) {
		err = fmt.Errorf("%w: %w", err, c)
	}
	err = fmt.Errorf("analyze with %s: %w", analyzer.Name(), err)
	res.Err = redact.String(err.Error())
	return err
}

// logFinished writes the one line that closes an investigation: an error
// line carrying res.Err when analyzeErr is set, an info line otherwise.
func logFinished(log zerolog.Logger, res *Result, analyzeErr error) {
	ev := log.Info()
	if analyzeErr != nil {
		ev = log.Error().Str("error", res.Err)
	}
	ev.Str("analyzer", res.Analysis.Analyzer).Int("findings", len(res.Findings)).Int("prompt_tokens", res.Prompt.Tokens).
		Int("api_requests", res.Evidence.APIRequests).Str("fallback", res.Analysis.FallbackReason).
		Dur("took", res.Finished.Sub(res.StartedAt)).Msg("investigation finished")
}

func (e *Engine) categorize(ctx context.Context, req *Request, log zerolog.Logger) Categorization {
	if req.Category != "" {
		return Categorization{Category: req.Category, Confidence: 1, DecidedBy: DecidedByRequest, Reason: "category given by the request"}
	}
	if req.Alert == nil {
		return categorizeTarget(req)
	}
	rules := CategorizeByRules(req.Alert)
	if rules.Confidence >= ConfidentRule || e.o.Categorizer == nil {
		return rules
	}
	cctx, cancel := context.WithTimeoutCause(ctx, e.o.CategorizeTimeout, fmt.Errorf("categorisation exceeded %s", e.o.CategorizeTimeout))
	defer cancel()
	c, err := e.o.Categorizer.Categorize(cctx, req.Alert, Categories())
	if err == nil {
		if _, ok := ParseCategory(string(c)); !ok {
			err = fmt.Errorf("model answered %q, not a category", c)
		}
	}
	if err != nil {
		log.Warn().Str("error", redactErr(err)).Str("rules_category", string(rules.Category)).Msg("llm categorisation failed; using rules")
		rules.DecidedBy = DecidedByRulesFallback
		rules.Reason += "; the model could not decide: " + redact.String(err.Error())
		return rules
	}
	return Categorization{Category: c, Confidence: ConfidentRule, DecidedBy: DecidedByLLM,
		Reason: fmt.Sprintf("rules were unsure (%s, %.2f); the model chose %s", rules.Category, rules.Confidence, c)}
}

// categorizeTarget picks a starting category for a request without an
// alert from its target kind and question; the evidence may correct it.
func categorizeTarget(req *Request) Categorization {
	t := req.EffectiveTarget()
	c := guessByTarget(t)
	q := strings.ToLower(req.Question)
	for _, k := range textKeywords {
		if q != "" && strings.Contains(q, k.phrase) {
			c = k.cat
			break
		}
	}
	return Categorization{Category: c, Confidence: defaultGuess, DecidedBy: DecidedByRules,
		Reason: fmt.Sprintf("manual investigation of %s", t)}
}

// recategorize corrects a category the rules were unsure about, or one
// they marked provisional, when the strongest finding implies another one.
func (e *Engine) recategorize(res *Result, log zerolog.Logger) {
	c := res.Categorization
	if c.DecidedBy == DecidedByRequest || c.DecidedBy == DecidedByLLM || (c.Confidence >= ConfidentRule && !c.Provisional) || len(res.Findings) == 0 {
		return
	}
	top := res.Findings[0]
	if top.Category == "" || top.Category == c.Category {
		return
	}
	if c.Provisional && trafficCategory(c.Category) && !trafficCategory(top.Category) {
		// A probe of a service failed: the trouble is the service being
		// down or unreachable, whatever keeps its pods from serving.
		return
	}
	log.Info().Str("from", string(c.Category)).Str("to", string(top.Category)).Str("rule", top.Rule).Msg("category corrected by evidence")
	res.Categorization = Categorization{Category: top.Category, Confidence: ConfidentRule, DecidedBy: DecidedByEvidence,
		Reason: fmt.Sprintf("rules guessed %s (%.2f); the diagnosis found: %s", c.Category, c.Confidence, top.Summary)}
}

func (e *Engine) recall(ctx context.Context, req *Request, c Category, log zerolog.Logger) []SimilarCase {
	if e.o.Embedder == nil || e.o.Store == nil {
		return nil
	}
	rctx, cancel := context.WithTimeoutCause(ctx, e.o.RecallTimeout, fmt.Errorf("recall exceeded %s", e.o.RecallTimeout))
	defer cancel()
	vecs, err := e.o.Embedder.Embed(rctx, []string{EmbeddingText(req, c)})
	if err != nil || len(vecs) != 1 {
		log.Warn().Str("error", redactErr(err)).Msg("recall: embed alert")
		return nil
	}
	cases, err := e.o.Store.FindSimilar(rctx, vecs[0], e.o.SimilarThreshold, e.o.SimilarTopN)
	if err != nil {
		log.Warn().Str("error", redactErr(err)).Msg("recall: find similar cases")
		return nil
	}
	return cases
}

// metrics asks the MetricsSource within MetricsTimeout; its failure is a
// gap. Everything it returns is redacted.
func (e *Engine) metrics(ctx context.Context, req *Request, t Target, c Category, log zerolog.Logger) Metrics {
	mctx, cancel := context.WithTimeoutCause(ctx, e.o.MetricsTimeout, fmt.Errorf("metrics exceeded %s", e.o.MetricsTimeout))
	defer cancel()
	m, err := e.o.Metrics.Metrics(mctx, MetricsQuery{Alert: req.Alert, Target: t, Category: c})
	if err != nil {
		if cause := context.Cause(mctx); cause != nil && !errors.Is(err, cause) {
			err = fmt.Errorf("%w: %w", err, cause)
		}
		log.Warn().Str("error", redactErr(err)).Msg("metrics unavailable")
		return Metrics{Gaps: []Gap{{Collector: "prometheus", Reason: redact.String("metrics unavailable: " + err.Error())}}}
	}
	ev := redactEvidence(Evidence{Sections: m.Sections, Gaps: m.Gaps})
	plots := make([]Plot, len(m.Plots))
	for i, p := range m.Plots {
		plots[i] = redactPlot(p)
	}
	return Metrics{Sections: ev.Sections, Gaps: ev.Gaps, Findings: redactFindings(m.Findings), Plots: plots}
}

// charts draws the (redacted) plots; a plot that cannot be drawn is
// logged and left out.
func (e *Engine) charts(ctx context.Context, plots []Plot, log zerolog.Logger) []Chart {
	var out []Chart
	for _, p := range plots {
		c, err := e.o.Charts.RenderChart(ctx, p)
		if err != nil {
			log.Warn().Str("error", redactErr(err)).Str("plot", p.Name).Msg("draw chart")
			continue
		}
		out = append(out, c)
	}
	return out
}

func (e *Engine) pastFeedback(ctx context.Context, req *Request, c Category, log zerolog.Logger) []PastFeedback {
	if e.o.Store == nil {
		return nil
	}
	rctx, cancel := context.WithTimeoutCause(ctx, e.o.RecallTimeout, fmt.Errorf("past feedback exceeded %s", e.o.RecallTimeout))
	defer cancel()
	fb, err := e.o.Store.PastFeedback(rctx, c, req.AlertName(), e.o.FeedbackLimit)
	if err != nil {
		log.Warn().Str("error", redactErr(err)).Msg("past feedback")
		return nil
	}
	return fb
}

// EmbeddingText is the text embedded for similarity search: alert name,
// severity, category, summary and the labels that identify the workload.
// The knowledge base embeds validated cases with the same function so that
// recall compares like with like.
func EmbeddingText(req *Request, c Category) string {
	var b strings.Builder
	b.WriteString(req.AlertName())
	if a := req.Alert; a != nil {
		b.WriteString(" severity " + a.Severity())
	}
	b.WriteString(" category " + string(c))
	if a := req.Alert; a != nil {
		if s := a.Summary(); s != "" {
			b.WriteString(" " + s)
		}
		for _, k := range []string{"namespace", "container", "deployment", "statefulset", "job_name", "service", "reason"} {
			if v := a.Labels[k]; v != "" {
				b.WriteString(" " + k + " " + v)
			}
		}
	}
	if req.Question != "" {
		b.WriteString(" " + req.Question)
	}
	return redact.String(b.String())
}

func redactEvidence(ev Evidence) Evidence {
	secs := make([]Section, len(ev.Sections))
	for i, s := range ev.Sections {
		s.Body = redact.String(s.Body)
		s.Title = redact.String(s.Title)
		secs[i] = s
	}
	ev.Sections = secs
	for i := range ev.Gaps {
		ev.Gaps[i].Reason = redact.String(ev.Gaps[i].Reason)
	}
	return ev
}

func redactFindings(fs []Finding) []Finding {
	for i := range fs {
		f := &fs[i]
		f.Summary = redact.String(f.Summary)
		f.Detail = redact.String(f.Detail)
		f.Impact = redact.String(f.Impact)
		f.Prevention = redact.String(f.Prevention)
		for _, list := range [][]string{f.Proof, f.Actions, f.Objects} {
			for j := range list {
				list[j] = redact.String(list[j])
			}
		}
	}
	return fs
}

func randomID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type nopReporter struct{}

func (nopReporter) Started(context.Context, *Investigation) error { return nil }
func (nopReporter) Chunk(context.Context, string)                 {}
func (nopReporter) Finished(context.Context, *Result) error       { return nil }

// redactErr renders err for a log line, without the secrets it may quote.
func redactErr(err error) string {
	if err == nil {
		return ""
	}
	return redact.String(err.Error())
}

// trafficCategory reports whether c is about traffic reaching a service
// (the categories a failed probe or scrape of it is evidence of).
func trafficCategory(c Category) bool {
	switch c {
	case ServiceDown, EndpointMissing, NetworkPolicy, DNSIssues:
		return true
	}
	return false
}
