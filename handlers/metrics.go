package handlers

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/k8flex/k8flex/investigate"
)

// Metrics are K8flex's Prometheus metrics, on a registry of their own. A
// nil *Metrics records nothing, so tests may pass nil.
type Metrics struct {
	reg            *prometheus.Registry
	alerts         *prometheus.CounterVec
	investigations *prometheus.CounterVec
	stages         *prometheus.HistogramVec
	tokens         *prometheus.CounterVec
	llmErrors      *prometheus.CounterVec
	apiRequests    prometheus.Histogram
	slackCalls     *prometheus.CounterVec
	slackDelivered *prometheus.CounterVec
	slackRetries   *prometheus.CounterVec
	feedback       *prometheus.CounterVec
	truncated      prometheus.Counter
}

// NewMetrics registers the metrics. depth reports the queue depth when
// scraped (nil = not exported).
func NewMetrics(depth func() float64) *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		reg: reg,
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_alerts_received_total",
			Help: "Alerts received by the webhook, by outcome (accepted, duplicate, resolved, invalid, unauthorized, too_large, unavailable)."},
			[]string{"status"}),
		investigations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_investigations_total",
			Help: "Finished investigations by category, who decided it, and outcome (ok, fallback, error)."},
			[]string{"category", "decided_by", "outcome"}),
		stages: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "k8flex_stage_duration_seconds",
			Help: "Duration of each engine stage.", Buckets: []float64{.001, .005, .01, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}},
			[]string{"stage"}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_llm_tokens_total",
			Help: "Model tokens by analyzer and direction (input, output)."}, []string{"analyzer", "direction"}),
		llmErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_llm_fallbacks_total",
			Help: "Analyses that fell back to the built-in analyser because the model failed."}, []string{"analyzer"}),
		apiRequests: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "k8flex_kubernetes_api_requests",
			Help: "Kubernetes API requests per investigation.", Buckets: []float64{1, 2, 3, 5, 8, 13, 21, 34}}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_slack_api_calls_total",
			Help: "Slack Web API calls by method and result (ok, error, rate_limited)."}, []string{"method", "result"}),
		slackDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_slack_deliveries_total",
			Help: "Lasting Slack thread messages (root posts, final analyses, notes) and chart uploads (method files.completeUploadExternal) by method and outcome (delivered; refused: Slack answered with an error and the message was dropped; abandoned: a chart upload given up after its tries)."},
			[]string{"method", "outcome"}),
		slackRetries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_slack_retries_total",
			Help: "Slack calls made again, by method and reason (rate_limited: answered 429; unreachable: Slack did not answer)."},
			[]string{"method", "reason"}),
		feedback: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "k8flex_feedback_total",
			Help: "Feedback votes by verdict (correct, incorrect) and source (reaction, button)."}, []string{"verdict", "source"}),
	}
	m.truncated = prometheus.NewCounter(prometheus.CounterOpts{Name: "k8flex_webhook_values_truncated_total",
		Help: "Alert labels and annotations the webhook cut to its size limits (or dropped beyond the count limit) instead of refusing the alert."})
	reg.MustRegister(m.alerts, m.investigations, m.stages, m.tokens, m.llmErrors, m.apiRequests, m.slackCalls, m.slackDelivered, m.slackRetries, m.feedback, m.truncated)
	// Series with known label values exist from the start, at zero, so
	// that dashboards and alerts on them never see "no data".
	for _, st := range []string{"accepted", "duplicate", "resolved", "invalid", "unauthorized", "too_large", "unavailable"} {
		m.alerts.WithLabelValues(st)
	}
	for _, v := range []string{"correct", "incorrect"} {
		for _, src := range []string{"reaction", "button"} {
			m.feedback.WithLabelValues(v, src)
		}
	}
	for _, st := range []investigate.Stage{investigate.StageCategorize, investigate.StageRecall, investigate.StageGather, investigate.StageDiagnose,
		investigate.StageMetrics, investigate.StagePrompt, investigate.StageAnalyze, investigate.StageRecord} {
		m.stages.WithLabelValues(string(st))
	}
	for _, c := range investigate.Categories() {
		for _, outcome := range []string{"ok", "fallback", "error"} {
			m.investigations.WithLabelValues(string(c), string(investigate.DecidedByRules), outcome)
		}
	}
	for _, method := range []string{"chat.postMessage", "chat.update"} {
		for _, o := range []string{"delivered", "refused"} {
			m.slackDelivered.WithLabelValues(method, o)
		}
		for _, r := range []string{"rate_limited", "unreachable"} {
			m.slackRetries.WithLabelValues(method, r)
		}
		for _, r := range []string{"ok", "error", "rate_limited"} {
			m.slackCalls.WithLabelValues(method, r)
		}
	}
	if depth != nil {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8flex_queue_depth",
			Help: "Cases queued or running."}, depth))
	}
	return m
}

// Handler serves the metrics in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry returns the registry, for adapters that add their own metrics.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

func (m *Metrics) valuesTruncated(n int) {
	if m == nil || n == 0 {
		return
	}
	m.truncated.Add(float64(n))
}

func (m *Metrics) alertsReceived(status string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.alerts.WithLabelValues(status).Add(float64(n))
}

// ObserveInvestigation records a finished investigation.
func (m *Metrics) ObserveInvestigation(r *investigate.Result) {
	if m == nil || r == nil {
		return
	}
	outcome := "ok"
	switch {
	case r.Err != "":
		outcome = "error"
	case r.Analysis.FallbackReason != "":
		outcome = "fallback"
		m.llmErrors.WithLabelValues(r.Analysis.Analyzer).Inc()
	}
	m.investigations.WithLabelValues(string(r.Categorization.Category), string(r.Categorization.DecidedBy), outcome).Inc()
	for _, t := range r.Timings {
		m.stages.WithLabelValues(string(t.Stage)).Observe(t.Duration.Seconds())
	}
	if u := r.Analysis.Usage; u.InputTokens+u.OutputTokens > 0 {
		m.tokens.WithLabelValues(r.Analysis.Analyzer, "input").Add(float64(u.InputTokens))
		m.tokens.WithLabelValues(r.Analysis.Analyzer, "output").Add(float64(u.OutputTokens))
	}
	m.apiRequests.Observe(float64(r.Evidence.APIRequests))
}

// SlackLink publishes k8flex_slack_connected: 1 while connected()
// reports Slack's Socket Mode link up, else 0. Call it once.
func (m *Metrics) SlackLink(connected func() bool) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8flex_slack_connected",
		Help: "1 while the Slack Socket Mode link is up, else 0."}, func() float64 {
		if connected() {
			return 1
		}
		return 0
	}))
}

// SlackOutbox publishes k8flex_slack_outbox_depth (Slack messages
// waiting to be delivered) and k8flex_slack_outbox_oldest_seconds (how
// long the oldest has waited, 0 when none) from outbox, read at each
// scrape (-1 when it fails). Call it once.
func (m *Metrics) SlackOutbox(outbox func() (depth int, oldest time.Time, err error)) {
	if m == nil {
		return
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8flex_slack_outbox_depth",
		Help: "Slack messages recorded with their case and not yet delivered."}, func() float64 {
		d, _, err := outbox()
		if err != nil {
			return -1
		}
		return float64(d)
	}), prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "k8flex_slack_outbox_oldest_seconds",
		Help: "Age of the oldest undelivered Slack message, 0 when none."}, func() float64 {
		_, oldest, err := outbox()
		if err != nil {
			return -1
		}
		if oldest.IsZero() {
			return 0
		}
		return time.Since(oldest).Seconds()
	}))
}

// SlackCall records one Slack Web API call.
func (m *Metrics) SlackCall(method, result string) {
	if m == nil {
		return
	}
	m.slackCalls.WithLabelValues(method, result).Inc()
}

// SlackDelivery records the outcome of one lasting Slack thread message
// (delivered or refused) sent with method.
func (m *Metrics) SlackDelivery(method, outcome string) {
	if m == nil {
		return
	}
	m.slackDelivered.WithLabelValues(method, outcome).Inc()
}

// SlackRetry records one Slack call to be made again (reason
// rate_limited or unreachable).
func (m *Metrics) SlackRetry(method, reason string) {
	if m == nil {
		return
	}
	m.slackRetries.WithLabelValues(method, reason).Inc()
}

// Feedback records one feedback vote.
func (m *Metrics) Feedback(correct bool, source string) {
	if m == nil {
		return
	}
	v := "incorrect"
	if correct {
		v = "correct"
	}
	m.feedback.WithLabelValues(v, source).Inc()
}
