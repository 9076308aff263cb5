package investigate

import (
	"context"
	"testing"
)

// goneSnapshot is the evidence of an alert whose pod no longer exists.
type goneSnapshot struct{ findings []Finding }

func (g goneSnapshot) Diagnose() []Finding { return g.findings }
func (g goneSnapshot) Evidence() Evidence {
	return Evidence{TargetGone: true, Sections: []Section{{Name: "target-gone", Title: "Target gone", Body: "pod web-0 not found"}}}
}

type gatherFunc func(context.Context, Target, Category) (Snapshot, error)

func (f gatherFunc) Gather(ctx context.Context, t Target, c Category) (Snapshot, error) {
	return f(ctx, t, c)
}

type namedAnalyzer struct {
	name  string
	calls int
}

func (a *namedAnalyzer) Name() string { return a.name }
func (a *namedAnalyzer) Analyze(_ context.Context, _ *AnalysisInput, emit func(string)) (Analysis, error) {
	a.calls++
	emit("## Root cause\n" + a.name + "\n")
	return Analysis{Text: "## Root cause\n" + a.name + "\n", Analyzer: a.name}, nil
}

// TestGoneTargetSkipsTheModel: when the target is gone and nothing else
// was found, the built-in analyser writes the analysis and the model is
// not called (a storm of alerts for deleted pods costs no tokens); as soon
// as there is more to reason about, the model is used.
func TestGoneTargetSkipsTheModel(t *testing.T) {
	gone := Finding{Rule: "target-gone", Summary: "pod web-0 no longer exists"}
	crash := Finding{Rule: "crashloop", Summary: "owner's pods crash"}
	for _, tt := range []struct {
		name      string
		findings  []Finding
		wantModel bool
	}{
		{"only gone", []Finding{gone}, false},
		{"nothing found", nil, false},
		{"gone and the owner crashes", []Finding{gone, crash}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			model, builtin := &namedAnalyzer{name: "openai"}, &namedAnalyzer{name: "builtin"}
			eng, err := New(Options{Analyzer: model, Builtin: builtin,
				Gatherer: gatherFunc(func(context.Context, Target, Category) (Snapshot, error) {
					return goneSnapshot{findings: tt.findings}, nil
				})})
			if err != nil {
				t.Fatal(err)
			}
			a := Alert{Status: StatusFiring, Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0"}}
			res, err := eng.Run(context.Background(), &Request{Alert: &a}, nil)
			if err != nil {
				t.Fatal(err)
			}
			if got := model.calls == 1; got != tt.wantModel {
				t.Fatalf("model called %d times, builtin %d; want model=%v", model.calls, builtin.calls, tt.wantModel)
			}
			if want := map[bool]string{true: "openai", false: "builtin"}[tt.wantModel]; res.Analysis.Analyzer != want {
				t.Errorf("analysis by %q, want %q", res.Analysis.Analyzer, want)
			}
		})
	}
}
