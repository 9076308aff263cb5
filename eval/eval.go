package eval

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"text/tabwriter"
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
	sum := Summary{}
	var tokens []int
	for _, name := range names {
		r := evalOne(ctx, filepath.Join(o.Dir, name), name, cfg, an, log, o.Verbose, stderr)
		sum.Scenarios++
		if r.Passed {
			sum.Passed++
		}
		if r.CategoryCorrect {
			sum.CategoryCorrect++
		}
		if r.RootCauseCorrect {
			sum.RootCauseCorrect++
		}
		sum.EvidenceHits += r.EvidenceHits
		sum.EvidenceTotal += r.EvidenceTotal
		sum.Leaks += len(r.Leaks)
		if r.PromptHasCause {
			sum.PromptHasCause++
		}
		tokens = append(tokens, r.PromptTokens)
		sum.Results = append(sum.Results, r)
	}
	sum.PromptTokensP50 = median(tokens)
	if o.JSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}
	tw := tabwriter.NewWriter(stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRESULT\tCATEGORY\tEXPECTED\tEVIDENCE\tPROMPT\tTOKENS\tAPI\tMS\tMISSING")
	for _, r := range sum.Results {
		res := "pass"
		if !r.Passed {
			res = "FAIL"
		}
		missing := strings.Join(r.Missing, "; ")
		if len(r.Leaks) > 0 {
			missing = fmt.Sprintf("LEAKED %d secret(s); %s", len(r.Leaks), missing)
		}
		if r.Error != "" {
			missing = "error: " + r.Error + "; " + missing
		}
		prompt := "cause"
		if !r.PromptHasCause {
			prompt = "lacks"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%d\t%d\t%.1f\t%s\n", r.Name, res, r.Category, r.Expected,
			r.EvidenceHits, r.EvidenceTotal, prompt, r.PromptTokens, r.APIRequests, r.DurationMS, missing)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "stages p50 (ms): %s\n", stageMedians(sum.Results))
	fmt.Fprintf(stdout, "eval: %d scenarios, %d passed, %d category correct, %d root cause correct, %d/%d evidence, %d leaks, prompt p50 %d tokens, %d/%d prompts hold the root cause\n",
		sum.Scenarios, sum.Passed, sum.CategoryCorrect, sum.RootCauseCorrect, sum.EvidenceHits, sum.EvidenceTotal, sum.Leaks, sum.PromptTokensP50,
		sum.PromptHasCause, sum.Scenarios)
	return nil
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

func median(xs []int) int {
	if len(xs) == 0 {
		return 0
	}
	s := append([]int(nil), xs...)
	sort.Ints(s)
	return s[(len(s)-1)/2]
}

func stageMedians(rs []Result) string {
	var parts []string
	for _, st := range []investigate.Stage{investigate.StageCategorize, investigate.StageGather, investigate.StageDiagnose,
		investigate.StagePrompt, investigate.StageAnalyze} {
		var v []float64
		for _, r := range rs {
			v = append(v, r.StagesMS[string(st)])
		}
		sort.Float64s(v)
		if len(v) > 0 {
			parts = append(parts, fmt.Sprintf("%s %.2f", st, v[(len(v)-1)/2]))
		}
	}
	return strings.Join(parts, ", ")
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
