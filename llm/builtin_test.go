package llm

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

func TestBuiltinAnalyze(t *testing.T) {
	top := investigate.Finding{Rule: "missing-config", Score: 90,
		Summary: "ConfigMap shop/app-settings does not exist (not found), but pod web-0 references it.",
		Proof:   []string{"web-0: Warning FailedMount: configmap \"app-settings\" not found"},
		Actions: []string{"kubectl get configmap -n shop"}, Prevention: "Deploy config with the app.", Impact: "web is down."}
	sym := investigate.Finding{Rule: "crashloop", Score: 50, Summary: "Container web of pod web-0 is in CrashLoopBackOff: exit code 1."}
	for _, tt := range []struct {
		name     string
		in       investigate.AnalysisInput
		contains []string
		absent   []string
	}{
		{"top finding first, related listed, proof quoted",
			investigate.AnalysisInput{Findings: []investigate.Finding{top, sym}},
			[]string{top.Summary, "- " + sym.Summary, "`web-0: Warning FailedMount: configmap \"app-settings\" not found`", "1. kubectl get configmap -n shop", "Deploy config with the app."}, nil},
		{"no findings says what was checked",
			investigate.AnalysisInput{Target: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop"},
				Evidence: investigate.Evidence{Sections: []investigate.Section{{Title: "Pod shop/web-0 description"}}, Gaps: []investigate.Gap{{Collector: "metrics", Reason: "forbidden"}}}},
			[]string{"No deterministic rule identified a root cause for pod/web-0 -n shop", "Pod shop/web-0 description", "Gap: metrics could not be gathered (forbidden)"}, []string{"Related findings"}},
		{"findings without proof lines name their objects, never a clean bill",
			investigate.AnalysisInput{Findings: []investigate.Finding{{Rule: "scaled-to-zero", Score: 80, Summary: "Deployment shop/web has 0 replicas.", Objects: []string{"deployment/shop/web", "service/shop/web"}}}},
			[]string{"Objects involved: deployment/shop/web, service/shop/web"}, []string{"No proving lines", "no failing state"}},
		{"similar cases mentioned",
			investigate.AnalysisInput{Findings: []investigate.Finding{top}, Similar: []investigate.SimilarCase{{AlertName: "KubePodCrashLooping", Category: investigate.PodCrash, Similarity: 0.91, RootCause: "ConfigMap deleted"}}},
			[]string{"Similar past cases:", "KubePodCrashLooping (pod-crash, similarity 0.91): ConfigMap deleted"}, nil},
		{"secrets redacted",
			investigate.AnalysisInput{Findings: []investigate.Finding{{Summary: "login failed with key AKIAIOSFODNN7EXAMPLE", Score: 50}}},
			nil, []string{"AKIAIOSFODNN7EXAMPLE"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var chunks []string
			a, err := NewBuiltin().Analyze(context.Background(), &tt.in, func(c string) { chunks = append(chunks, c) })
			if err != nil {
				t.Fatal(err)
			}
			if a.Analyzer != "builtin" || !a.Usage.Estimated || a.Usage.OutputTokens == 0 {
				t.Errorf("analysis metadata %+v", a)
			}
			if got := strings.Join(chunks, ""); got != a.Text || len(chunks) < 10 {
				t.Errorf("emitted %d chunks that do not add up to the text", len(chunks))
			}
			last := -1
			for _, h := range investigate.Headings() {
				i := strings.Index(a.Text, "## "+h+"\n")
				if i <= last {
					t.Errorf("heading %q missing or out of order", h)
				}
				last = i
			}
			for _, s := range tt.contains {
				if !strings.Contains(a.Text, s) {
					t.Errorf("analysis lacks %q:\n%s", s, a.Text)
				}
			}
			for _, s := range tt.absent {
				if strings.Contains(a.Text, s) {
					t.Errorf("analysis contains %q", s)
				}
			}
			if len(tt.in.Findings) > 0 && investigate.RootCauseLine(a.Text) != tt.in.Findings[0].Summary && !strings.Contains(tt.name, "secret") {
				t.Errorf("root cause line %q", investigate.RootCauseLine(a.Text))
			}
		})
	}
}

// TestBuiltinCitesSharedProofOnce checks that two findings about one
// failure (a cause and its symptom) that prove themselves with the same
// lines cite each line, and state each impact, once.
func TestBuiltinCitesSharedProofOnce(t *testing.T) {
	kill := "web-0 app: terminated reason=OOMKilled exitCode=137"
	cause := investigate.Finding{Rule: "oom-jvm-heap", Score: 85, Summary: "heap above limit.",
		Proof: []string{kill, "app env JAVA_TOOL_OPTIONS: -Xmx3g"}, Impact: "web restarts."}
	symptom := investigate.Finding{Rule: "oom-killed", Score: 80, Summary: "OOMKilled.",
		Proof: []string{kill, "app resources.limits.memory: 2Gi"}, Impact: "web restarts."}
	a, err := NewBuiltin().Analyze(context.Background(), &investigate.AnalysisInput{Findings: []investigate.Finding{cause, symptom}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(a.Text, kill); n != 1 {
		t.Errorf("shared proof cited %d times:\n%s", n, a.Text)
	}
	if n := strings.Count(a.Text, "web restarts."); n != 1 {
		t.Errorf("shared impact stated %d times:\n%s", n, a.Text)
	}
	for _, s := range []string{"-Xmx3g", "limits.memory: 2Gi"} {
		if !strings.Contains(a.Text, s) {
			t.Errorf("analysis lacks %q", s)
		}
	}
}

func TestBuiltinCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := NewBuiltin().Analyze(ctx, &investigate.AnalysisInput{}, func(string) { t.Error("emitted after cancel") })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want context.Canceled", err)
	}
}

func BenchmarkBuiltinAnalyze(b *testing.B) {
	in := &investigate.AnalysisInput{Findings: []investigate.Finding{
		{Summary: strings.Repeat("x", 300), Proof: []string{"a", "b", "c"}, Actions: []string{"kubectl get pods"}, Score: 90},
		{Summary: strings.Repeat("y", 300), Proof: []string{"d"}, Score: 50},
	}}
	bl := NewBuiltin()
	for b.Loop() {
		if _, err := bl.Analyze(context.Background(), in, func(string) {}); err != nil {
			b.Fatal(err)
		}
	}
}
