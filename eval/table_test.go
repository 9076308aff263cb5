package eval

import (
	"bytes"
	"strings"
	"testing"
)

// TestSummaryAndTable checks the counts of a run and what a failed row
// says: its error first, then its leaks, then the root-cause groups it
// missed.
func TestSummaryAndTable(t *testing.T) {
	rows := []Result{
		{Name: "ok", Passed: true, CategoryCorrect: true, RootCauseCorrect: true, EvidenceHits: 2, EvidenceTotal: 2,
			PromptTokens: 300, PromptHasCause: true, StagesMS: map[string]float64{"gather": 1}},
		{Name: "bad", CategoryCorrect: true, EvidenceHits: 1, EvidenceTotal: 3, PromptTokens: 100,
			Leaks: []string{"s3cr3t"}, Error: "boom", Missing: []string{"a", "b"}, StagesMS: map[string]float64{"gather": 3}},
		{Name: "mid", Passed: true, CategoryCorrect: true, RootCauseCorrect: true, PromptTokens: 200, PromptHasCause: true,
			StagesMS: map[string]float64{"gather": 2}},
	}
	s := summarize(rows)
	if s.Scenarios != 3 || s.Passed != 2 || s.CategoryCorrect != 3 || s.RootCauseCorrect != 2 || s.EvidenceHits != 3 ||
		s.EvidenceTotal != 5 || s.Leaks != 1 || s.PromptHasCause != 2 || s.PromptTokensP50 != 200 {
		t.Fatalf("summary: %+v", s)
	}
	var out bytes.Buffer
	if err := printTable(&out, s); err != nil {
		t.Fatal(err)
	}
	text := out.String()
	for _, want := range []string{
		"error: boom; LEAKED 1 secret(s); a; b",
		"stages p50 (ms): categorize 0.00, gather 2.00,",
		"eval: 3 scenarios, 2 passed, 3 category correct, 2 root cause correct, 3/5 evidence, 1 leaks, prompt p50 200 tokens, 2/3 prompts hold the root cause\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("table lacks %q:\n%s", want, text)
		}
	}
	if bad := line(text, "bad "); !strings.Contains(bad, "FAIL") || !strings.Contains(bad, "lacks") {
		t.Errorf("failed row: %q", bad)
	}
}

func line(text, prefix string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
