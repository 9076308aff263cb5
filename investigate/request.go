package investigate

import (
	"time"
)

// Source says where a request came from.
type Source string

// Request sources.
const (
	SourceAlertmanager Source = "alertmanager"
	SourceSlack        Source = "slack"
	SourceCLI          Source = "cli"
)

// Request asks for one investigation: an alert, or a target someone asked
// about, with an optional free-text question.
type Request struct {
	// ID identifies the investigation (the case id when it was queued).
	ID string `json:"id,omitempty"`
	// Alert is the alert being investigated; nil for a slash command.
	Alert *Alert `json:"alert,omitempty"`
	// Related are further alerts folded into this investigation (same alert
	// name and target); they are listed, not investigated separately.
	Related []Alert `json:"related,omitempty"`
	// Target overrides the target derived from the alert's labels; set for
	// slash commands and CLI targets.
	Target   Target `json:"target,omitempty"`
	Question string `json:"question,omitempty"`
	// RequestedBy names who asked (a Slack user id, "alertmanager", a CLI user).
	RequestedBy string `json:"requested_by,omitempty"`
	Source      Source `json:"source,omitempty"`
	// Category, when set, skips categorisation (e.g. an operator's choice).
	Category Category `json:"category,omitempty"`
	// ReplyTo is where the requester wants the investigation reported
	// (a slash command's channel); zero = the configured destination. It
	// is queued with the request, so the worker that claims it, in this
	// process or another, reports to the asker.
	ReplyTo ReplyTo `json:"reply_to,omitzero"`
}

// ReplyTo names a Slack conversation to report an investigation in.
type ReplyTo struct {
	Channel string `json:"channel,omitempty"`
	// User and Team identify the asker, for a reply streamed to them.
	User string `json:"user,omitempty"`
	Team string `json:"team,omitempty"`
}

// AlertName returns the alert's name, or "investigate" for a request
// without an alert.
func (r *Request) AlertName() string {
	if r.Alert != nil {
		return r.Alert.Name()
	}
	return "ManualInvestigation"
}

// EffectiveTarget returns the explicit target, else the one derived from
// the alert's labels.
func (r *Request) EffectiveTarget() Target {
	if !r.Target.IsZero() {
		return r.Target
	}
	if r.Alert != nil {
		return TargetFromAlert(r.Alert)
	}
	return Target{}
}

// Decider names what decided an investigation's category.
type Decider string

// Deciders.
const (
	DecidedByRules         Decider = "rules"
	DecidedByLLM           Decider = "llm"
	DecidedByRulesFallback Decider = "rules-fallback" // the LLM was asked and failed
	DecidedByRequest       Decider = "request"
	// DecidedByEvidence: the rules were unsure and the diagnosis found a
	// cause that implies another category.
	DecidedByEvidence Decider = "evidence"
)

// Categorization is the category chosen for a request and why.
type Categorization struct {
	Category   Category `json:"category"`
	Confidence float64  `json:"confidence"`
	DecidedBy  Decider  `json:"decided_by"`
	Reason     string   `json:"reason"`
	// Provisional is true when the category names where investigation
	// starts rather than what broke (an alert about a symptom of many
	// causes): the diagnosis' strongest finding may correct it, however
	// confident the rules were about the alert itself.
	Provisional bool `json:"provisional,omitempty"`
}

// Investigation is what a Reporter learns when an investigation starts.
type Investigation struct {
	ID             string         `json:"id"`
	Request        *Request       `json:"request"`
	Target         Target         `json:"target"`
	Categorization Categorization `json:"categorization"`
	Similar        []SimilarCase  `json:"similar,omitempty"`
	StartedAt      time.Time      `json:"started_at"`
}

// Prompt is the text sent to a model, with its size.
type Prompt struct {
	System string `json:"system"`
	User   string `json:"user"`
	// Chars is len(System)+len(User); Tokens is an estimate (≈ chars/4).
	Chars  int `json:"chars"`
	Tokens int `json:"tokens"`
	// TrimmedSections lists evidence sections dropped or cut to fit the budget.
	TrimmedSections []string `json:"trimmed_sections,omitempty"`
}

// AnalysisInput is everything an Analyzer may use. Model-backed analyzers
// send Prompt; the built-in analyser works from Findings and Evidence.
type AnalysisInput struct {
	Request        *Request
	Target         Target
	Categorization Categorization
	Findings       []Finding
	Evidence       Evidence
	Similar        []SimilarCase
	Feedback       []PastFeedback
	Prompt         Prompt
}

// Usage is the token usage of one model call.
type Usage struct {
	InputTokens  int `json:"input_tokens"`
	OutputTokens int `json:"output_tokens"`
	// Estimated is true when the provider did not report usage.
	Estimated bool `json:"estimated,omitempty"`
}

// Analysis is the written analysis of an investigation.
type Analysis struct {
	Text     string `json:"text"`
	Analyzer string `json:"analyzer"`
	Model    string `json:"model,omitempty"`
	Usage    Usage  `json:"usage"`
	// FallbackReason is set when the configured analyzer failed and the
	// built-in analysis was written instead.
	FallbackReason string `json:"fallback_reason,omitempty"`
}

// Stage names a step of the engine.
type Stage string

// Engine stages, in order.
const (
	StageCategorize Stage = "categorize"
	StageRecall     Stage = "recall"
	StageGather     Stage = "gather"
	StageDiagnose   Stage = "diagnose"
	// StageMetrics runs beside gather, only with a MetricsSource.
	StageMetrics Stage = "metrics"
	// StageChart draws the metrics' plots, only with a ChartRenderer.
	StageChart   Stage = "chart"
	StagePrompt  Stage = "prompt"
	StageAnalyze Stage = "analyze"
	// StageRecord is the write of the result, timed by the worker that
	// stores it (dispatch), not by the engine.
	StageRecord Stage = "record"
)

// StageTiming is how long one stage took.
type StageTiming struct {
	Stage    Stage         `json:"stage"`
	Duration time.Duration `json:"duration_ns"`
}

// Result is the outcome of one investigation.
type Result struct {
	Investigation
	Findings []Finding      `json:"findings"`
	Evidence Evidence       `json:"evidence"`
	Feedback []PastFeedback `json:"feedback,omitempty"`
	Prompt   Prompt         `json:"prompt"`
	Analysis Analysis       `json:"analysis"`
	Timings  []StageTiming  `json:"timings"`
	// Charts are the metrics behind the findings, drawn (with an
	// Options.Charts). They are shown, never stored.
	Charts   []Chart   `json:"-"`
	Finished time.Time `json:"finished_at"`
	Err      string    `json:"error,omitempty"`
}

// Duration returns how long the stage took, or 0 when it did not run.
func (r *Result) Duration(s Stage) time.Duration {
	for _, t := range r.Timings {
		if t.Stage == s {
			return t.Duration
		}
	}
	return 0
}

// RootCause returns the first line of the analysis' Root cause section,
// else the top finding's summary, else "".
func (r *Result) RootCause() string {
	if rc := RootCauseLine(r.Analysis.Text); rc != "" {
		return rc
	}
	if len(r.Findings) > 0 {
		return r.Findings[0].Summary
	}
	return ""
}
