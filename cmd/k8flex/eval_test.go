package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/eval"
	"github.com/k8flex/k8flex/internal/sharedtest"
	"github.com/k8flex/k8flex/llm/llmtest"
)

// sharedDir is the shared yardstick beside the repository.
func sharedDir(t *testing.T, parts ...string) string { return sharedtest.Dir(t, parts...) }

func runEvalJSON(t *testing.T, dir string, extra ...string) eval.Summary {
	t.Helper()
	var out, errb bytes.Buffer
	args := append([]string{"eval", "--scenarios", dir, "--json"}, extra...)
	if code := run(context.Background(), args, &out, &errb); code != 0 {
		t.Fatalf("k8flex eval exited %d: %s", code, errb.String())
	}
	var s eval.Summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("eval --json output: %v\n%s", err, out.String())
	}
	return s
}

// TestEvalFloor keeps the built-in analyser's accuracy on the recorded
// incidents from silently regressing: every one passes (root causes
// counted in the Root cause section only), every prompt holds the facts
// of the root cause, nothing leaked.
func TestEvalFloor(t *testing.T) {
	s := runEvalJSON(t, sharedDir(t, "scenarios"))
	for _, r := range s.Results {
		if !r.Passed {
			t.Logf("%s: category %s (expected %s), missing %v, leaks %v, error %q", r.Name, r.Category, r.Expected, r.Missing, r.Leaks, r.Error)
		}
	}
	if s.Scenarios != 15 {
		t.Fatalf("ran %d scenarios, want the 15 shared ones", s.Scenarios)
	}
	noPlaceholders(t, s)
	if s.Passed < s.Scenarios || s.PromptHasCause < s.Scenarios || s.Leaks != 0 {
		t.Fatalf("eval: %d/%d passed, %d prompts hold the cause, %d leaks; floor is all passed, all prompts, 0 leaks",
			s.Passed, s.Scenarios, s.PromptHasCause, s.Leaks)
	}
}

// TestEvalExternalFloor does the same on the scenarios converted from
// another project, which nobody here wrote (a generality check).
func TestEvalExternalFloor(t *testing.T) {
	s := runEvalJSON(t, sharedDir(t, "external-scenarios", "holmesgpt"))
	for _, r := range s.Results {
		if !r.Passed {
			t.Logf("%s: category %s (expected %s), missing %v", r.Name, r.Category, r.Expected, r.Missing)
		}
	}
	noPlaceholders(t, s)
	if s.Passed < s.Scenarios || s.PromptHasCause < s.Scenarios || s.Leaks != 0 {
		t.Fatalf("external eval: %d/%d passed, %d prompts hold the cause, %d leaks; floor is all passed, all prompts, 0 leaks",
			s.Passed, s.Scenarios, s.PromptHasCause, s.Leaks)
	}
}

// incidentsFloor is how many of the repository's own incidents (incidents/,
// written by people who did not read the rules; the last 40 were written
// after the rules as holdouts and hold known failures) the built-in
// analyser must pass; raise it as the rules improve, never lower it to make
// a change pass.
const incidentsFloor = 106

// TestEvalIncidentsFloor keeps the accuracy on the incidents written
// without looking at the rules from regressing, and checks that nothing
// leaks from them.
func TestEvalIncidentsFloor(t *testing.T) {
	s := runEvalJSON(t, filepath.Join("..", "..", "incidents"))
	for _, r := range s.Results {
		if !r.Passed {
			t.Logf("%s: category %s (expected %s), missing %v, leaks %v, error %q", r.Name, r.Category, r.Expected, r.Missing, r.Leaks, r.Error)
		}
	}
	noPlaceholders(t, s)
	if s.Passed < incidentsFloor || s.Leaks != 0 {
		t.Fatalf("incidents eval: %d/%d passed, %d leaks; floor is %d passed, 0 leaks", s.Passed, s.Scenarios, s.Leaks, incidentsFloor)
	}
}

func TestEvalTextSummaryLine(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"eval", "--scenarios", sharedDir(t, "scenarios")}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	lines := bytes.Split(bytes.TrimSpace(out.Bytes()), []byte("\n"))
	last := string(lines[len(lines)-1])
	var n, p, c, r, e, tot, l, k int
	if _, err := fmtSscanf(last, &n, &p, &c, &r, &e, &tot, &l, &k); err != nil {
		t.Fatalf("last line %q does not have the eval summary format: %v", last, err)
	}
	if n != 15 || tot == 0 || k == 0 {
		t.Fatalf("implausible summary %q", last)
	}
}

func TestRunUsage(t *testing.T) {
	for _, tt := range []struct {
		name string
		args []string
		code int
	}{
		{"no args", nil, 2},
		{"help", []string{"help"}, 0},
		{"unknown", []string{"frobnicate"}, 2},
		{"eval without dir", []string{"eval"}, 2},
		{"eval missing dir", []string{"eval", "--scenarios", "/nonexistent"}, 1},
		{"investigate nothing", []string{"investigate", "--scenario", "/nonexistent"}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			if code := run(context.Background(), tt.args, &out, &errb); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr: %s", code, tt.code, errb.String())
			}
		})
	}
}

func fmtSscanf(s string, v ...any) (int, error) {
	return fmt.Sscanf(s, "eval: %d scenarios, %d passed, %d category correct, %d root cause correct, %d/%d evidence, %d leaks, prompt p50 %d tokens", v...)
}

// TestEvalThroughOpenAI runs every shared scenario through the OpenAI
// provider path against the faithful fake (issue 3): each analysis is
// streamed by the fake, and no planted secret reaches it.
func TestEvalThroughOpenAI(t *testing.T) {
	dir := sharedDir(t, "scenarios")
	fake := llmtest.NewOpenAI(llmtest.Options{Model: "gpt-4o-mini", APIKey: "sk-test-key",
		Forbidden: []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "S3cr3tP4ss"}})
	url := fake.Start(t)
	t.Setenv("K8FLEX_LLM_API_KEY", "sk-test-key")
	s := runEvalJSON(t, dir, "--llm", "openai", "--model", "gpt-4o-mini", "--llm-base-url", url)
	if s.Scenarios != 15 {
		t.Fatalf("ran %d scenarios", s.Scenarios)
	}
	for _, r := range s.Results {
		if r.Analyzer != "openai" || r.Fallback != "" || r.Error != "" {
			t.Errorf("%s: analyzer %q fallback %q error %q, want the openai path", r.Name, r.Analyzer, r.Fallback, r.Error)
		}
	}
	analyses := 0
	for _, req := range fake.Requests() {
		if req.Stream && strings.Contains(req.User, "# Findings") {
			analyses++
		}
	}
	if analyses != 15 {
		t.Errorf("the fake streamed %d analyses, want 15", analyses)
	}
	if p := fake.Problems(); len(p) > 0 {
		t.Fatalf("the fake saw problems (wrong model, auth, or a planted secret): %v", p)
	}
	if s.Leaks != 0 {
		t.Fatalf("%d leaks", s.Leaks)
	}
}

// TestInvestigateShowPrompt: an SRE can see exactly what a model would
// receive, and it holds no planted secret of the scenario.
func TestInvestigateShowPrompt(t *testing.T) {
	dir := sharedDir(t, "scenarios", "crashloop-secret-in-logs")
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"investigate", "--scenario", dir, "--show-prompt"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	s := out.String()
	for _, want := range []string{"──── prompt:", "[system]", "# Findings", "acme-reports-prod"} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, secret := range []string{"AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "S3cr3tP4ss"} {
		if strings.Contains(s, secret) {
			t.Errorf("planted secret %q reached the output", secret)
		}
	}
}

// noPlaceholders fails for every analysis that left a template
// placeholder (<node>) where the evidence holds the value.
func noPlaceholders(t *testing.T, s eval.Summary) {
	t.Helper()
	for _, r := range s.Results {
		if len(r.Placeholders) > 0 {
			t.Errorf("%s: analysis has placeholders %q", r.Name, r.Placeholders)
		}
	}
}
