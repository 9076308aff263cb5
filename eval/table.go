package eval

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/k8flex/k8flex/investigate"
)

// summarize adds up the rows of a run.
func summarize(results []Result) Summary {
	sum := Summary{Results: results}
	var tokens []int
	for _, r := range results {
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
	}
	sum.PromptTokensP50 = median(tokens)
	return sum
}

// printTable prints one row per scenario, the stage medians and the
// summary line.
func printTable(w io.Writer, sum Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tRESULT\tCATEGORY\tEXPECTED\tEVIDENCE\tPROMPT\tTOKENS\tAPI\tMS\tMISSING")
	for _, r := range sum.Results {
		res := "pass"
		if !r.Passed {
			res = "FAIL"
		}
		prompt := "cause"
		if !r.PromptHasCause {
			prompt = "lacks"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d/%d\t%s\t%d\t%d\t%.1f\t%s\n", r.Name, res, r.Category, r.Expected,
			r.EvidenceHits, r.EvidenceTotal, prompt, r.PromptTokens, r.APIRequests, r.DurationMS, missingColumn(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "stages p50 (ms): %s\n", stageMedians(sum.Results))
	fmt.Fprintf(w, "eval: %d scenarios, %d passed, %d category correct, %d root cause correct, %d/%d evidence, %d leaks, prompt p50 %d tokens, %d/%d prompts hold the root cause\n",
		sum.Scenarios, sum.Passed, sum.CategoryCorrect, sum.RootCauseCorrect, sum.EvidenceHits, sum.EvidenceTotal, sum.Leaks, sum.PromptTokensP50,
		sum.PromptHasCause, sum.Scenarios)
	return nil
}

// missingColumn is a row's last column: its error, leaks and the root
// cause groups it missed.
func missingColumn(r Result) string {
	missing := strings.Join(r.Missing, "; ")
	if len(r.Leaks) > 0 {
		missing = fmt.Sprintf("LEAKED %d secret(s); %s", len(r.Leaks), missing)
	}
	if r.Error != "" {
		missing = "error: " + r.Error + "; " + missing
	}
	return missing
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
