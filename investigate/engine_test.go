package investigate_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// plantedKey is an AWS access key id (AWS's documentation example): the
// redactor masks it, so it must appear nowhere the engine sends text.
const plantedKey = "AKIAIOSFODNN7EXAMPLE"

var t0 = time.Date(2026, 11, 19, 13, 20, 0, 0, time.UTC)

// fakeClock returns t0, t0+1s, t0+2s, ... safely across goroutines.
func fakeClock() func() time.Time {
	var mu sync.Mutex
	n := 0
	return func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		n++
		return t0.Add(time.Duration(n-1) * time.Second)
	}
}

func crashAlert() *investigate.Alert {
	return &investigate.Alert{
		Status: investigate.StatusFiring, Fingerprint: "9f66a917",
		Labels: map[string]string{"alertname": "KubePodCrashLooping", "severity": "warning", "namespace": "shop",
			"pod": "inventory-api-5d8f9c7b64-xk2vq", "container": "inventory-api", "reason": "CrashLoopBackOff"},
		Annotations: map[string]string{"summary": "Pod is crash looping."},
		StartsAt:    t0.Add(-5 * time.Minute),
	}
}

// upstreamAlert is the team alert of the networkpolicy-default-deny scenario:
// its name says "upstream errors", which the rules cannot pin down.
func upstreamAlert() *investigate.Alert {
	return &investigate.Alert{
		Status: investigate.StatusFiring,
		Labels: map[string]string{"alertname": "FrontendUpstreamErrors", "namespace": "web", "service": "frontend",
			"severity": "critical", "upstream": "orders_api"},
		Annotations: map[string]string{"summary": "frontend: upstream orders_api is failing",
			"description": "87.4% of frontend requests to upstream orders_api ended with 5xx over the last 5 minutes."},
		StartsAt: t0.Add(-3 * time.Minute),
	}
}

// rig is an engine with every port faked, recording into one call log.
type rig struct {
	log   *callLog
	gath  *fakeGatherer
	snap  *fakeSnapshot
	an    *fakeAnalyzer
	cat   *fakeCategorizer
	emb   *fakeEmbedder
	store *fakeStore
	rep   *recordingReporter
	logs  *syncBuffer
	opts  investigate.Options
}

// syncBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newRig() *rig {
	r := &rig{log: &callLog{}, logs: &syncBuffer{}}
	r.snap = &fakeSnapshot{log: r.log,
		findings: []investigate.Finding{{Rule: "missing-configmap", Severity: investigate.FindingCritical, Score: 90,
			Summary: "ConfigMap shop/app-settings does not exist", Proof: []string{`configmap "app-settings" not found`}}},
		evidence: investigate.Evidence{
			Target: investigate.Target{Kind: investigate.KindPod, Name: "inventory-api-5d8f9c7b64-xk2vq", Namespace: "shop",
				Pod: "inventory-api-5d8f9c7b64-xk2vq", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "inventory-api"}},
			Sections: []investigate.Section{
				{Name: "pod/describe", Title: "Pod shop/inventory-api description", Body: "State: Waiting (CrashLoopBackOff)\n"},
				{Name: "pod/logs", Title: "Logs inventory-api (previous)", Priority: 1, Body: "panic: open /etc/app/settings.yaml: no such file\n"},
			},
			APIRequests: 7,
		}}
	r.gath = &fakeGatherer{log: r.log, fn: func(ctx context.Context, t investigate.Target, c investigate.Category) (investigate.Snapshot, error) {
		return r.snap, nil
	}}
	r.an = &fakeAnalyzer{log: r.log}
	r.cat = &fakeCategorizer{log: r.log, fn: func(context.Context, *investigate.Alert, []investigate.Category) (investigate.Category, error) {
		return investigate.NetworkPolicy, nil
	}}
	r.emb = &fakeEmbedder{log: r.log}
	r.store = &fakeStore{log: r.log}
	r.rep = &recordingReporter{log: r.log, logs: r.logs}
	r.opts = investigate.Options{Gatherer: r.gath, Analyzer: r.an, Categorizer: r.cat, Embedder: r.emb, Store: r.store,
		Log: zerolog.New(r.logs), Now: fakeClock(), NewID: func() string { return "inv-1" }}
	return r
}

func (r *rig) run(t *testing.T, req *investigate.Request) (*investigate.Result, error) {
	t.Helper()
	e, err := investigate.New(r.opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	res, err := e.Run(context.Background(), req, r.rep)
	if res == nil {
		t.Fatalf("Run returned no Result (err %v)", err)
	}
	return res, err
}

// checkReporting asserts the Reporter contract: Started once, then the
// chunks, then Finished exactly once with the returned result.
func (r *rig) checkReporting(t *testing.T, res *investigate.Result) {
	t.Helper()
	r.rep.mu.Lock()
	events := append([]string(nil), r.rep.events...)
	finished := append([]*investigate.Result(nil), r.rep.finished...)
	chunks := append([]string(nil), r.rep.chunks...)
	r.rep.mu.Unlock()
	if len(events) < 2 || events[0] != "started" || events[len(events)-1] != "finished" {
		t.Fatalf("reporter events %v, want started, chunk..., finished", events)
	}
	for _, e := range events[1 : len(events)-1] {
		if e != "chunk" {
			t.Errorf("reporter events %v: %s between started and finished", events, e)
		}
	}
	if len(finished) != 1 || finished[0] != res {
		t.Errorf("Finished called %d times (want once, with the returned result)", len(finished))
	}
	if slices.Contains(chunks, "") {
		t.Errorf("an empty chunk reached the reporter")
	}
	if got := strings.Join(chunks, ""); got != res.Analysis.Text {
		t.Errorf("chunks concatenate to %q, Analysis.Text is %q", got, res.Analysis.Text)
	}
}

func TestNewRequiresGathererAndAnalyzer(t *testing.T) {
	for _, tt := range []struct {
		name string
		o    investigate.Options
		want string
	}{
		{"no gatherer", investigate.Options{Analyzer: &fakeAnalyzer{}}, "Gatherer"},
		{"no analyzer", investigate.Options{Gatherer: &fakeGatherer{}}, "Analyzer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := investigate.New(tt.o)
			if err == nil || e != nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("New = %v, %v; want an error naming %s", e, err, tt.want)
			}
		})
	}
	e, err := investigate.New(investigate.Options{Gatherer: &fakeGatherer{}, Analyzer: &fakeAnalyzer{}})
	if err != nil || e.AnalyzerName() != "fake" {
		t.Fatalf("New with the required ports: %v", err)
	}
}

func TestEngineRunEndToEnd(t *testing.T) {
	r := newRig()
	const delay = 3 * time.Millisecond
	r.snap.evidence.Sections[0].Body += strings.Repeat("x", 10)
	gatherFn := r.gath.fn
	r.gath.fn = func(ctx context.Context, tg investigate.Target, c investigate.Category) (investigate.Snapshot, error) {
		time.Sleep(delay)
		return gatherFn(ctx, tg, c)
	}
	similar := []investigate.SimilarCase{{ID: "case-7", AlertName: "KubePodCrashLooping", Category: investigate.PodCrash,
		Similarity: 0.91, RootCause: "ConfigMap app-config deleted by a cleanup job"}}
	r.store.findFn = func(ctx context.Context, emb []float32, th float64, n int) ([]investigate.SimilarCase, error) {
		time.Sleep(delay)
		return similar, nil
	}
	r.store.feedbackFn = func(ctx context.Context, c investigate.Category, name string, limit int) ([]investigate.PastFeedback, error) {
		return []investigate.PastFeedback{{AlertName: name, Correct: false, RootCause: "blamed the registry"}}, nil
	}
	r.an.fn = func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
		time.Sleep(delay)
		return streamChunks(emit, "## Root cause\n", "", "ConfigMap shop/app-settings ", "does not exist.\n", "## Evidence\n- x\n")
	}
	req := &investigate.Request{Alert: crashAlert(), Source: investigate.SourceAlertmanager, RequestedBy: "alertmanager"}
	res, err := r.run(t, req)
	if err != nil || res.Err != "" {
		t.Fatalf("Run: %v (Result.Err %q)", err, res.Err)
	}

	// Identity and clock.
	if res.ID != "inv-1" || req.ID != "inv-1" || res.Request != req {
		t.Errorf("ID %q, request ID %q", res.ID, req.ID)
	}
	if !res.StartedAt.Equal(t0) || !res.Finished.After(res.StartedAt) {
		t.Errorf("StartedAt %v Finished %v", res.StartedAt, res.Finished)
	}

	// Stage order, as the ports saw it. Recall runs beside gather, but is
	// over before the prompt is built.
	calls := r.log.list()
	before := func(a, b string) {
		t.Helper()
		ia, ib := r.log.index(a), r.log.index(b)
		if ia < 0 || ib < 0 || ia >= ib {
			t.Errorf("%s (at %d) must come before %s (at %d) in %v", a, ia, b, ib, calls)
		}
	}
	before("reporter-started", "gather")
	before("gather", "use-alert")
	before("use-alert", "diagnose")
	if r.snap.alert != req.Alert {
		t.Errorf("the snapshot was not handed the request's alert: %+v", r.snap.alert)
	}
	before("embed", "find-similar")
	before("find-similar", "past-feedback")
	before("diagnose", "past-feedback")
	before("past-feedback", "analyze")
	before("analyze", "reporter-finished")
	for _, c := range []string{"gather", "diagnose", "embed", "find-similar", "past-feedback", "analyze", "reporter-started", "reporter-finished"} {
		if n := r.log.count(c); n != 1 {
			t.Errorf("%s called %d times, want once", c, n)
		}
	}
	if r.cat.callCount() != 0 {
		t.Errorf("categorizer asked although the rules were sure")
	}

	// Every stage timed exactly once; the slow fakes show in their stage.
	var stages []investigate.Stage
	for _, st := range res.Timings {
		stages = append(stages, st.Stage)
		if st.Duration < 0 {
			t.Errorf("stage %s took %v", st.Stage, st.Duration)
		}
	}
	all := []investigate.Stage{investigate.StageCategorize, investigate.StageRecall, investigate.StageGather, investigate.StageDiagnose,
		investigate.StagePrompt, investigate.StageAnalyze}
	for _, s := range all {
		n := 0
		for _, got := range stages {
			if got == s {
				n++
			}
		}
		if n != 1 {
			t.Errorf("stage %s timed %d times in %v", s, n, stages)
		}
	}
	if len(res.Timings) != len(all) {
		t.Errorf("%d timings, want %d: %v", len(res.Timings), len(all), stages)
	}
	for _, s := range []investigate.Stage{investigate.StageGather, investigate.StageRecall, investigate.StageAnalyze} {
		if d := res.Duration(s); d < delay {
			t.Errorf("stage %s took %v, its fake sleeps %v", s, d, delay)
		}
	}

	// Categorisation, target, what the gatherer was asked.
	if c := res.Categorization; c.Category != investigate.PodCrash || c.DecidedBy != investigate.DecidedByRules || c.Confidence < investigate.ConfidentRule {
		t.Errorf("categorization %+v", c)
	}
	if len(r.gath.targets) != 1 || r.gath.targets[0] != investigate.TargetFromAlert(req.Alert) || r.gath.category[0] != investigate.PodCrash {
		t.Errorf("gatherer asked for %v %v", r.gath.targets, r.gath.category)
	}
	if res.Target != r.snap.evidence.Target {
		t.Errorf("Target %v, want the gatherer's resolved target %v", res.Target, r.snap.evidence.Target)
	}

	// Recall and feedback went to the store with the defaults and came back.
	if len(r.emb.texts) != 1 || r.emb.texts[0] != investigate.EmbeddingText(req, investigate.PodCrash) {
		t.Errorf("embedded %q", r.emb.texts)
	}
	if fmt.Sprint(r.store.findArgs) != fmt.Sprint([]any{[]float32{1, 0, 0}, 0.75, 5}) {
		t.Errorf("FindSimilar(%v), want the embedding, 0.75, 5", r.store.findArgs)
	}
	if fmt.Sprint(r.store.feedbackArgs) != fmt.Sprint([]any{investigate.PodCrash, "KubePodCrashLooping", 5}) {
		t.Errorf("PastFeedback(%v)", r.store.feedbackArgs)
	}
	if len(res.Similar) != 1 || res.Similar[0].ID != "case-7" || len(res.Feedback) != 1 {
		t.Errorf("Similar %v Feedback %v", res.Similar, res.Feedback)
	}

	// The prompt holds all of it and is what the analyzer received.
	for _, want := range []string{"ConfigMap app-config deleted by a cleanup job", "judged WRONG: blamed the registry",
		"ConfigMap shop/app-settings does not exist", "panic: open /etc/app/settings.yaml", "Target: pod/inventory-api-5d8f9c7b64-xk2vq -n shop"} {
		if !strings.Contains(res.Prompt.User, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
	in := r.an.input()
	if in == nil || in.Prompt.User != res.Prompt.User || in.Request != req || in.Categorization != res.Categorization ||
		len(in.Findings) != 1 || len(in.Evidence.Sections) != 2 || len(in.Similar) != 1 || in.Target != res.Target {
		t.Errorf("analyzer input does not carry the investigation: %+v", in)
	}
	if res.Prompt.Tokens == 0 || res.Prompt.Chars != len(res.Prompt.System)+len(res.Prompt.User) {
		t.Errorf("prompt size %d chars %d tokens", res.Prompt.Chars, res.Prompt.Tokens)
	}
	if res.RootCause() != "ConfigMap shop/app-settings does not exist." {
		t.Errorf("RootCause %q", res.RootCause())
	}

	// Reporter and store saw this investigation.
	r.checkReporting(t, res)
	if s := r.rep.started[0]; s.ID != "inv-1" || s.Categorization.Category != investigate.PodCrash || s.Request != req || s.Target.Kind != investigate.KindPod {
		t.Errorf("Started with %+v", s)
	}
	if r.rep.logsAtFinish == "" || strings.Contains(r.rep.logsAtFinish, "investigation finished") {
		t.Errorf("the investigation was logged finished before the reporter's Finished (where a worker stores it)")
	}
	if res.Duration(investigate.StageRecord) != 0 {
		t.Errorf("the engine timed a record stage: it stores nothing")
	}
	if !strings.Contains(r.logs.String(), `"investigation":"inv-1"`) || !strings.Contains(r.logs.String(), "investigation finished") {
		t.Errorf("logs lack the investigation id or the finish line:\n%s", r.logs)
	}
}

func TestEngineCategorization(t *testing.T) {
	bad := errors.New("provider said 401 for key " + plantedKey)
	for _, tt := range []struct {
		name       string
		req        func() *investigate.Request
		noCat      bool // no Categorizer configured
		answer     func(ctx context.Context) (investigate.Category, error)
		timeout    time.Duration
		want       investigate.Category
		decidedBy  investigate.Decider
		asked      bool
		reasonHas  string
		reasonNot  string
		confidence float64 // minimum
	}{
		{name: "rules sure: model not asked", req: func() *investigate.Request { return &investigate.Request{Alert: crashAlert()} },
			want: investigate.PodCrash, decidedBy: investigate.DecidedByRules, confidence: investigate.ConfidentRule},
		{name: "rules unsure: model decides", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			answer: func(context.Context) (investigate.Category, error) { return investigate.NetworkPolicy, nil },
			want:   investigate.NetworkPolicy, decidedBy: investigate.DecidedByLLM, asked: true, reasonHas: "service-down",
			confidence: investigate.ConfidentRule},
		{name: "model answers no category", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			answer: func(context.Context) (investigate.Category, error) { return "network problem", nil },
			want:   investigate.ServiceDown, decidedBy: investigate.DecidedByRulesFallback, asked: true, reasonHas: `"network problem"`},
		{name: "model fails", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			answer: func(context.Context) (investigate.Category, error) { return "", bad },
			want:   investigate.ServiceDown, decidedBy: investigate.DecidedByRulesFallback, asked: true,
			reasonHas: "provider said 401", reasonNot: plantedKey},
		{name: "model fails but answers a category", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			answer: func(context.Context) (investigate.Category, error) { return investigate.DNSIssues, bad },
			want:   investigate.ServiceDown, decidedBy: investigate.DecidedByRulesFallback, asked: true},
		{name: "model too slow", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			answer: func(ctx context.Context) (investigate.Category, error) {
				<-ctx.Done()
				return "", ctx.Err()
			},
			timeout: 20 * time.Millisecond,
			want:    investigate.ServiceDown, decidedBy: investigate.DecidedByRulesFallback, asked: true, reasonHas: "deadline"},
		{name: "rules unsure, no model", req: func() *investigate.Request { return &investigate.Request{Alert: upstreamAlert()} },
			noCat: true, want: investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
		{name: "category given by the request", req: func() *investigate.Request {
			return &investigate.Request{Alert: upstreamAlert(), Category: investigate.DNSIssues}
		}, want: investigate.DNSIssues, decidedBy: investigate.DecidedByRequest, confidence: 1},
		{name: "manual: node target", req: func() *investigate.Request {
			return &investigate.Request{Target: investigate.Target{Kind: investigate.KindNode, Name: "worker-2"}}
		}, want: investigate.NodeNotReady, decidedBy: investigate.DecidedByRules, reasonHas: "node/worker-2"},
		{name: "manual: service target", req: func() *investigate.Request {
			return &investigate.Request{Target: investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop"}}
		}, want: investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
		{name: "manual: question names the trouble", req: func() *investigate.Request {
			return &investigate.Request{Target: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop"},
				Question: "was it OOMKilled?"}
		}, want: investigate.OOMKilled, decidedBy: investigate.DecidedByRules},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			r.snap.findings = nil // no evidence-based correction here
			if tt.answer != nil {
				r.cat.fn = func(ctx context.Context, _ *investigate.Alert, _ []investigate.Category) (investigate.Category, error) {
					return tt.answer(ctx)
				}
			}
			if tt.noCat {
				r.opts.Categorizer = nil
			}
			r.opts.CategorizeTimeout = tt.timeout
			res, err := r.run(t, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			c := res.Categorization
			if c.Category != tt.want || c.DecidedBy != tt.decidedBy {
				t.Errorf("categorization %+v, want %s decided by %s", c, tt.want, tt.decidedBy)
			}
			if c.Confidence < tt.confidence {
				t.Errorf("confidence %.2f below %.2f", c.Confidence, tt.confidence)
			}
			if asked := r.cat.callCount() > 0; asked != tt.asked {
				t.Errorf("model asked = %v, want %v", asked, tt.asked)
			}
			if tt.asked && !slices.Equal(r.cat.candidates, investigate.Categories()) {
				t.Errorf("model offered %v, want every category", r.cat.candidates)
			}
			if !strings.Contains(c.Reason, tt.reasonHas) || (tt.reasonNot != "" && strings.Contains(c.Reason, tt.reasonNot)) {
				t.Errorf("reason %q: want %q in it and not %q", c.Reason, tt.reasonHas, tt.reasonNot)
			}
			if r.gath.category[0] != tt.want {
				t.Errorf("gathered for %s, want %s", r.gath.category[0], tt.want)
			}
			if r.rep.started[0].Categorization != c {
				t.Errorf("Started saw %+v", r.rep.started[0].Categorization)
			}
		})
	}
}

func TestEngineRecategorizeByEvidence(t *testing.T) {
	np := investigate.Finding{Rule: "netpol-blocks", Score: 90, Category: investigate.NetworkPolicy,
		Summary: "NetworkPolicy web/default-deny blocks egress from frontend to orders-api:8080"}
	symptom := investigate.Finding{Rule: "upstream-5xx", Score: 40, Summary: "frontend logs 503 from orders-api"}
	for _, tt := range []struct {
		name      string
		req       *investigate.Request
		noCat     bool
		catFails  bool
		findings  []investigate.Finding
		want      investigate.Category
		decidedBy investigate.Decider
	}{
		{name: "rules unsure, finding implies another category", req: &investigate.Request{Alert: upstreamAlert()}, noCat: true,
			findings: []investigate.Finding{np, symptom}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByEvidence},
		{name: "rules fell back after the model failed", req: &investigate.Request{Alert: upstreamAlert()}, catFails: true,
			findings: []investigate.Finding{np}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByEvidence},
		{name: "manual request", req: &investigate.Request{Target: investigate.Target{Kind: investigate.KindService, Name: "frontend", Namespace: "web"}},
			findings: []investigate.Finding{np}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByEvidence},
		{name: "rules sure: kept", req: &investigate.Request{Alert: crashAlert()},
			findings: []investigate.Finding{np}, want: investigate.PodCrash, decidedBy: investigate.DecidedByRules},
		{name: "model decided: kept", req: &investigate.Request{Alert: upstreamAlert()},
			findings: []investigate.Finding{{Category: investigate.DNSIssues, Summary: "x"}}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByLLM},
		{name: "request decided: kept", req: &investigate.Request{Alert: upstreamAlert(), Category: investigate.ServiceDown},
			findings: []investigate.Finding{np}, want: investigate.ServiceDown, decidedBy: investigate.DecidedByRequest},
		{name: "top finding implies nothing: kept", req: &investigate.Request{Alert: upstreamAlert()}, noCat: true,
			findings: []investigate.Finding{symptom, np}, want: investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
		{name: "top finding agrees: kept", req: &investigate.Request{Alert: upstreamAlert()}, noCat: true,
			findings: []investigate.Finding{{Category: investigate.ServiceDown, Summary: "x"}}, want: investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
		{name: "no findings: kept", req: &investigate.Request{Alert: upstreamAlert()}, noCat: true,
			want: investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
		{name: "provisional symptom alert: corrected", req: &investigate.Request{Alert: namedAlert("KubeDeploymentReplicasMismatch")},
			findings: []investigate.Finding{np}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByEvidence},
		{name: "failed probe: corrected within traffic", req: &investigate.Request{Alert: namedAlert("BlackboxProbeFailed")},
			findings: []investigate.Finding{np}, want: investigate.NetworkPolicy, decidedBy: investigate.DecidedByEvidence},
		{name: "failed probe: a pod-level cause keeps service-down", req: &investigate.Request{Alert: namedAlert("BlackboxProbeFailed")},
			findings: []investigate.Finding{{Rule: "failedcreate-webhook", Score: 90, Category: investigate.PodPending, Summary: "webhook denies pods"}},
			want:     investigate.ServiceDown, decidedBy: investigate.DecidedByRules},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			r.snap.findings = tt.findings
			r.snap.evidence.Target = investigate.Target{}
			if tt.noCat {
				r.opts.Categorizer = nil
			}
			if tt.catFails {
				r.cat.fn = func(context.Context, *investigate.Alert, []investigate.Category) (investigate.Category, error) {
					return "", errors.New("model down")
				}
			}
			res, err := r.run(t, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			c := res.Categorization
			if c.Category != tt.want || c.DecidedBy != tt.decidedBy {
				t.Fatalf("categorization %+v, want %s decided by %s", c, tt.want, tt.decidedBy)
			}
			if tt.decidedBy == investigate.DecidedByEvidence {
				if !strings.Contains(c.Reason, np.Summary) || c.Confidence < investigate.ConfidentRule {
					t.Errorf("reason %q / confidence %.2f: must cite the finding", c.Reason, c.Confidence)
				}
				// The corrected category reaches the prompt, the analyzer
				// and the store, not only the result.
				if !strings.Contains(res.Prompt.User, "Category: network-policy (decided by evidence") {
					t.Errorf("prompt keeps the old category")
				}
				if r.an.input().Categorization != c || r.rep.finished[0].Categorization != c {
					t.Errorf("analyzer or store saw another categorization")
				}
				if !strings.Contains(r.logs.String(), "category corrected by evidence") {
					t.Errorf("correction not logged")
				}
			}
		})
	}
}

func TestEngineGatherError(t *testing.T) {
	r := newRig()
	r.gath.fn = func(context.Context, investigate.Target, investigate.Category) (investigate.Snapshot, error) {
		return nil, errors.New("pods is forbidden: token " + plantedKey + " cannot list pods")
	}
	req := &investigate.Request{Alert: crashAlert()}
	res, err := r.run(t, req)
	if err != nil || res.Err != "" {
		t.Fatalf("a failed gather must not fail the run: %v %q", err, res.Err)
	}
	if len(res.Evidence.Gaps) != 1 || res.Evidence.Gaps[0].Collector != "gather" || !strings.Contains(res.Evidence.Gaps[0].Reason, "forbidden") {
		t.Fatalf("gaps %+v, want one gap for the gather", res.Evidence.Gaps)
	}
	if strings.Contains(res.Evidence.Gaps[0].Reason, plantedKey) {
		t.Errorf("gap reason not redacted: %q", res.Evidence.Gaps[0].Reason)
	}
	if res.Findings != nil || r.log.count("diagnose") != 0 {
		t.Errorf("findings %v without a snapshot", res.Findings)
	}
	if res.Target != investigate.TargetFromAlert(req.Alert) || res.Evidence.Target != res.Target {
		t.Errorf("target %v / evidence target %v", res.Target, res.Evidence.Target)
	}
	if r.log.count("analyze") != 1 || res.Analysis.Text == "" {
		t.Errorf("analysis did not run")
	}
	if !strings.Contains(res.Prompt.User, "# Evidence that could not be gathered\n- gather: pods is forbidden") {
		t.Errorf("prompt does not report the gap:\n%s", res.Prompt.User)
	}
	r.checkReporting(t, res)
}

func TestEngineAnalyzerError(t *testing.T) {
	sentinel := errors.New("model returned 500 for key " + plantedKey)
	for _, tt := range []struct {
		name    string
		fn      func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error)
		timeout time.Duration
		is      error
		msg     string
	}{
		{name: "fails midway", fn: func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
			emit("## Root cause\n")
			return investigate.Analysis{Text: "## Root cause\n"}, sentinel
		}, is: sentinel, msg: "analyze with fake: model returned 500"},
		{name: "exceeds the analyze timeout", timeout: 20 * time.Millisecond,
			fn: func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
				<-ctx.Done()
				return investigate.Analysis{}, ctx.Err()
			}, is: context.DeadlineExceeded, msg: "analysis exceeded 20ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			r.an.fn = tt.fn
			r.opts.AnalyzeTimeout = tt.timeout
			res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
			if err == nil || !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.msg) {
				t.Fatalf("Run error %v, want one wrapping %v and saying %q", err, tt.is, tt.msg)
			}
			if res.Err == "" || !strings.Contains(res.Err, tt.msg) || strings.Contains(res.Err, plantedKey) {
				t.Errorf("Result.Err %q: want the redacted error", res.Err)
			}
			r.checkReporting(t, res)
			if len(r.rep.finished) != 1 || r.rep.finished[0].Err != res.Err {
				t.Errorf("failed investigation not finished with its error")
			}
			if l := r.logs.String(); !strings.Contains(l, `"level":"error"`) || strings.Contains(l, plantedKey) {
				t.Errorf("failure not logged as an error, or logged unredacted:\n%s", l)
			}
		})
	}
}

func TestEngineOptionalStagesNeverFail(t *testing.T) {
	boom := errors.New("boom")
	for _, tt := range []struct {
		name  string
		setup func(r *rig)
		check func(t *testing.T, r *rig, res *investigate.Result)
	}{
		{"embed fails", func(r *rig) {
			r.emb.fn = func(context.Context, []string) ([][]float32, error) { return nil, boom }
		}, func(t *testing.T, r *rig, res *investigate.Result) {
			if r.log.count("find-similar") != 0 || res.Similar != nil {
				t.Errorf("searched without an embedding")
			}
		}},
		{"embed returns no vector", func(r *rig) {
			r.emb.fn = func(context.Context, []string) ([][]float32, error) { return nil, nil }
		}, func(t *testing.T, r *rig, res *investigate.Result) {
			if r.log.count("find-similar") != 0 {
				t.Errorf("searched without an embedding")
			}
		}},
		{"find similar fails", func(r *rig) {
			r.store.findFn = func(context.Context, []float32, float64, int) ([]investigate.SimilarCase, error) { return nil, boom }
		}, func(t *testing.T, r *rig, res *investigate.Result) {
			if res.Similar != nil {
				t.Errorf("similar %v", res.Similar)
			}
		}},
		{"past feedback fails", func(r *rig) {
			r.store.feedbackFn = func(context.Context, investigate.Category, string, int) ([]investigate.PastFeedback, error) {
				return nil, boom
			}
		}, func(t *testing.T, r *rig, res *investigate.Result) {
			if res.Feedback != nil || strings.Contains(res.Prompt.User, "# Feedback") {
				t.Errorf("feedback %v", res.Feedback)
			}
		}},
		{"reporter fails", func(r *rig) {
			r.rep.startedErr, r.rep.finishedErr = boom, boom
		}, func(t *testing.T, r *rig, res *investigate.Result) {
			if !strings.Contains(r.logs.String(), "reporter: start") || !strings.Contains(r.logs.String(), "reporter: finish") {
				t.Errorf("reporter failures not logged")
			}
		}},
		{"no embedder: no recall", func(r *rig) { r.opts.Embedder = nil }, func(t *testing.T, r *rig, res *investigate.Result) {
			if r.log.count("find-similar") != 0 || r.log.count("past-feedback") != 1 {
				t.Errorf("calls %v", r.log.list())
			}
		}},
		{"no store: no recall or feedback", func(r *rig) { r.opts.Store = nil }, func(t *testing.T, r *rig, res *investigate.Result) {
			if r.log.count("embed") != 0 || r.log.count("past-feedback") != 0 {
				t.Errorf("calls %v", r.log.list())
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			tt.setup(r)
			res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
			if err != nil || res.Err != "" {
				t.Fatalf("Run: %v / %q", err, res.Err)
			}
			if res.Analysis.Text == "" || len(res.Findings) != 1 {
				t.Errorf("investigation incomplete: %+v", res.Analysis)
			}
			r.checkReporting(t, res)
			tt.check(t, r, res)
		})
	}
}

// echoAnalyzer writes its whole input into the analysis, the way the
// built-in analyser quotes findings and evidence: whatever the engine hands
// it reaches Slack and the knowledge base.
func echoAnalyzer(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
	var chunks []string
	chunks = append(chunks, "## Root cause\n", in.Prompt.User)
	for _, f := range in.Findings {
		chunks = append(chunks, f.Summary, f.Detail, f.Impact, f.Prevention)
		chunks = append(chunks, f.Proof...)
		chunks = append(chunks, f.Actions...)
		chunks = append(chunks, f.Objects...)
	}
	for _, s := range in.Evidence.Sections {
		chunks = append(chunks, s.Title, s.Body)
	}
	for _, g := range in.Evidence.Gaps {
		chunks = append(chunks, g.Reason)
	}
	return streamChunks(emit, chunks...)
}

// checkNoSecret asserts the planted key reached none of the engine's outputs.
// Outputs named in exempt are not checked.
func checkNoSecret(t *testing.T, r *rig, res *investigate.Result, exempt ...string) {
	t.Helper()
	outputs := map[string]string{
		"prompt":             res.Prompt.System + res.Prompt.User,
		"analysis":           res.Analysis.Text,
		"reporter chunks":    r.rep.text(),
		"reporter rendering": strings.Join(r.rep.rendered, "\n"),
		"logs":               r.logs.String(),
	}
	if in := r.an.input(); in != nil {
		outputs["analyzer input"] = string(mustMarshal(in.Findings)) + string(mustMarshal(in.Evidence))
	}
	for where, text := range outputs {
		if slices.Contains(exempt, where) {
			continue
		}
		if strings.Contains(text, plantedKey) {
			i := strings.Index(text, plantedKey)
			t.Errorf("planted secret reached the %s: …%s…", where, text[max(0, i-80):min(len(text), i+40)])
		}
	}
}

func TestEngineRedactsEvidenceAndProof(t *testing.T) {
	r := newRig()
	r.snap.evidence.Sections = append(r.snap.evidence.Sections,
		investigate.Section{Name: "pod/logs-previous", Title: "Logs report-exporter (previous) " + plantedKey,
			Body: "2026-11-19T13:10:00Z uploading with aws_access_key_id=" + plantedKey + "\nERROR AccessDenied\n"})
	r.snap.evidence.Gaps = []investigate.Gap{{Collector: "secrets", Reason: "env AWS_ACCESS_KEY_ID=" + plantedKey}}
	r.snap.findings = []investigate.Finding{{Rule: "crashloop", Score: 80, Severity: investigate.FindingCritical,
		Summary: "report-exporter exits 1: S3 upload with key " + plantedKey + " denied",
		Detail:  "The key " + plantedKey + " is not allowed to write.",
		Proof:   []string{"uploading with aws_access_key_id=" + plantedKey, "ERROR AccessDenied"}}}
	r.an.fn = echoAnalyzer
	res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
	if err != nil {
		t.Fatal(err)
	}
	checkNoSecret(t, r, res)
	// Redaction masks, it does not drop the surrounding evidence.
	for _, want := range []string{"aws_access_key_id=" + redact.Mask, "ERROR AccessDenied", "S3 upload with key " + redact.Mask} {
		if !strings.Contains(res.Prompt.User, want) {
			t.Errorf("prompt lacks %q", want)
		}
	}
}

// Everything the engine passes on must be redacted, not only the fields the
// prompt shows: the built-in analyser also writes a finding's Impact,
// Actions and Prevention, and a prompt quotes the alert itself.
func TestEngineRedactsEveryOutput(t *testing.T) {
	// The Request and the recalled cases reach the reporter and the store as
	// the caller and the store gave them (a reporter shows the alert as sent):
	// for secrets planted there only what the engine writes is checked.
	asGiven := []string{"reporter rendering", "store"}
	for _, tt := range []struct {
		name   string
		setup  func(r *rig, req *investigate.Request)
		exempt []string
	}{
		{name: "finding actions, impact, prevention and objects", setup: func(r *rig, req *investigate.Request) {
			r.snap.findings = []investigate.Finding{{Rule: "crashloop", Score: 80, Summary: "exporter crashes",
				Impact:     "uploads signed with " + plantedKey + " fail",
				Actions:    []string{"aws iam delete-access-key --access-key-id " + plantedKey},
				Prevention: "rotate " + plantedKey,
				Objects:    []string{"secret/reporting/" + plantedKey}}}
		}},
		{name: "alert annotations", setup: func(r *rig, req *investigate.Request) {
			req.Alert.Annotations["description"] = "S3 upload denied for " + plantedKey
		}, exempt: asGiven},
		{name: "question", setup: func(r *rig, req *investigate.Request) {
			req.Question = "is " + plantedKey + " still valid?"
		}, exempt: asGiven},
		{name: "similar case and feedback", setup: func(r *rig, req *investigate.Request) {
			r.store.findFn = func(context.Context, []float32, float64, int) ([]investigate.SimilarCase, error) {
				return []investigate.SimilarCase{{AlertName: "X", RootCause: "key " + plantedKey + " was revoked"}}, nil
			}
			r.store.feedbackFn = func(context.Context, investigate.Category, string, int) ([]investigate.PastFeedback, error) {
				return []investigate.PastFeedback{{AlertName: "X", RootCause: "key " + plantedKey + " expired"}}, nil
			}
		}, exempt: asGiven},
		{name: "gather error in logs", setup: func(r *rig, req *investigate.Request) {
			r.gath.fn = func(context.Context, investigate.Target, investigate.Category) (investigate.Snapshot, error) {
				return nil, errors.New("exec credential plugin printed " + plantedKey)
			}
		}},
		{name: "categorizer error in logs", setup: func(r *rig, req *investigate.Request) {
			req.Alert = upstreamAlert()
			r.cat.fn = func(context.Context, *investigate.Alert, []investigate.Category) (investigate.Category, error) {
				return "", errors.New("invalid api key " + plantedKey)
			}
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig()
			r.an.fn = echoAnalyzer
			req := &investigate.Request{Alert: crashAlert()}
			tt.setup(r, req)
			res, err := r.run(t, req)
			if err != nil {
				t.Fatal(err)
			}
			checkNoSecret(t, r, res, tt.exempt...)
		})
	}
}

func TestEngineConcurrentRuns(t *testing.T) {
	log := &callLog{}
	var ids sync.Map
	n := 0
	var idMu sync.Mutex
	e, err := investigate.New(investigate.Options{
		Gatherer: &fakeGatherer{log: log, fn: func(ctx context.Context, tg investigate.Target, c investigate.Category) (investigate.Snapshot, error) {
			return &fakeSnapshot{log: log,
				findings: []investigate.Finding{{Summary: "pod " + tg.Name + " crashes", Proof: []string{"key " + plantedKey}, Category: investigate.OOMKilled}},
				evidence: investigate.Evidence{Target: tg, Sections: []investigate.Section{{Name: "logs", Title: "Logs " + tg.Name, Body: "log of " + tg.Name + " " + plantedKey}}}}, nil
		}},
		Analyzer: &fakeAnalyzer{log: log, fn: func(ctx context.Context, in *investigate.AnalysisInput, emit func(string)) (investigate.Analysis, error) {
			return streamChunks(emit, "## Root cause\n", in.Target.Name, " is broken\n")
		}},
		Categorizer: &fakeCategorizer{log: log, fn: func(context.Context, *investigate.Alert, []investigate.Category) (investigate.Category, error) {
			return investigate.PodRestart, nil
		}},
		Embedder: &fakeEmbedder{log: log},
		Store:    &fakeStore{log: log},
		Log:      zerolog.New(&syncBuffer{}),
		NewID: func() string {
			idMu.Lock()
			defer idMu.Unlock()
			n++
			return fmt.Sprintf("inv-%d", n)
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	const runs = 24
	var wg sync.WaitGroup
	errs := make(chan error, 2*runs)
	for i := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			alert := crashAlert()
			if i%2 == 1 {
				alert = upstreamAlert() // rules unsure: the categorizer runs
			}
			pod := fmt.Sprintf("web-%d", i)
			rep := &recordingReporter{log: log}
			req := &investigate.Request{Alert: alert, Target: investigate.Target{Kind: investigate.KindPod, Name: pod, Namespace: "shop", Pod: pod}}
			res, err := e.Run(context.Background(), req, rep)
			switch {
			case err != nil:
				errs <- err
			case rep.text() != "## Root cause\n"+pod+" is broken\n" || res.Analysis.Text != rep.text():
				errs <- fmt.Errorf("run %d: reporter got %q, result %q", i, rep.text(), res.Analysis.Text)
			case len(rep.finished) != 1 || rep.finished[0] != res:
				errs <- fmt.Errorf("run %d: Finished %d times", i, len(rep.finished))
			case !strings.Contains(res.Prompt.User, "log of "+pod) || strings.Contains(res.Prompt.User, plantedKey):
				errs <- fmt.Errorf("run %d: prompt holds another run's evidence or the secret", i)
			}
			if _, dup := ids.LoadOrStore(res.ID, i); dup {
				errs <- fmt.Errorf("run %d: id %s reused", i, res.ID)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if got := log.count("analyze"); got != runs {
		t.Errorf("%d analyses for %d runs", got, runs)
	}
}

func TestEngineContextCancellation(t *testing.T) {
	t.Run("cancelled before the run", func(t *testing.T) {
		r := newRig()
		r.gath.fn = func(ctx context.Context, _ investigate.Target, _ investigate.Category) (investigate.Snapshot, error) {
			return nil, ctx.Err()
		}
		r.an.fn = func(ctx context.Context, _ *investigate.AnalysisInput, _ func(string)) (investigate.Analysis, error) {
			return investigate.Analysis{}, ctx.Err()
		}
		e, _ := investigate.New(r.opts)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		res, err := e.Run(ctx, &investigate.Request{Alert: crashAlert()}, r.rep)
		if !errors.Is(err, context.Canceled) || res == nil || res.Err == "" {
			t.Fatalf("Run = %v; want an error wrapping context.Canceled and Result.Err set", err)
		}
		// The paid-for work still reaches Finished, where the caller
		// decides whether to store it.
		r.checkReporting(t, res)
	})
	t.Run("cancelled while gathering", func(t *testing.T) {
		r := newRig()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		r.gath.fn = func(gctx context.Context, _ investigate.Target, _ investigate.Category) (investigate.Snapshot, error) {
			cancel() // the caller gives up (shutdown) while the cluster is slow
			<-gctx.Done()
			return nil, gctx.Err()
		}
		r.an.fn = func(actx context.Context, _ *investigate.AnalysisInput, _ func(string)) (investigate.Analysis, error) {
			<-actx.Done() // a model call honours its context
			return investigate.Analysis{}, actx.Err()
		}
		e, _ := investigate.New(r.opts)
		done := make(chan struct{})
		var res *investigate.Result
		var err error
		go func() {
			defer close(done)
			res, err = e.Run(ctx, &investigate.Request{Alert: crashAlert()}, r.rep)
		}()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatal("Run did not return after its context was cancelled")
		}
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run error %v, want context.Canceled", err)
		}
		if len(res.Evidence.Gaps) != 1 || !strings.Contains(res.Evidence.Gaps[0].Reason, "canceled") {
			t.Errorf("gaps %+v", res.Evidence.Gaps)
		}
		r.checkReporting(t, res)
	})
	t.Run("gather timeout", func(t *testing.T) {
		r := newRig()
		r.opts.GatherTimeout = 20 * time.Millisecond
		r.gath.fn = func(gctx context.Context, _ investigate.Target, _ investigate.Category) (investigate.Snapshot, error) {
			<-gctx.Done()
			return nil, context.Cause(gctx)
		}
		res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
		if err != nil {
			t.Fatalf("a slow cluster must not fail the run: %v", err)
		}
		if len(res.Evidence.Gaps) != 1 || !strings.Contains(res.Evidence.Gaps[0].Reason, "gather exceeded 20ms") {
			t.Errorf("gaps %+v", res.Evidence.Gaps)
		}
	})
}

func TestEngineDefaults(t *testing.T) {
	r := newRig()
	r.opts.NewID, r.opts.Now = nil, nil
	before := time.Now()
	res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[0-9a-f]{16}$`).MatchString(res.ID) {
		t.Errorf("default id %q is not 16 hex digits", res.ID)
	}
	if res.StartedAt.Before(before) || res.Finished.Before(res.StartedAt) {
		t.Errorf("StartedAt %v Finished %v", res.StartedAt, res.Finished)
	}
	res2, _ := r.run(t, &investigate.Request{ID: "case-42", Alert: crashAlert()})
	if res2.ID != "case-42" {
		t.Errorf("request id not kept: %q", res2.ID)
	}
	if res2.ID == res.ID {
		t.Errorf("ids repeat")
	}
	// A nil reporter is allowed.
	e, _ := investigate.New(r.opts)
	if res, err := e.Run(context.Background(), &investigate.Request{Alert: crashAlert()}, nil); err != nil || res.Analysis.Text == "" {
		t.Errorf("Run with a nil reporter: %v", err)
	}
}

func TestEnginePromptBudget(t *testing.T) {
	r := newRig()
	r.opts.PromptMaxTokens = 3000
	for i := range 6 {
		r.snap.evidence.Sections = append(r.snap.evidence.Sections, logSection(fmt.Sprintf("extra-%d", i), 5+i, 8<<10))
	}
	res, err := r.run(t, &investigate.Request{Alert: crashAlert()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Prompt.Tokens > 3000 || len(res.Prompt.TrimmedSections) == 0 {
		t.Errorf("prompt %d tokens, trimmed %v; want ≤ 3000 with sections trimmed", res.Prompt.Tokens, res.Prompt.TrimmedSections)
	}
	if !strings.Contains(res.Prompt.User, "ConfigMap shop/app-settings does not exist") || !strings.Contains(res.Prompt.User, "State: Waiting") {
		t.Errorf("findings or the most important section trimmed")
	}
	// The result keeps all the evidence; only the prompt is trimmed.
	if len(res.Evidence.Sections) != 8 {
		t.Errorf("%d evidence sections in the result", len(res.Evidence.Sections))
	}
}

// namedAlert is a firing alert of the given name about a namespaced
// deployment.
func namedAlert(name string) *investigate.Alert {
	return &investigate.Alert{Status: investigate.StatusFiring,
		Labels: map[string]string{"alertname": name, "namespace": "web", "deployment": "frontend"}}
}
