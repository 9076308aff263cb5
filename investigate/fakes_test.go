package investigate_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync"

	"github.com/k8flex/k8flex/investigate"
)

// Hand-written recording fakes of the engine's ports: each method calls its
// function field (a sensible default when nil) and records the call.

var (
	_ investigate.Gatherer    = (*fakeGatherer)(nil)
	_ investigate.Snapshot    = (*fakeSnapshot)(nil)
	_ investigate.Analyzer    = (*fakeAnalyzer)(nil)
	_ investigate.Categorizer = (*fakeCategorizer)(nil)
	_ investigate.Embedder    = (*fakeEmbedder)(nil)
	_ investigate.CaseStore   = (*fakeStore)(nil)
	_ investigate.Reporter    = (*recordingReporter)(nil)
)

// callLog records the order in which the ports were called, across goroutines.
type callLog struct {
	mu    sync.Mutex
	calls []string
}

func (l *callLog) add(s string) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, s)
}

func (l *callLog) list() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.calls...)
}

// index returns the position of the first call named s, or -1.
func (l *callLog) index(s string) int {
	for i, c := range l.list() {
		if c == s {
			return i
		}
	}
	return -1
}

func (l *callLog) count(s string) int {
	n := 0
	for _, c := range l.list() {
		if c == s {
			n++
		}
	}
	return n
}

type fakeGatherer struct {
	log *callLog
	fn  func(ctx context.Context, t investigate.Target, c investigate.Category) (investigate.Snapshot, error)

	mu       sync.Mutex
	targets  []investigate.Target
	category []investigate.Category
}

func (g *fakeGatherer) Gather(ctx context.Context, t investigate.Target, c investigate.Category) (investigate.Snapshot, error) {
	g.log.add("gather")
	g.mu.Lock()
	g.targets = append(g.targets, t)
	g.category = append(g.category, c)
	g.mu.Unlock()
	if g.fn == nil {
		return &fakeSnapshot{log: g.log}, nil
	}
	return g.fn(ctx, t, c)
}

type fakeSnapshot struct {
	log      *callLog
	findings []investigate.Finding
	evidence investigate.Evidence
	alert    *investigate.Alert
}

func (s *fakeSnapshot) UseAlert(a *investigate.Alert) {
	s.log.add("use-alert")
	s.alert = a
}

func (s *fakeSnapshot) Diagnose() []investigate.Finding {
	s.log.add("diagnose")
	// A fresh copy each call, as a real snapshot derives them anew.
	out := make([]investigate.Finding, len(s.findings))
	for i, f := range s.findings {
		f.Proof = append([]string(nil), f.Proof...)
		f.Actions = append([]string(nil), f.Actions...)
		f.Objects = append([]string(nil), f.Objects...)
		out[i] = f
	}
	return out
}

func (s *fakeSnapshot) Evidence() investigate.Evidence {
	s.log.add("evidence")
	ev := s.evidence
	ev.Sections = append([]investigate.Section(nil), s.evidence.Sections...)
	ev.Gaps = append([]investigate.Gap(nil), s.evidence.Gaps...)
	return ev
}

type fakeAnalyzer struct {
	log *callLog
	fn  func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error)

	mu     sync.Mutex
	inputs []*investigate.AnalysisInput
}

func (a *fakeAnalyzer) Name() string { return "fake" }

func (a *fakeAnalyzer) Analyze(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
	a.log.add("analyze")
	a.mu.Lock()
	a.inputs = append(a.inputs, in)
	a.mu.Unlock()
	if a.fn == nil {
		return streamChunks(emit, "## Root cause\n", "The ConfigMap ", "", "is missing.\n")
	}
	return a.fn(ctx, in, emit)
}

func (a *fakeAnalyzer) input() *investigate.AnalysisInput {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.inputs) == 0 {
		return nil
	}
	return a.inputs[len(a.inputs)-1]
}

// streamChunks emits the chunks in order and returns their concatenation,
// as the Analyzer contract requires.
func streamChunks(emit func(string), chunks ...string) (investigate.Analysis, error) {
	for _, c := range chunks {
		emit(c)
	}
	return investigate.Analysis{Text: strings.Join(chunks, ""), Analyzer: "fake"}, nil
}

type fakeCategorizer struct {
	log *callLog
	fn  func(ctx context.Context, a *investigate.Alert, candidates []investigate.Category) (investigate.Category, error)

	mu         sync.Mutex
	calls      int
	candidates []investigate.Category
}

func (c *fakeCategorizer) Categorize(ctx context.Context, a *investigate.Alert, candidates []investigate.Category) (investigate.Category, error) {
	c.log.add("categorize")
	c.mu.Lock()
	c.calls++
	c.candidates = candidates
	c.mu.Unlock()
	return c.fn(ctx, a, candidates)
}

func (c *fakeCategorizer) callCount() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}

type fakeEmbedder struct {
	log *callLog
	fn  func(ctx context.Context, texts []string) ([][]float32, error)

	mu    sync.Mutex
	texts []string
}

func (e *fakeEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	e.log.add("embed")
	e.mu.Lock()
	e.texts = append(e.texts, texts...)
	e.mu.Unlock()
	if e.fn == nil {
		out := make([][]float32, len(texts))
		for i := range texts {
			out[i] = []float32{1, 0, 0}
		}
		return out, nil
	}
	return e.fn(ctx, texts)
}

func (e *fakeEmbedder) Dimensions() int { return 3 }

type fakeStore struct {
	log        *callLog
	findFn     func(ctx context.Context, emb []float32, threshold float64, topN int) ([]investigate.SimilarCase, error)
	feedbackFn func(ctx context.Context, c investigate.Category, alertName string, limit int) ([]investigate.PastFeedback, error)

	mu           sync.Mutex
	findArgs     []any
	feedbackArgs []any
}

func (s *fakeStore) FindSimilar(ctx context.Context, emb []float32, threshold float64, topN int) ([]investigate.SimilarCase, error) {
	s.log.add("find-similar")
	s.mu.Lock()
	s.findArgs = []any{emb, threshold, topN}
	s.mu.Unlock()
	if s.findFn == nil {
		return nil, nil
	}
	return s.findFn(ctx, emb, threshold, topN)
}

func (s *fakeStore) PastFeedback(ctx context.Context, c investigate.Category, alertName string, limit int) ([]investigate.PastFeedback, error) {
	s.log.add("past-feedback")
	s.mu.Lock()
	s.feedbackArgs = []any{c, alertName, limit}
	s.mu.Unlock()
	if s.feedbackFn == nil {
		return nil, nil
	}
	return s.feedbackFn(ctx, c, alertName, limit)
}

// recordingReporter records every call, in order, with copies of what it
// was given (a Slack reporter renders it at once).
type recordingReporter struct {
	log         *callLog
	startedErr  error
	finishedErr error

	mu       sync.Mutex
	events   []string // "started", "chunk", "finished"
	started  []investigate.Investigation
	chunks   []string
	finished []*investigate.Result
	rendered []string // JSON of what Started and Finished received
	// logs, when set, is the engine's log; logsAtFinish is what it held
	// when Finished was called.
	logs         interface{ String() string }
	logsAtFinish string
}

func (r *recordingReporter) Started(ctx context.Context, inv *investigate.Investigation) error {
	r.log.add("reporter-started")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "started")
	r.started = append(r.started, *inv)
	r.rendered = append(r.rendered, string(mustMarshal(inv)))
	return r.startedErr
}

func (r *recordingReporter) Chunk(ctx context.Context, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "chunk")
	r.chunks = append(r.chunks, text)
}

func (r *recordingReporter) Finished(ctx context.Context, res *investigate.Result) error {
	r.log.add("reporter-finished")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, "finished")
	r.finished = append(r.finished, res)
	r.rendered = append(r.rendered, string(mustMarshal(res)))
	if r.logs != nil {
		r.logsAtFinish = r.logs.String()
	}
	return r.finishedErr
}

func (r *recordingReporter) text() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.chunks, "")
}

// mustMarshal renders v as JSON, as a store or a Slack reporter would.
func mustMarshal(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		return []byte("marshal error: " + err.Error())
	}
	return b
}
