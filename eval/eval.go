package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
	"github.com/k8flex/k8flex/server"
)

// Result is one scenario's row of `k8flex eval`.
type Result struct {
	Name             string             `json:"name"`
	Category         string             `json:"category"`
	DecidedBy        string             `json:"decided_by"`
	Expected         string             `json:"expected"`
	Passed           bool               `json:"passed"`
	Missing          []string           `json:"missing"`
	MissingEvidence  []string           `json:"missing_evidence,omitempty"`
	EvidenceHits     int                `json:"evidence_hits"`
	EvidenceTotal    int                `json:"evidence_total"`
	Leaks            []string           `json:"leaks"`
	PromptTokens     int                `json:"prompt_tokens"`
	APIRequests      int                `json:"api_requests"`
	Analyzer         string             `json:"analyzer"`
	Fallback         string             `json:"fallback,omitempty"`
	DurationMS       float64            `json:"duration_ms"`
	StagesMS         map[string]float64 `json:"stages_ms"`
	RootCause        string             `json:"root_cause"`
	Error            string             `json:"error,omitempty"`
	CategoryCorrect  bool               `json:"category_correct"`
	RootCauseCorrect bool               `json:"root_cause_correct"`
	// PromptHasCause: every root_cause group occurs in the prompt a model
	// receives; MissingFromPrompt lists those that do not.
	PromptHasCause    bool     `json:"prompt_has_cause"`
	MissingFromPrompt []string `json:"missing_from_prompt,omitempty"`
	// Placeholders are template placeholders (<node>) in the analysis.
	Placeholders []string `json:"placeholders,omitempty"`
}

// Summary is the --json output of `k8flex eval`.
type Summary struct {
	Scenarios        int      `json:"scenarios"`
	Passed           int      `json:"passed"`
	CategoryCorrect  int      `json:"category_correct"`
	RootCauseCorrect int      `json:"root_cause_correct"`
	EvidenceHits     int      `json:"evidence_hits"`
	EvidenceTotal    int      `json:"evidence_total"`
	Leaks            int      `json:"leaks"`
	PromptTokensP50  int      `json:"prompt_tokens_p50"`
	PromptHasCause   int      `json:"prompt_has_cause"`
	Results          []Result `json:"results"`
}

// Options are what an eval run takes beside the configuration.
type Options struct {
	// Dir holds one folder per scenario (those with an alert.json).
	Dir string
	// JSON prints one Summary object instead of the table.
	JSON bool
	// Verbose prints each analysis to stderr.
	Verbose bool
}

// Run investigates every scenario of o.Dir with the engine cfg
// configures, scores each against its expect.yaml and prints the table
// (or, with o.JSON, the Summary) to stdout. A scenario that fails to load
// or run is a failed row, not an error; the error is for the run itself
// (no scenarios, an analyzer that cannot be built, a failed write).
func Run(ctx context.Context, cfg config.Config, o Options, stdout, stderr io.Writer, log zerolog.Logger) error {
	names, err := scenario.Dirs(o.Dir)
	if err != nil {
		return err
	}
	an, err := server.NewAnalyzers(cfg, log)
	if err != nil {
		return err
	}
	var results []Result
	for _, name := range names {
		results = append(results, evalOne(ctx, filepath.Join(o.Dir, name), name, cfg, an, log, o.Verbose, stderr))
	}
	sum := summarize(results)
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	return printTable(stdout, sum)
}

// evalOne investigates one scenario's first alert (the others folded in as
// related alerts) and scores everything it produced.
func evalOne(ctx context.Context, dir, name string, cfg config.Config, an server.Analyzers, log zerolog.Logger, verbose bool,
	stderr io.Writer) Result {
	r := Result{Name: name, StagesMS: map[string]float64{}}
	sc, err := scenario.Load(dir)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	r.Expected = string(sc.Expect.Category)
	msrc, err := server.ScenarioMetrics(cfg, sc)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	eng, err := server.NewEngine(cfg, sc.Gatherer(server.GathererOptions(cfg, log)), msrc, an, nil, nil, log)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	req := sc.Request()
	rec := &investigate.TextReporter{}
	t0 := time.Now()
	res, err := eng.Run(ctx, req, rec)
	r.DurationMS = ms(time.Since(t0))
	if err != nil {
		r.Error = err.Error()
	}
	for _, t := range res.Timings {
		r.StagesMS[string(t.Stage)] = ms(t.Duration)
	}
	r.Category = string(res.Categorization.Category)
	r.DecidedBy = string(res.Categorization.DecidedBy)
	r.PromptTokens = res.Prompt.Tokens
	r.APIRequests = res.Evidence.APIRequests
	r.Analyzer = res.Analysis.Analyzer
	r.Fallback = res.Analysis.FallbackReason
	r.RootCause = res.RootCause()
	evidence, _ := json.Marshal(res.Evidence)
	findings, _ := json.Marshal(res.Findings)
	score := scenario.Evaluate(sc.Expect, r.Category, res.Analysis.Text,
		res.Prompt.System, res.Prompt.User, rec.Text(), string(evidence), string(findings), res.Err)
	r.Passed = score.Passed()
	r.CategoryCorrect = score.CategoryOK
	r.RootCauseCorrect = score.RootCauseOK
	r.Missing = score.MissingRootCause
	r.MissingEvidence = score.MissingEvidence
	r.EvidenceHits, r.EvidenceTotal = score.EvidenceHits, score.EvidenceTotal
	r.Leaks = score.Leaks
	r.MissingFromPrompt = scenario.CauseInPrompt(sc.Expect, res.Prompt.System+"\n"+res.Prompt.User)
	r.PromptHasCause = len(r.MissingFromPrompt) == 0
	r.Placeholders = scenario.Placeholders(res.Analysis.Text)
	if verbose {
		fmt.Fprintf(stderr, "\n===== %s (%s by %s) =====\n%s\n", name, r.Category, r.DecidedBy, res.Analysis.Text)
	}
	return r
}

// ms is d in milliseconds, to the microsecond.
func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
