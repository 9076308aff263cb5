package investigate_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/k8flex/k8flex/investigate"
)

func promptAlert() *investigate.Alert {
	return &investigate.Alert{
		Status: investigate.StatusFiring,
		Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop",
			"pod": "inventory-api-5d8f9c7b64-xk2vq", "container": "inventory-api"},
		Annotations: map[string]string{"summary": "Pod is crash looping.",
			"description": "Pod shop/inventory-api-5d8f9c7b64-xk2vq (inventory-api) is in waiting state (reason: \"CrashLoopBackOff\")."},
		StartsAt: time.Date(2026, 11, 19, 13, 14, 34, 0, time.UTC),
	}
}

func promptFindings() []investigate.Finding {
	return []investigate.Finding{
		{Rule: "missing-configmap", Severity: investigate.FindingCritical, Score: 90,
			Summary: "ConfigMap shop/app-settings mounted by pod inventory-api-5d8f9c7b64-xk2vq does not exist",
			Detail:  "The kubelet cannot\nbuild the volume.", Proof: []string{`MountVolume.SetUp failed for volume "settings" : configmap "app-settings" not found`}},
		{Rule: "crashloop", Severity: investigate.FindingWarning, Score: 50, Summary: "Container inventory-api exits with code 1"},
	}
}

// logSection returns a section of n bytes of log-like lines, numbered so
// that the head and the tail can be told apart.
func logSection(name string, prio, n int) investigate.Section {
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2026-11-19T13:%02d:%02dZ %s line %05d: GET /api/v1/items?page=%d 200 12ms\n", i/60%60, i%60, name, i, i)
	}
	return investigate.Section{Name: name, Title: "Logs " + name, Priority: prio, Body: b.String()}
}

func lastLine(body string) string {
	lines := strings.Split(strings.TrimRight(body, "\n"), "\n")
	return lines[len(lines)-1]
}

func firstLine(body string) string {
	l, _, _ := strings.Cut(body, "\n")
	return l
}

func TestBuildPromptStructure(t *testing.T) {
	in := investigate.PromptInput{
		Request: &investigate.Request{Alert: promptAlert(), Related: []investigate.Alert{{}, {}}},
		Target:  investigate.Target{Kind: investigate.KindPod, Name: "inventory-api-5d8f9c7b64-xk2vq", Namespace: "shop"},
		Categorization: investigate.Categorization{Category: investigate.PodCrash, Confidence: 0.95,
			DecidedBy: investigate.DecidedByRules, Reason: "alert KubePodCrashLooping is a known pod-crash alert"},
		Similar: []investigate.SimilarCase{{AlertName: "KubePodCrashLooping", Category: investigate.PodCrash, Similarity: 0.873,
			RootCause: "ConfigMap\napp-config was deleted by a cleanup job", CreatedAt: time.Date(2026, 10, 2, 8, 0, 0, 0, time.UTC)}},
		Feedback: []investigate.PastFeedback{
			{AlertName: "KubePodCrashLooping", Correct: true, RootCause: "missing ConfigMap", At: time.Date(2026, 10, 3, 0, 0, 0, 0, time.UTC)},
			{AlertName: "KubePodCrashLooping", Correct: false, RootCause: "blamed the image", At: time.Date(2026, 10, 4, 0, 0, 0, 0, time.UTC)},
		},
		Findings: promptFindings(),
		Evidence: investigate.Evidence{
			Sections: []investigate.Section{
				{Name: "pod/describe", Title: "Pod shop/inventory-api description", Priority: 0, Body: "State: Waiting\nReason: CrashLoopBackOff\n\n\n"},
				{Name: "events", Title: "Events", Priority: 1, Body: "Warning FailedMount configmap \"app-settings\" not found"},
			},
			Gaps: []investigate.Gap{{Collector: "metrics", Reason: "metrics.k8s.io unavailable"}},
		},
	}
	p := investigate.BuildPrompt(in)

	for _, h := range investigate.Headings() {
		if !strings.Contains(p.System, "## "+h+"\n") {
			t.Errorf("system prompt does not ask for the section %q", h)
		}
		if !strings.Contains(p.User, h) {
			t.Errorf("user prompt does not repeat the section %q", h)
		}
	}
	// The five headings are asked for in order.
	last := -1
	for _, h := range investigate.Headings() {
		i := strings.Index(p.System, "## "+h)
		if i < last {
			t.Errorf("heading %q out of order in the system prompt", h)
		}
		last = i
	}
	for _, want := range []string{
		"Name: KubePodCrashLooping\n", "Severity: warning\n", "Status: firing since 2026-11-19T13:14:34Z\n",
		"Summary: Pod is crash looping.\n", "Description: Pod shop/inventory-api-5d8f9c7b64-xk2vq",
		"Labels: container=inventory-api namespace=shop pod=inventory-api-5d8f9c7b64-xk2vq\n",
		"Also firing for the same problem: 2 more alert(s)",
		"Target: pod/inventory-api-5d8f9c7b64-xk2vq -n shop\n",
		"Category: pod-crash (decided by rules: alert KubePodCrashLooping is a known pod-crash alert)",
		// Similar cases: one line each, newlines folded.
		"- KubePodCrashLooping (pod-crash, similarity 87%, 2026-10-02): ConfigMap app-config was deleted by a cleanup job\n",
		"- KubePodCrashLooping (2026-10-03) judged correct: missing ConfigMap\n",
		"- KubePodCrashLooping (2026-10-04) judged WRONG: blamed the image\n",
		"1. [critical] ConfigMap shop/app-settings mounted by pod inventory-api-5d8f9c7b64-xk2vq does not exist\n",
		"   The kubelet cannot build the volume.\n",
		"   > MountVolume.SetUp failed for volume \"settings\" : configmap \"app-settings\" not found\n",
		"2. [warning] Container inventory-api exits with code 1\n",
		"- metrics: metrics.k8s.io unavailable\n",
		"\n## Pod shop/inventory-api description\nState: Waiting\nReason: CrashLoopBackOff\n\n## Events\n",
	} {
		if !strings.Contains(p.User, want) {
			t.Errorf("user prompt lacks %q", want)
		}
	}
	// Order of the parts: alert, similar, feedback, findings, gaps, evidence, request.
	order := []string{"# Alert\n", "# Similar past incidents", "# Feedback on earlier analyses", "# Findings",
		"# Evidence that could not be gathered", "# Evidence\n", "Write the analysis now"}
	pos := -1
	for _, s := range order {
		i := strings.Index(p.User, s)
		if i <= pos {
			t.Errorf("%q at %d, not after the previous part (%d)", s, i, pos)
		}
		pos = i
	}
	for _, s := range []string{"alertname=", "severity="} {
		if strings.Contains(p.User, s) {
			t.Errorf("labels line repeats %q", s)
		}
	}
	if p.Chars != len(p.System)+len(p.User) {
		t.Errorf("Chars = %d, want %d", p.Chars, len(p.System)+len(p.User))
	}
	if p.Tokens != investigate.EstimateTokens(p.System)+investigate.EstimateTokens(p.User) {
		t.Errorf("Tokens = %d, inconsistent with the text", p.Tokens)
	}
	if p.TrimmedSections != nil {
		t.Errorf("nothing should be trimmed without a budget: %v", p.TrimmedSections)
	}
}

func TestBuildPromptManualRequest(t *testing.T) {
	p := investigate.BuildPrompt(investigate.PromptInput{
		Request: &investigate.Request{RequestedBy: "U024BE7LH", Question: "why is it\nslow?"},
		Target:  investigate.Target{Kind: investigate.KindDeployment, Name: "api", Namespace: "shop"},
	})
	for _, want := range []string{"Manual investigation requested by U024BE7LH\n", "Question: why is it slow?\n",
		"Target: deployment/api -n shop\n", "None: no rule matched; reason from the evidence.\n"} {
		if !strings.Contains(p.User, want) {
			t.Errorf("prompt lacks %q:\n%s", want, p.User)
		}
	}
	for _, absent := range []string{"# Similar", "# Feedback", "# Evidence", "Name:"} {
		if strings.Contains(p.User, absent) {
			t.Errorf("prompt has %q with nothing to put in it", absent)
		}
	}
	if p := investigate.BuildPrompt(investigate.PromptInput{Request: &investigate.Request{}}); !strings.Contains(p.User, "requested by unknown") {
		t.Errorf("anonymous request: %q", p.User)
	}
}

func TestBuildPromptBudget(t *testing.T) {
	base := investigate.PromptInput{
		Request:  &investigate.Request{Alert: promptAlert()},
		Findings: promptFindings(),
	}
	fixed := investigate.BuildPrompt(base).Tokens // everything but the evidence

	secs := []investigate.Section{
		logSection("logs/previous", 0, 8000), // most important, listed first
		logSection("events", 2, 6000),
		logSection("describe", 1, 4000),
		logSection("namespace-events", 3, 6000),
	}
	var total int
	for _, s := range secs {
		total += investigate.EstimateTokens(s.Body)
	}

	for _, tt := range []struct {
		name      string
		maxTokens int
		kept      []string // whole sections kept
		cut       string   // section cut to fit (its tail kept), "" when none
		trimmed   []string // TrimmedSections
	}{
		{"no limit", 0, []string{"logs/previous", "events", "describe", "namespace-events"}, "", nil},
		{"room for everything", fixed + total + 200, []string{"logs/previous", "events", "describe", "namespace-events"}, "", nil},
		// logs (2000) + describe (1000) fit; events are cut; the last dropped.
		{"cut the third by priority", fixed + 2000 + 1000 + 700, []string{"logs/previous", "describe"}, "events",
			[]string{"events (cut)", "namespace-events"}},
		// Only a few tokens left after the first: below the useful minimum, drop.
		{"drop when too little is left", fixed + 2000 + 30 + 40, []string{"logs/previous"}, "",
			[]string{"describe", "events", "namespace-events"}},
		{"first section cut", fixed + 1000, nil, "logs/previous", []string{"logs/previous (cut)", "describe", "events", "namespace-events"}},
		{"budget below the findings", 10, nil, "", []string{"logs/previous", "describe", "events", "namespace-events"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := base
			in.Evidence.Sections = append([]investigate.Section(nil), secs...)
			in.MaxTokens = tt.maxTokens
			p := investigate.BuildPrompt(in)

			// Findings are never dropped, whatever the budget.
			for _, f := range in.Findings {
				if !strings.Contains(p.User, f.Summary) {
					t.Errorf("finding %q dropped", f.Summary)
				}
			}
			if fmt.Sprint(p.TrimmedSections) != fmt.Sprint(tt.trimmed) {
				t.Errorf("TrimmedSections = %q, want %q", p.TrimmedSections, tt.trimmed)
			}
			var kept []string
			lastPos := -1
			for _, s := range secs {
				head := strings.Contains(p.User, firstLine(s.Body))
				tail := strings.Contains(p.User, lastLine(s.Body))
				switch {
				case head && tail:
					kept = append(kept, s.Name)
					// Kept sections stay in their original order.
					i := strings.Index(p.User, "## "+s.Title+"\n")
					if i < lastPos {
						t.Errorf("section %s moved before an earlier one", s.Name)
					}
					lastPos = i
				case tail:
					if s.Name != tt.cut {
						t.Errorf("section %s cut, want %q cut", s.Name, tt.cut)
					}
					if !strings.Contains(p.User, "## "+s.Title+"\n… (cut to fit the prompt budget)\n") {
						t.Errorf("cut section %s is not marked as cut", s.Name)
					}
				case head:
					t.Errorf("section %s lost its tail (logs end there)", s.Name)
				default:
					if s.Name == tt.cut {
						t.Errorf("section %s dropped, want it cut", s.Name)
					}
				}
			}
			if fmt.Sprint(kept) != fmt.Sprint(tt.kept) {
				t.Errorf("kept %v, want %v", kept, tt.kept)
			}
			if tt.maxTokens > fixed && p.Tokens > tt.maxTokens {
				t.Errorf("Tokens = %d over the budget %d", p.Tokens, tt.maxTokens)
			}
			if p.Chars != len(p.System)+len(p.User) || p.Tokens != investigate.EstimateTokens(p.System)+investigate.EstimateTokens(p.User) {
				t.Errorf("Chars %d / Tokens %d inconsistent with the text", p.Chars, p.Tokens)
			}
			if !utf8.ValidString(p.User) {
				t.Errorf("prompt is not valid UTF-8")
			}
		})
	}
}

// The budget holds for every budget above the fixed part, and the prompt
// never gets larger than the evidence allows.
func TestBuildPromptBudgetSweep(t *testing.T) {
	in := investigate.PromptInput{Request: &investigate.Request{Alert: promptAlert()}, Findings: promptFindings()}
	fixed := investigate.BuildPrompt(in).Tokens
	for i := range 12 {
		in.Evidence.Sections = append(in.Evidence.Sections, logSection(fmt.Sprintf("s%02d", i), (i*7)%5, 300+i*997))
	}
	prevTokens := 0
	for budget := fixed; budget < fixed+12000; budget += 37 {
		in.MaxTokens = budget
		p := investigate.BuildPrompt(in)
		if p.Tokens > budget {
			t.Fatalf("budget %d: prompt has %d tokens (trimmed %v)", budget, p.Tokens, p.TrimmedSections)
		}
		if p.Tokens < prevTokens-64 {
			t.Errorf("budget %d: prompt shrank from %d to %d tokens with a larger budget", budget, prevTokens, p.Tokens)
		}
		prevTokens = p.Tokens
	}
}

func TestBuildPromptCutEdges(t *testing.T) {
	in := investigate.PromptInput{Request: &investigate.Request{Alert: promptAlert()}, Findings: promptFindings()}
	fixed := investigate.BuildPrompt(in).Tokens
	for _, tt := range []struct {
		name string
		sec  investigate.Section
	}{
		// Titles name objects (up to 253 characters each): a long title
		// leaves less room than the useful minimum for the body.
		{"long title", investigate.Section{Name: "logs", Title: "Logs " + strings.Repeat("p", 253) + "/" + strings.Repeat("c", 63) + " (previous)",
			Body: strings.Repeat("a log line\n", 2000)}},
		// A single long line of multi-byte text: the cut must not split a rune.
		{"multi-byte single line", investigate.Section{Name: "logs", Title: "Logs", Body: strings.Repeat("日本", 10000)}},
		{"body without newline", investigate.Section{Name: "logs", Title: "Logs", Body: strings.Repeat("x", 20000)}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for extra := 60; extra < 140; extra++ {
				in.Evidence.Sections = []investigate.Section{tt.sec}
				in.MaxTokens = fixed + extra
				var p investigate.Prompt
				func() {
					defer func() {
						if r := recover(); r != nil {
							t.Fatalf("budget fixed+%d: BuildPrompt panicked: %v", extra, r)
						}
					}()
					p = investigate.BuildPrompt(in)
				}()
				if !utf8.ValidString(p.User) {
					t.Fatalf("budget fixed+%d: prompt is not valid UTF-8 after the cut", extra)
				}
				if p.Tokens > in.MaxTokens {
					t.Fatalf("budget fixed+%d: %d tokens", extra, p.Tokens)
				}
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	for s, want := range map[string]int{"": 0, "a": 1, "abcd": 1, "abcde": 2, strings.Repeat("x", 4000): 1000} {
		if got := investigate.EstimateTokens(s); got != want {
			t.Errorf("EstimateTokens(%d chars) = %d, want %d", len(s), got, want)
		}
	}
}

// BenchmarkBuildPrompt builds a prompt from 48 KiB of evidence (the k8s
// package's default whole-evidence budget order of magnitude) under the
// default token budget, which forces trimming.
func BenchmarkBuildPrompt(b *testing.B) {
	in := investigate.PromptInput{
		Request:  &investigate.Request{Alert: promptAlert()},
		Target:   investigate.Target{Kind: investigate.KindPod, Name: "inventory-api-5d8f9c7b64-xk2vq", Namespace: "shop"},
		Findings: promptFindings(),
		Similar: []investigate.SimilarCase{{AlertName: "KubePodCrashLooping", Category: investigate.PodCrash, Similarity: 0.9,
			RootCause: "ConfigMap deleted"}},
		MaxTokens: investigate.DefaultPromptMaxTokens,
	}
	sizes := []int{4 << 10, 12 << 10, 12 << 10, 8 << 10, 6 << 10, 4 << 10, 2 << 10} // 48 KiB
	for i, n := range sizes {
		in.Evidence.Sections = append(in.Evidence.Sections, logSection(fmt.Sprintf("section-%d", i), i%4, n))
	}
	if got := in.Evidence.Size(); got < 48<<10 || got > 50<<10 {
		b.Fatalf("evidence is %d bytes, want about 48 KiB", got)
	}
	b.SetBytes(int64(in.Evidence.Size()))
	b.ReportAllocs()
	var p investigate.Prompt
	for b.Loop() {
		p = investigate.BuildPrompt(in)
	}
	b.ReportMetric(float64(p.Tokens), "prompt-tokens")
}
