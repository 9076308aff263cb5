package learn

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm"
)

const dims = 64

// failingEmbedder fails every call, as a model endpoint that is down.
type failingEmbedder struct{ investigate.Embedder }

func (failingEmbedder) Embed(context.Context, []string) ([][]float32, error) {
	return nil, errors.New("embedder down")
}

// fixture is a learning loop over a real embedded store holding one
// finished case, with the votes it counted.
type fixture struct {
	st    *kb.Embedded
	loop  *Loop
	id    string
	mu    sync.Mutex
	votes []string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := kb.OpenEmbedded(filepath.Join(t.TempDir(), "k8flex.db"), kb.EmbeddedConfig{Dimensions: dims}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = st.Close() })
	f := &fixture{st: st, id: "case-1"}
	f.loop, err = New(Config{Store: st, Embedder: llm.NewLocalEmbedder(dims), SimilarThreshold: 0.75, Log: zerolog.Nop(),
		OnVote: func(correct bool, source kb.VoteSource) {
			f.mu.Lock()
			defer f.mu.Unlock()
			mark := "❌"
			if correct {
				mark = "✅"
			}
			f.votes = append(f.votes, mark+string(source))
		}})
	if err != nil {
		t.Fatal(err)
	}
	f.record(t, f.id, investigate.PodCrash, "ConfigMap shop/app-config is missing")
	return f
}

// record stores a finished investigation of a crash-looping pod.
func (f *fixture) record(t *testing.T, id string, cat investigate.Category, rootCause string) {
	t.Helper()
	req := investigate.Request{Alert: &investigate.Alert{Status: investigate.StatusFiring, Fingerprint: "fp-" + id,
		Labels:      map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "app-1"},
		Annotations: map[string]string{"summary": "pod shop/app-1 is crash looping"}, StartsAt: time.Now()},
		Source: investigate.SourceAlertmanager}
	res := &investigate.Result{
		Investigation: investigate.Investigation{ID: id, Request: &req, Target: req.EffectiveTarget(),
			Categorization: investigate.Categorization{Category: cat, DecidedBy: investigate.DecidedByRules}, StartedAt: time.Now()},
		Analysis: investigate.Analysis{Text: "## Root cause\n" + rootCause + "\n", Analyzer: "builtin"},
		Finished: time.Now(),
	}
	if err := f.st.RecordInvestigation(context.Background(), res); err != nil {
		t.Fatal(err)
	}
}

// recalled reports whether the engine's recall (FindSimilar with the
// case's own embedding text) finds case id.
func (f *fixture) recalled(t *testing.T, id string) bool {
	t.Helper()
	ctx := context.Background()
	c, err := f.st.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	vec, err := f.loop.embed(ctx, kb.EmbeddingText(c))
	if err != nil {
		t.Fatal(err)
	}
	sim, err := f.st.FindSimilar(ctx, vec, 0.75, 5)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sim {
		if s.ID == id {
			return true
		}
	}
	return false
}

func TestVotesValidateAndWithdrawalsUndo(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, step := range []struct {
		name          string
		vote          Vote
		wantValidated bool
	}{
		{"✅ by reaction validates", Vote{User: "U1", Correct: true}, true},
		{"❌ by another user outvotes nothing yet (a tie stays unvalidated)", Vote{User: "U2", Correct: false, Source: kb.SourceButton}, false},
		{"withdrawing the ❌ validates again", Vote{User: "U2", Correct: false, Withdraw: true}, true},
		{"withdrawing the ✅ leaves no verdict", Vote{User: "U1", Correct: true, Withdraw: true}, false},
		{"✅ by button validates", Vote{User: "U3", Correct: true, Source: kb.SourceButton}, true},
	} {
		step.vote.Case = f.id
		v, err := f.loop.Cast(ctx, step.vote)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if v.Validated != step.wantValidated || v.Case != f.id || v.At.IsZero() {
			t.Fatalf("%s: verdict %+v, want validated=%v", step.name, v, step.wantValidated)
		}
		if got := f.recalled(t, f.id); got != step.wantValidated {
			t.Fatalf("%s: recalled by similar alerts = %v, want %v", step.name, got, step.wantValidated)
		}
	}
	// Withdrawals are not counted as votes.
	if want := []string{"✅reaction", "❌button", "✅button"}; !equal(f.votes, want) {
		t.Errorf("counted votes %v, want %v", f.votes, want)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestCastFailures(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if _, err := f.loop.Cast(ctx, Vote{Case: "nope", User: "U1", Correct: true}); !errors.Is(err, ErrUnknownCase) {
		t.Errorf("vote on an unknown case: %v, want ErrUnknownCase", err)
	}
	down, err := New(Config{Store: f.st, Embedder: failingEmbedder{}, Log: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := down.Cast(ctx, Vote{Case: f.id, User: "U1", Correct: true}); err == nil {
		t.Fatal("a ✅ was recorded without its embedding")
	}
	if c, _ := f.st.Case(ctx, f.id); c.Validated || len(c.Embedding) != 0 {
		t.Errorf("a failed ✅ left the case validated=%v with %d dims", c.Validated, len(c.Embedding))
	}
	// A ❌ needs no embedding: it is recorded while the embedder is down.
	if v, err := down.Cast(ctx, Vote{Case: f.id, User: "U1", Correct: false}); err != nil || v.Validated {
		t.Errorf("❌ with the embedder down: %+v, %v", v, err)
	}
	if _, err := New(Config{Store: f.st}); err == nil {
		t.Error("New without an embedder succeeded")
	}
}

func TestMessagesFindTheirCase(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	root := Message{Case: f.id, Channel: "C1", ThreadTS: "100.1", TS: "100.1"}
	reply := Message{Case: f.id, Channel: "C1", ThreadTS: "100.1", TS: "100.2"}
	for _, m := range []Message{root, reply, {Case: "not-a-case", Channel: "C1", ThreadTS: "200.1", TS: "200.1"}} {
		if err := f.loop.LinkMessage(ctx, m); err != nil {
			t.Fatalf("link %+v: %v", m, err)
		}
	}
	for _, want := range []Message{root, reply} {
		got, ok, err := f.loop.CaseByMessage(ctx, want.Channel, want.TS)
		if err != nil || !ok || got != want {
			t.Errorf("case of %s = %+v, %v, %v; want %+v", want.TS, got, ok, err, want)
		}
	}
	if _, ok, err := f.loop.CaseByMessage(ctx, "C1", "200.1"); ok || err != nil {
		t.Errorf("a message of no case found one (ok=%v, err=%v)", ok, err)
	}
}

func TestBrowseValidatedCases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.record(t, "case-2", investigate.OOMKilled, "memory limit 64Mi below the working set")
	f.record(t, "case-3", investigate.OOMKilled, "never confirmed")
	for _, id := range []string{f.id, "case-2"} {
		if _, err := f.loop.Cast(ctx, Vote{Case: id, User: "U1", Correct: true}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.loop.LinkMessage(ctx, Message{Case: f.id, Channel: "C1", ThreadTS: "1.1", TS: "1.1"}); err != nil {
		t.Fatal(err)
	}
	s, err := f.loop.Stats(ctx)
	if err != nil || s.Overall.Cases != 3 || s.Overall.Correct != 2 {
		t.Fatalf("stats = %+v, %v", s.Overall, err)
	}
	all, err := f.loop.Cases(ctx, Query{Limit: 10})
	if err != nil || all.Total != 2 || len(all.Cases) != 2 {
		t.Fatalf("validated cases = %+v, %v", all, err)
	}
	oom, err := f.loop.Cases(ctx, Query{Category: investigate.OOMKilled, Limit: 10})
	if err != nil || oom.Total != 1 || len(oom.Cases) != 1 || oom.Cases[0].ID != "case-2" {
		t.Fatalf("validated OOM cases = %+v, %v", oom, err)
	}
	found, err := f.loop.Cases(ctx, Query{Text: "KubePodCrashLooping shop app-config missing", Limit: 5})
	if err != nil || len(found.Cases) == 0 {
		t.Fatalf("text search = %+v, %v", found, err)
	}
	for _, c := range found.Cases {
		if c.ID == "case-3" {
			t.Errorf("text search listed the unconfirmed case-3")
		}
	}
}
