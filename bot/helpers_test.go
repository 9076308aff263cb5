package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

const testChannel = "C0ALERTS"

// eventually polls cond until it holds or the timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testConfig is a valid config against fs with short intervals.
func testConfig(fs *fakeslack.Server) Config {
	c := DefaultConfig()
	c.BotToken, c.AppToken, c.Channel = fs.BotToken(), fs.AppToken(), testChannel
	c.APIURL = fs.APIURL()
	c.UpdateInterval = 50 * time.Millisecond
	c.StreamInterval = 20 * time.Millisecond
	c.PostInterval = 10 * time.Millisecond
	c.PingInterval = 2 * time.Second
	return c
}

// startBot runs a Bot against fs until the test ends. Close fs with
// t.Cleanup (not defer), so that it outlives the bot: the bot delivers
// its threads until Close.
func startBot(t *testing.T, fs *fakeslack.Server, cfg Config, deps Deps) *Bot {
	t.Helper()
	b, err := New(cfg, deps, zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel))
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if f, ok := deps.Queue.(*fakeInvestigator); ok {
		f.attach(b)
	}
	before := fs.Connections()
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx) }()
	t.Cleanup(func() {
		cctx, ccancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer ccancel()
		if err := b.Close(cctx); err != nil {
			t.Errorf("Close: %v", err)
		}
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	eventually(t, 5*time.Second, "socket mode connection", func() bool { return fs.Connections() > before })
	return b
}

// texts collects every "text" string in a blocks JSON document.
func texts(t *testing.T, blocksJSON string) string {
	t.Helper()
	if blocksJSON == "" {
		return ""
	}
	var v any
	if err := json.Unmarshal([]byte(blocksJSON), &v); err != nil {
		t.Fatalf("blocks are not JSON: %v\n%s", err, blocksJSON)
	}
	var b strings.Builder
	var walk func(any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, y := range x {
				if s, ok := y.(string); ok && k == "text" {
					b.WriteString(s + "\n")
					continue
				}
				walk(y)
			}
		case []any:
			for _, y := range x {
				walk(y)
			}
		}
	}
	walk(v)
	return b.String()
}

// checkLimits asserts Slack's Block Kit limits on a blocks JSON document.
func checkLimits(t *testing.T, what, blocksJSON string, maxBlocks int) {
	t.Helper()
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(blocksJSON), &blocks); err != nil {
		t.Fatalf("%s: blocks are not a JSON array: %v", what, err)
	}
	if len(blocks) > maxBlocks {
		t.Errorf("%s: %d blocks, Slack allows %d", what, len(blocks), maxBlocks)
	}
	for i, bl := range blocks {
		if txt, ok := bl["text"].(map[string]any); ok {
			if s, _ := txt["text"].(string); len([]rune(s)) > MaxSectionChars {
				t.Errorf("%s: block %d (%v) has %d chars, Slack allows %d", what, i, bl["type"], len([]rune(s)), MaxSectionChars)
			}
		}
		if fields, ok := bl["fields"].([]any); ok {
			if len(fields) > 10 {
				t.Errorf("%s: block %d has %d fields", what, i, len(fields))
			}
		}
	}
}

func testAlert(name string) *investigate.Alert {
	return &investigate.Alert{
		Status: investigate.StatusFiring,
		Labels: map[string]string{"alertname": name, "severity": "critical", "namespace": "shop", "pod": "web-0"},
		Annotations: map[string]string{
			"summary":     "Pod shop/web-0 is crash looping",
			"description": "Pod web-0 restarted 5 times in 10 minutes.",
			"runbook_url": "https://runbooks.example/KubePodCrashLooping",
		},
		StartsAt:     time.Now().Add(-5 * time.Minute),
		GeneratorURL: "http://prometheus.example/graph?g0.expr=up&g0.tab=1",
		Fingerprint:  "abc123",
	}
}

func testInvestigation(id string, a *investigate.Alert) *investigate.Investigation {
	req := &investigate.Request{ID: id, Alert: a, Source: investigate.SourceAlertmanager, RequestedBy: "alertmanager"}
	return &investigate.Investigation{
		ID: id, Request: req, Target: req.EffectiveTarget(),
		Categorization: investigate.Categorization{Category: investigate.PodCrash, Confidence: 0.9, DecidedBy: investigate.DecidedByRules},
		Similar: []investigate.SimilarCase{{ID: "case-old", AlertName: "KubePodCrashLooping", Category: investigate.PodCrash,
			Similarity: 0.91, RootCause: "ConfigMap app-settings missing", ThreadURL: "https://slack.example/archives/C0ALERTS/p1690000000000100"}},
		StartedAt: time.Now(),
	}
}

func testResult(inv *investigate.Investigation, text string) *investigate.Result {
	return &investigate.Result{Investigation: *inv,
		Analysis: investigate.Analysis{Text: text, Analyzer: "builtin", Model: "rules-v1", Usage: investigate.Usage{InputTokens: 1200, OutputTokens: 340}},
		Finished: time.Now()}
}

// fakeKB is a FeedbackRecorder and KnowledgeBrowser over memory.
type fakeKB struct {
	mu       sync.Mutex
	cases    map[string]*CaseSummary
	verdicts map[string]Verdict
	calls    []Verdict
}

func newFakeKB() *fakeKB {
	return &fakeKB{cases: map[string]*CaseSummary{}, verdicts: map[string]Verdict{}}
}

func (k *fakeKB) add(c CaseSummary) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.cases[c.ID] = &c
}

func (k *fakeKB) RecordFeedback(_ context.Context, caseRef, user string, correct bool, source string) (Verdict, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.cases[caseRef]; !ok {
		return Verdict{}, fmt.Errorf("case %s not found", caseRef)
	}
	v := Verdict{CaseRef: caseRef, Correct: correct, User: user, Source: source, At: time.Now()}
	k.verdicts[caseRef] = v
	k.calls = append(k.calls, v)
	return v, nil
}

func (k *fakeKB) WithdrawFeedback(_ context.Context, caseRef, user string, correct bool) (Verdict, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.cases[caseRef]; !ok {
		return Verdict{}, fmt.Errorf("case %s not found", caseRef)
	}
	v := Verdict{CaseRef: caseRef, Correct: correct, User: user, At: time.Now(), Withdrawn: true}
	if cur, ok := k.verdicts[caseRef]; ok && cur.User == user && cur.Correct == correct {
		delete(k.verdicts, caseRef)
	}
	k.calls = append(k.calls, v)
	return v, nil
}

func (k *fakeKB) feedback() []Verdict {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([]Verdict(nil), k.calls...)
}

func (k *fakeKB) Stats(context.Context) (KnowledgeStats, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	st := KnowledgeStats{Cases: len(k.cases)}
	by := map[investigate.Category]*CategoryStats{}
	for id, c := range k.cases {
		cs := by[c.Category]
		if cs == nil {
			cs = &CategoryStats{Category: c.Category}
			by[c.Category] = cs
		}
		cs.Cases++
		if v, ok := k.verdicts[id]; ok {
			if v.Correct {
				st.Validated++
				cs.Validated++
			} else {
				st.Rejected++
				cs.Rejected++
			}
		}
	}
	for _, cs := range by {
		st.ByCategory = append(st.ByCategory, *cs)
	}
	return st, nil
}

func (k *fakeKB) Cases(_ context.Context, q CaseQuery) (CasePage, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var all []CaseSummary
	for id, c := range k.cases {
		if v, ok := k.verdicts[id]; !ok || !v.Correct {
			continue
		}
		if q.Category != "" && c.Category != q.Category {
			continue
		}
		if q.Text != "" && !strings.Contains(strings.ToLower(c.AlertName+" "+c.RootCause), strings.ToLower(q.Text)) {
			continue
		}
		all = append(all, *c)
	}
	p := CasePage{Total: len(all)}
	if q.Offset < len(all) {
		all = all[q.Offset:]
		if q.Limit > 0 && len(all) > q.Limit {
			all = all[:q.Limit]
		}
		p.Cases = all
	}
	return p, nil
}

// fakeInvestigator is the queue and worker pool in one: each enqueued
// request is "claimed" at once and a canned analysis streamed into the
// reporter the bot gives for it (ReporterFor), as a worker does.
type fakeInvestigator struct {
	mu       sync.Mutex
	reqs     []*investigate.Request
	analysis string
	kb       *fakeKB
	bot      *Bot
}

var _ investigate.Enqueuer = (*fakeInvestigator)(nil)

// attach gives the fake the bot whose reporters it uses.
func (f *fakeInvestigator) attach(b *Bot) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bot = b
}

func (f *fakeInvestigator) Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	out := make([]investigate.Enqueued, len(reqs))
	for i := range reqs {
		req := reqs[i]
		f.mu.Lock()
		f.reqs = append(f.reqs, &req)
		id := fmt.Sprintf("case-slash-%d", len(f.reqs))
		b := f.bot
		f.mu.Unlock()
		req.ID = id
		out[i] = investigate.Enqueued{ID: id}
		if b != nil {
			f.investigate(ctx, &req, b.ReporterFor(&req))
		}
	}
	return out, nil
}

func (f *fakeInvestigator) investigate(ctx context.Context, req *investigate.Request, r investigate.Reporter) {
	id := req.ID
	inv := &investigate.Investigation{ID: id, Request: req, Target: req.Target, StartedAt: time.Now(),
		Categorization: investigate.Categorization{Category: investigate.PodCrash, DecidedBy: investigate.DecidedByRules}}
	if f.kb != nil {
		f.kb.add(CaseSummary{ID: id, AlertName: req.AlertName(), Category: investigate.PodCrash, Namespace: req.Target.Namespace})
	}
	go func() {
		ctx := context.WithoutCancel(ctx)
		if err := r.Started(ctx, inv); err != nil {
			return
		}
		for _, line := range strings.SplitAfter(f.analysis, "\n") {
			r.Chunk(ctx, line)
		}
		_ = r.Finished(ctx, testResult(inv, f.analysis))
	}()
}

func (f *fakeInvestigator) requests() []*investigate.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*investigate.Request(nil), f.reqs...)
}

func zerologNop() zerolog.Logger { return zerolog.Nop() }
