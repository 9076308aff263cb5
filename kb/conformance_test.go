package kb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// backend is the method set both stores offer; it exists only so one
// conformance suite runs against each.
type backend interface {
	investigate.CaseStore
	investigate.Queue
	RecordInvestigation(ctx context.Context, r *investigate.Result) error
	RecordFeedback(ctx context.Context, v Vote, embedding []float32) (CaseVerdict, error)
	Case(ctx context.Context, id string) (*Case, error)
	CaseByThread(ctx context.Context, channel, ts string) (*Case, error)
	SetThread(ctx context.Context, id, channel, ts string) error
	LinkMessage(ctx context.Context, id, channel, ts string) error
	CaseByMessage(ctx context.Context, channel, ts string) (*Case, error)
	PutSlackEffects(ctx context.Context, owner string, lease time.Duration, effects []SlackEffect) ([]SlackEffect, error)
	ClaimSlackEffects(ctx context.Context, owner string, lease time.Duration, n int) ([]SlackEffect, error)
	SlackEffectDone(ctx context.Context, caseID, key string, version int64, ts string) error
	RenewSlackEffects(ctx context.Context, owner string, lease time.Duration) error
	ReleaseSlackEffects(ctx context.Context, owner string) error
	SlackOutbox(ctx context.Context) (depth int, oldest time.Time, err error)
	PutSlackBudget(ctx context.Context, owner string, scopes []SlackBudget) error
	SlackBudgets(ctx context.Context, since time.Time) ([]SlackBudget, error)
	AddToSlackDigest(ctx context.Context, channel, group string, window time.Duration, m SlackDigestMember) (SlackDigest, error)
	SlackDigestPosted(ctx context.Context, channel, group, ts string) error
	ListCases(ctx context.Context, f Filter) ([]Case, error)
	Stats(ctx context.Context, since time.Time) (Stats, error)
	Export(ctx context.Context, w io.Writer) error
	Import(ctx context.Context, r io.Reader) (int, error)
	ImportLegacyFeedback(ctx context.Context, r io.Reader) (int, error)
	Reembed(ctx context.Context, embed func(ctx context.Context, texts []string) ([][]float32, error), dims int) error
	QueueDepth(ctx context.Context) (int, error)
	OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error)
	Dimensions() int
	Ping(ctx context.Context) error
	Close() error
}

var (
	_ backend = (*Embedded)(nil)
	_ backend = (*Postgres)(nil)
)

// harness opens stores of one backend for a test. open returns a fresh,
// empty store; reopen opens the same store again (after Close) with other
// settings.
type harness struct {
	open   func(t *testing.T, dims int) (b backend, reopen func(dims int, allowChange bool) (backend, error))
	remote bool
}

const testDims = 8

// awsKey is a fake secret the redact rules recognise.
const awsKey = "AKIAABCDEFGHIJKLMNOP"

func alertReq(name, fp string, startsAt time.Time, labels map[string]string) investigate.Request {
	l := map[string]string{"alertname": name, "severity": "critical", "namespace": "shop", "pod": "web-0"}
	for k, v := range labels {
		l[k] = v
	}
	return investigate.Request{
		Alert: &investigate.Alert{Status: investigate.StatusFiring, Labels: l, Fingerprint: fp, StartsAt: startsAt,
			Annotations: map[string]string{"summary": name + " on web-0"}},
		Source: investigate.SourceAlertmanager, RequestedBy: "alertmanager",
	}
}

func resolvedOf(r investigate.Request, endsAt time.Time) investigate.Request {
	a := *r.Alert
	a.Status, a.EndsAt = investigate.StatusResolved, endsAt
	r.Alert = &a
	return r
}

func resultFor(id string, req investigate.Request, cat investigate.Category, rootCause string) *investigate.Result {
	return &investigate.Result{
		Investigation: investigate.Investigation{
			ID: id, Request: &req, Target: req.EffectiveTarget(),
			Categorization: investigate.Categorization{Category: cat, DecidedBy: investigate.DecidedByRules},
			StartedAt:      time.Now(),
		},
		Evidence: investigate.Evidence{Sections: []investigate.Section{{Name: "pod/logs", Title: "Logs", Body: "boot with key " + awsKey}}},
		Analysis: investigate.Analysis{Text: "## Root cause\n" + rootCause + "\n## Evidence\nlogs", Analyzer: "builtin",
			Usage: investigate.Usage{InputTokens: 10, OutputTokens: 5}},
		Finished: time.Now(),
	}
}

// vec returns a unit-ish test embedding pointing mostly along axis i.
func vec(i int, noise float32) []float32 {
	v := make([]float32, testDims)
	v[i%testDims] = 1
	v[(i+1)%testDims] = noise
	return v
}

// recordCase enqueues, claims and completes one alert, returning its id.
func recordCase(t *testing.T, b backend, name, fp string, cat investigate.Category, rootCause string) string {
	t.Helper()
	ctx := context.Background()
	req := alertReq(name, fp, time.Now().Add(-time.Minute).Truncate(time.Microsecond), nil)
	res, err := b.Enqueue(ctx, []investigate.Request{req})
	if err != nil {
		t.Fatalf("enqueue: %v", err)
	}
	id := res[0].ID
	if err := b.Complete(ctx, id, resultFor(id, req, cat, rootCause)); err != nil {
		t.Fatalf("complete: %v", err)
	}
	return id
}

func runConformance(t *testing.T, h harness) {
	tests := []struct {
		name string
		run  func(t *testing.T, h harness)
	}{
		{"RoundTrip", testRoundTrip},
		{"Dedup", testDedup},
		{"SlashRequests", testSlashRequests},
		{"Resolve", testResolve},
		{"ClaimExactlyOnce", testClaimExactlyOnce},
		{"LeaseExpiryAndAttempts", testLeaseExpiry},
		{"ReleaseAndFail", testReleaseAndFail},
		{"ConcurrentVotes", testConcurrentVotes},
		{"LatestVotePerUser", testLatestVote},
		{"WithdrawVote", testWithdrawVote},
		{"ValidationTogglesSearch", testValidationSearch},
		{"PastFeedback", testPastFeedback},
		{"ListCases", testListCases},
		{"Stats", testStats},
		{"ExportImport", testExportImport},
		{"LegacyFeedback", testLegacyFeedback},
		{"DimensionMismatch", testDimensionMismatch},
		{"ClosedStore", testClosed},
		{"FoldIncidents", testFoldIncidents},
		{"FoldIncidentBatch", testFoldIncidentBatch},
		{"MessageLinks", testMessageLinks},
		{"SlackOutbox", testSlackOutbox},
		{"SlackOutboxThreadFirst", testSlackOutboxThreadFirst},
		{"SlackBudget", testSlackBudget},
		{"SlackDigest", testSlackDigest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(t, h)
		})
	}
}

func testRoundTrip(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	starts := time.Date(2026, 1, 4, 10, 0, 0, 0, time.UTC)
	req := alertReq("KubePodCrashLooping", "abc123", starts, nil)
	res, err := b.Enqueue(ctx, []investigate.Request{req})
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 1 || res[0].ID == "" || res[0].Duplicate || res[0].Resolved {
		t.Fatalf("enqueue result = %+v", res)
	}
	id := res[0].ID
	c, err := b.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.AlertName != "KubePodCrashLooping" || c.Severity != "critical" || c.Namespace != "shop" || c.Fingerprint != "abc123" ||
		!c.StartsAt.Equal(starts) || c.Labels["pod"] != "web-0" || c.Status != StatusQueued || c.Request == nil || c.Request.ID != id ||
		c.Request.Alert.Name() != "KubePodCrashLooping" || c.Target == "" {
		t.Fatalf("queued case = %+v", c)
	}
	if err := b.SetThread(ctx, id, "C1", "1704364800.123456"); err != nil {
		t.Fatal(err)
	}
	got, err := b.CaseByThread(ctx, "C1", "1704364800.123456")
	if err != nil || got.ID != id {
		t.Fatalf("case by thread = %v, %v", got, err)
	}
	if _, err := b.CaseByThread(ctx, "C1", "nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown thread: err = %v, want ErrNotFound", err)
	}
	if _, err := b.Case(ctx, "no-such-case"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown case: err = %v, want ErrNotFound", err)
	}
	claimed, err := b.Claim(ctx, "w1", time.Minute, 10)
	if err != nil || len(claimed) != 1 || claimed[0].ID != id || claimed[0].Attempt != 1 || claimed[0].Request.Alert == nil ||
		claimed[0].Request.ID != id || claimed[0].Channel != "C1" {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	if err := b.Complete(ctx, id, resultFor(id, req, investigate.PodCrash, "ConfigMap shop/app missing")); err != nil {
		t.Fatal(err)
	}
	c, err = b.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != StatusDone || c.Category != investigate.PodCrash || c.RootCause != "ConfigMap shop/app missing" ||
		c.Analyzer != "builtin" || c.Usage.InputTokens != 10 || c.LeaseOwner != "" || len(c.Evidence.Sections) != 1 {
		t.Fatalf("completed case = %+v", c)
	}
	if strings.Contains(c.Evidence.Sections[0].Body, awsKey) || !strings.Contains(c.Evidence.Sections[0].Body, redact.Mask) {
		t.Fatalf("evidence not redacted: %q", c.Evidence.Sections[0].Body)
	}
	if d, err := b.QueueDepth(ctx); err != nil || d != 0 {
		t.Fatalf("queue depth = %d, %v", d, err)
	}
	// A CLI investigation never queued is recorded directly.
	cli := resultFor("cli-1", investigate.Request{Target: investigate.Target{Kind: investigate.KindPod, Name: "api-1", Namespace: "prod"},
		Source: investigate.SourceCLI, Question: "why?"}, investigate.PodPending, "no node fits")
	cli.Err = "analyzer timeout"
	if err := b.RecordInvestigation(ctx, cli); err != nil {
		t.Fatal(err)
	}
	c, err = b.Case(ctx, "cli-1")
	if err != nil || c.Status != StatusDone || c.Namespace != "prod" || c.AlertName != "ManualInvestigation" || c.Error != "analyzer timeout" {
		t.Fatalf("cli case = %+v, %v", c, err)
	}
}

// testSlashRequests: a request without an alert (a /k8flex investigate)
// is always a new case, never a duplicate of an equal one; the worker that
// claims it gets the request as queued, with where to reply; a failed
// result completes it failed, evidence and error kept (the one write).
func testSlashRequests(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	req := investigate.Request{Target: investigate.Target{Kind: investigate.KindPod, Name: "api-1", Namespace: "prod"},
		Question: "why slow?", RequestedBy: "U1", Source: investigate.SourceSlack,
		ReplyTo: investigate.ReplyTo{Channel: "C9", User: "U1", Team: "T1"}}
	res, err := b.Enqueue(ctx, []investigate.Request{req, req})
	if err != nil || len(res) != 2 || res[0].ID == "" || res[1].ID == res[0].ID || res[0].Duplicate || res[1].Duplicate {
		t.Fatalf("enqueue two equal slash requests = %+v, %v; want two new cases", res, err)
	}
	claimed, err := b.Claim(ctx, "w1", time.Minute, 10)
	if err != nil || len(claimed) != 2 {
		t.Fatalf("claim = %+v, %v", claimed, err)
	}
	got := claimed[0].Request
	if got.ID != claimed[0].ID || got.ReplyTo != req.ReplyTo || got.Target != req.Target || got.Question != req.Question ||
		got.RequestedBy != "U1" || got.Source != investigate.SourceSlack {
		t.Fatalf("claimed request = %+v, want the queued one", got)
	}
	failed := resultFor(claimed[0].ID, got, investigate.PodPending, "")
	failed.Analysis = investigate.Analysis{}
	failed.Err = "analyze with fake: model down"
	if err := b.Complete(ctx, claimed[0].ID, failed); err != nil {
		t.Fatal(err)
	}
	c, err := b.Case(ctx, claimed[0].ID)
	if err != nil || c.Status != StatusFailed || c.Error != failed.Err || len(c.Evidence.Sections) != 1 || c.LeaseOwner != "" {
		t.Fatalf("case completed with a failed result = %+v, %v", c, err)
	}
	if err := b.Fail(ctx, claimed[1].ID, errors.New("no result")); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Case(ctx, claimed[1].ID); c.Status != StatusFailed || c.Error != "no result" {
		t.Fatalf("failed case = %+v", c)
	}
	if again, err := b.Claim(ctx, "w2", time.Minute, 10); err != nil || len(again) != 0 {
		t.Fatalf("finished cases claimed again: %+v, %v", again, err)
	}
}

func testDedup(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	starts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	a := alertReq("KubePodCrashLooping", "fp1", starts, nil)
	other := alertReq("KubePodCrashLooping", "fp1", starts.Add(time.Hour), nil) // a new firing of the same alert
	res, err := b.Enqueue(ctx, []investigate.Request{a, a, other})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Duplicate || !res[1].Duplicate || res[1].ID != res[0].ID || res[2].Duplicate || res[2].ID == res[0].ID {
		t.Fatalf("batch results = %+v", res)
	}
	again, err := b.Enqueue(ctx, []investigate.Request{a})
	if err != nil || !again[0].Duplicate || again[0].ID != res[0].ID {
		t.Fatalf("re-sent alert = %+v, %v", again, err)
	}
	// Without a fingerprint the label set identifies the alert.
	nofp := alertReq("NodeNotReady", "", starts, map[string]string{"node": "n1"})
	r1, err := b.Enqueue(ctx, []investigate.Request{nofp})
	if err != nil {
		t.Fatal(err)
	}
	r2, err := b.Enqueue(ctx, []investigate.Request{nofp})
	if err != nil || !r2[0].Duplicate || r2[0].ID != r1[0].ID {
		t.Fatalf("no-fingerprint re-send = %+v, %v", r2, err)
	}
	// Requests without an alert are never deduplicated.
	manual := investigate.Request{Target: investigate.Target{Kind: investigate.KindPod, Name: "x", Namespace: "y"}, Source: investigate.SourceSlack}
	m, err := b.Enqueue(ctx, []investigate.Request{manual, manual})
	if err != nil || m[0].Duplicate || m[1].Duplicate || m[0].ID == m[1].ID {
		t.Fatalf("manual requests = %+v, %v", m, err)
	}
	// An investigation of the same alert recorded outside the queue (CLI)
	// is kept, and the alert stays deduplicated to its queued case.
	direct := resultFor("direct-1", a, investigate.PodCrash, "x")
	if err := b.RecordInvestigation(ctx, direct); err != nil {
		t.Fatalf("record a second investigation of a queued alert: %v", err)
	}
	if again, err := b.Enqueue(ctx, []investigate.Request{a}); err != nil || again[0].ID != res[0].ID {
		t.Fatalf("re-sent alert after a direct record = %+v, %v", again, err)
	}
	if d, err := b.QueueDepth(ctx); err != nil || d != 5 {
		t.Fatalf("queue depth = %d, %v; want 5", d, err)
	}
}

func testResolve(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	starts := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	a := alertReq("KubePodCrashLooping", "fp-r", starts, nil)
	res, err := b.Enqueue(ctx, []investigate.Request{a})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].ID
	if err := b.SetThread(ctx, id, "C9", "1.2"); err != nil {
		t.Fatal(err)
	}
	// Resolved while still queued: the case finishes its analysis, then is resolved.
	ends := starts.Add(30 * time.Minute)
	r, err := b.Enqueue(ctx, []investigate.Request{resolvedOf(a, ends)})
	if err != nil {
		t.Fatal(err)
	}
	if !r[0].Resolved || r[0].ID != id || r[0].Channel != "C9" || r[0].ThreadTS != "1.2" || !r[0].ResolvedAt.Equal(ends) || !r[0].StartsAt.Equal(starts) {
		t.Fatalf("resolve result = %+v", r[0])
	}
	if c, _ := b.Case(ctx, id); c.Status != StatusQueued || !c.ResolvedAt.Equal(ends) {
		t.Fatalf("resolved queued case = %+v", c)
	}
	// A repeated resolved notification keeps the first resolve time.
	if r, err := b.Enqueue(ctx, []investigate.Request{resolvedOf(a, ends.Add(time.Minute))}); err != nil || !r[0].ResolvedAt.Equal(ends) {
		t.Fatalf("second resolve = %+v, %v; want resolved at %s still", r, err, ends)
	}
	if err := b.Complete(ctx, id, resultFor(id, a, investigate.PodCrash, "x")); err != nil {
		t.Fatal(err)
	}
	if c, _ := b.Case(ctx, id); c.Status != StatusResolved {
		t.Fatalf("status after completing a resolved case = %s", c.Status)
	}
	// Resolving a finished case marks it resolved at once.
	id2 := recordCase(t, b, "KubeJobFailed", "fp-r2", investigate.PodCrash, "y")
	c2, _ := b.Case(ctx, id2)
	r, err = b.Enqueue(ctx, []investigate.Request{resolvedOf(*c2.Request, time.Time{})})
	if err != nil || r[0].ID != id2 || !r[0].Resolved || r[0].ResolvedAt.IsZero() {
		t.Fatalf("resolve done case = %+v, %v", r, err)
	}
	if c2, _ := b.Case(ctx, id2); c2.Status != StatusResolved {
		t.Fatalf("status of a done case after its alert resolved = %s", c2.Status)
	}
	// A resolved alert nobody saw firing records nothing.
	r, err = b.Enqueue(ctx, []investigate.Request{resolvedOf(alertReq("Unknown", "never", starts, nil), ends)})
	if err != nil || !r[0].Resolved || r[0].ID != "" {
		t.Fatalf("resolve unknown = %+v, %v", r, err)
	}
	if d, _ := b.QueueDepth(ctx); d != 0 {
		t.Fatalf("queue depth = %d, want 0", d)
	}
}

func testClaimExactlyOnce(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	const total = 120
	reqs := make([]investigate.Request, total)
	starts := time.Now().Truncate(time.Millisecond)
	for i := range reqs {
		reqs[i] = alertReq("Storm", fmt.Sprintf("fp-%d", i), starts, nil)
	}
	if _, err := b.Enqueue(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := b.Claim(ctx, fmt.Sprintf("w%d", w), time.Minute, 3)
				if err != nil {
					errs <- err
					return
				}
				if len(cs) == 0 {
					return
				}
				for _, c := range cs {
					mu.Lock()
					seen[c.ID]++
					mu.Unlock()
					if err := b.Complete(ctx, c.ID, nil); err != nil {
						errs <- err
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if len(seen) != total {
		t.Fatalf("claimed %d distinct cases, want %d", len(seen), total)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("case %s claimed %d times", id, n)
		}
	}
}

func testLeaseExpiry(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	res, err := b.Enqueue(ctx, []investigate.Request{alertReq("Lease", "fp-l", time.Now().Truncate(time.Millisecond), nil)})
	if err != nil {
		t.Fatal(err)
	}
	id := res[0].ID
	// A live lease is not claimable by another worker.
	if c, err := b.Claim(ctx, "alive", time.Hour, 1); err != nil || len(c) != 1 {
		t.Fatalf("first claim = %v, %v", c, err)
	}
	if c, err := b.Claim(ctx, "other", time.Hour, 1); err != nil || len(c) != 0 {
		t.Fatalf("claim of a leased case = %v, %v", c, err)
	}
	// The holder renews; anyone else has lost (or never had) the lease.
	if err := b.Renew(ctx, id, "alive", time.Hour); err != nil {
		t.Fatalf("renew by the holder: %v", err)
	}
	if err := b.Renew(ctx, id, "other", time.Hour); !errors.Is(err, investigate.ErrLeaseLost) {
		t.Fatalf("renew by another worker: %v, want ErrLeaseLost", err)
	}
	if err := b.Renew(ctx, "no-such", "alive", time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("renew of an unknown case: %v", err)
	}
	if err := b.Release(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := b.Renew(ctx, id, "alive", time.Hour); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renew after release: %v, want ErrLeaseLost", err)
	}
	// Workers that die: an expired lease (1ns) falls back to the queue.
	for attempt := 1; attempt <= DefaultMaxAttempts; attempt++ {
		c, err := b.Claim(ctx, fmt.Sprintf("dying-%d", attempt), time.Nanosecond, 1)
		if err != nil || len(c) != 1 || c[0].ID != id || c[0].Attempt != attempt {
			t.Fatalf("claim %d = %+v, %v", attempt, c, err)
		}
	}
	// The last dying worker's lease expired: its renewal is refused.
	if err := b.Renew(ctx, id, fmt.Sprintf("dying-%d", DefaultMaxAttempts), time.Hour); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("renew of an expired lease: %v, want ErrLeaseLost", err)
	}
	c, err := b.Claim(ctx, "late", time.Minute, 1)
	if err != nil || len(c) != 0 {
		t.Fatalf("claim after max attempts = %+v, %v", c, err)
	}
	got, _ := b.Case(ctx, id)
	if got.Status != StatusFailed || !strings.Contains(got.Error, "attempts") {
		t.Fatalf("abandoned case = %+v", got)
	}
}

func testReleaseAndFail(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	res, err := b.Enqueue(ctx, []investigate.Request{
		alertReq("A", "fp-a", time.Now().Truncate(time.Millisecond), nil),
		alertReq("B", "fp-b", time.Now().Truncate(time.Millisecond), nil),
	})
	if err != nil {
		t.Fatal(err)
	}
	cs, err := b.Claim(ctx, "w", time.Hour, 2)
	if err != nil || len(cs) != 2 {
		t.Fatalf("claim = %v, %v", cs, err)
	}
	if err := b.Release(ctx, res[0].ID); err != nil {
		t.Fatal(err)
	}
	if err := b.Fail(ctx, res[1].ID, errors.New("llm down, key "+awsKey)); err != nil {
		t.Fatal(err)
	}
	if d, _ := b.QueueDepth(ctx); d != 1 {
		t.Fatalf("queue depth = %d, want 1", d)
	}
	again, err := b.Claim(ctx, "w2", time.Hour, 5)
	if err != nil || len(again) != 1 || again[0].ID != res[0].ID || again[0].Attempt != 1 {
		t.Fatalf("claim after release = %+v, %v", again, err)
	}
	f, _ := b.Case(ctx, res[1].ID)
	if f.Status != StatusFailed || strings.Contains(f.Error, awsKey) || !strings.Contains(f.Error, "llm down") {
		t.Fatalf("failed case = %+v", f)
	}
	if err := b.Fail(ctx, "no-such", errors.New("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("fail unknown: %v", err)
	}
}

func testConcurrentVotes(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "Votes", "fp-v", investigate.PodCrash, "rc")
	const voters = 120
	var wg sync.WaitGroup
	errs := make(chan error, voters)
	for i := range voters {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := b.RecordFeedback(ctx, Vote{CaseID: id, User: fmt.Sprintf("U%d", i), Correct: i%4 != 0, Source: SourceButton}, vec(1, 0))
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	c, err := b.Case(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if c.Correct != voters*3/4 || c.Incorrect != voters/4 || !c.Validated || c.Verdict != VerdictCorrect || len(c.Embedding) != testDims {
		t.Fatalf("after %d concurrent votes: correct=%d incorrect=%d validated=%v emb=%d", voters, c.Correct, c.Incorrect, c.Validated, len(c.Embedding))
	}
}

func testLatestVote(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "Flip", "fp-f", investigate.PodCrash, "rc")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	steps := []struct {
		name      string
		vote      Vote
		correct   int
		incorrect int
		validated bool
		changed   bool
	}{
		{"first yes", Vote{User: "U1", Correct: true, At: t0}, 1, 0, true, true},
		{"same user again via button", Vote{User: "U1", Correct: true, Source: SourceButton, At: t0.Add(time.Minute)}, 1, 0, true, false},
		{"second user no ties", Vote{User: "U2", Correct: false, At: t0.Add(2 * time.Minute)}, 1, 1, false, true},
		{"first user flips", Vote{User: "U1", Correct: false, At: t0.Add(3 * time.Minute)}, 0, 2, false, false},
		{"stale vote ignored", Vote{User: "U1", Correct: true, At: t0.Add(time.Second)}, 0, 2, false, false},
		{"both say yes", Vote{User: "U2", Correct: true, At: t0.Add(4 * time.Minute)}, 1, 1, false, false},
	}
	for _, s := range steps {
		s.vote.CaseID = id
		v, err := b.RecordFeedback(ctx, s.vote, vec(2, 0))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if v.Correct != s.correct || v.Incorrect != s.incorrect || v.Validated != s.validated || v.Changed != s.changed {
			t.Fatalf("%s: verdict = %+v", s.name, v)
		}
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: "missing", User: "U1", Correct: true}, nil); !errors.Is(err, ErrNotFound) {
		t.Fatalf("vote on missing case: %v", err)
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: id, Correct: true}, nil); err == nil {
		t.Fatal("vote without user accepted")
	}
}

// testWithdrawVote: removing a reaction withdraws that person's vote of
// the same verdict, and only that; the case's validation and search
// membership follow the remaining votes.
func testWithdrawVote(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "Withdraw", "fp-w", investigate.PodCrash, "rc")
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	q := vec(4, 0)
	steps := []struct {
		name      string
		vote      Vote
		correct   int
		incorrect int
		validated bool
		found     bool
	}{
		{"U1 yes", Vote{User: "U1", Correct: true, At: t0}, 1, 0, true, true},
		{"U1 withdraws a ❌ it never gave", Vote{User: "U1", Correct: false, Withdraw: true, At: t0.Add(time.Minute)}, 1, 0, true, true},
		{"U1 withdraws its ✅", Vote{User: "U1", Correct: true, Withdraw: true, At: t0.Add(2 * time.Minute)}, 0, 0, false, false},
		{"withdrawing again is harmless", Vote{User: "U1", Correct: true, Withdraw: true, At: t0.Add(3 * time.Minute)}, 0, 0, false, false},
		{"U2 no, U1 yes again", Vote{User: "U1", Correct: true, At: t0.Add(4 * time.Minute)}, 1, 0, true, true},
		{"U2 no ties it", Vote{User: "U2", Correct: false, At: t0.Add(5 * time.Minute)}, 1, 1, false, false},
		{"U2 withdraws: validated again", Vote{User: "U2", Correct: false, Withdraw: true, At: t0.Add(6 * time.Minute)}, 1, 0, true, true},
		{"stale withdrawal ignored", Vote{User: "U1", Correct: true, Withdraw: true, At: t0}, 1, 0, true, true},
	}
	for _, s := range steps {
		s.vote.CaseID = id
		v, err := b.RecordFeedback(ctx, s.vote, vec(4, 0))
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if v.Correct != s.correct || v.Incorrect != s.incorrect || v.Validated != s.validated {
			t.Fatalf("%s: verdict = %+v", s.name, v)
		}
		got, err := b.FindSimilar(ctx, q, 0.75, 5)
		if err != nil {
			t.Fatal(err)
		}
		if (len(got) == 1) != s.found {
			t.Fatalf("%s: found in search = %v, want %v", s.name, len(got) == 1, s.found)
		}
	}
}

func testValidationSearch(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "OOM", "fp-s", investigate.OOMKilled, "memory limit 128Mi too low")
	other := recordCase(t, b, "DNS", "fp-s2", investigate.DNSIssues, "coredns down")
	if err := b.SetThread(ctx, id, "C7", "1704364800.123456"); err != nil {
		t.Fatal(err)
	}
	q := vec(3, 0.1)
	if got, err := b.FindSimilar(ctx, q, 0.5, 5); err != nil || len(got) != 0 {
		t.Fatalf("search before validation = %v, %v", got, err)
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: id, User: "U1", Correct: true}, vec(3, 0)); err != nil {
		t.Fatal(err)
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: other, User: "U1", Correct: true}, vec(5, 0)); err != nil {
		t.Fatal(err)
	}
	got, err := b.FindSimilar(ctx, q, 0.75, 5)
	if err != nil {
		t.Fatal(err)
	}
	want := 1 / math.Sqrt(1.01)
	if len(got) != 1 || got[0].ID != id || math.Abs(got[0].Similarity-want) > 1e-4 || got[0].RootCause != "memory limit 128Mi too low" ||
		got[0].Category != investigate.OOMKilled || got[0].ThreadURL == "" || !strings.Contains(got[0].Analysis, "Root cause") {
		t.Fatalf("similar = %+v (want similarity %.4f)", got, want)
	}
	if !strings.Contains(got[0].ThreadURL, "C7") {
		t.Fatalf("thread url %q does not name the channel", got[0].ThreadURL)
	}
	// Both cases above a low threshold, best first; topN caps.
	if all, _ := b.FindSimilar(ctx, q, -1, 5); len(all) != 2 || all[0].ID != id {
		t.Fatalf("low threshold = %+v", all)
	}
	if one, _ := b.FindSimilar(ctx, q, -1, 1); len(one) != 1 {
		t.Fatalf("topN 1 = %+v", one)
	}
	// Two ❌ outweigh the ✅: the case leaves search.
	for _, u := range []string{"U2", "U3"} {
		if _, err := b.RecordFeedback(ctx, Vote{CaseID: id, User: u, Correct: false}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := b.FindSimilar(ctx, q, 0.75, 5); len(got) != 0 {
		t.Fatalf("invalidated case still found: %+v", got)
	}
	if c, _ := b.Case(ctx, id); c.Validated || len(c.Embedding) != 0 || !c.ValidatedAt.IsZero() {
		t.Fatalf("invalidated case = validated %v emb %d", c.Validated, len(c.Embedding))
	}
	if _, err := b.FindSimilar(ctx, make([]float32, testDims+1), 0.5, 5); !errors.Is(err, ErrDimensionMismatch) {
		t.Fatalf("wrong-size query: %v", err)
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: other, User: "U9", Correct: true}, make([]float32, 3)); !errors.Is(err, ErrDimensionMismatch) {
		t.Fatalf("wrong-size embedding: %v", err)
	}
}

func testPastFeedback(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	a := recordCase(t, b, "KubePodCrashLooping", "p1", investigate.PodCrash, "missing configmap")
	c := recordCase(t, b, "KubeContainerWaiting", "p2", investigate.PodCrash, "bad image")
	d := recordCase(t, b, "KubePodCrashLooping", "p3", investigate.PodCrash, "bad flag")
	recordCase(t, b, "KubePodCrashLooping", "p4", investigate.PodCrash, "unrated")
	e := recordCase(t, b, "NodeNotReady", "p5", investigate.NodeNotReady, "kubelet down")
	for i, v := range []Vote{{CaseID: a, Correct: true}, {CaseID: c, Correct: false}, {CaseID: d, Correct: false}, {CaseID: e, Correct: true}} {
		v.User, v.At = "U1", t0.Add(time.Duration(i)*time.Minute)
		if _, err := b.RecordFeedback(ctx, v, vec(i, 0)); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.PastFeedback(ctx, investigate.PodCrash, "KubePodCrashLooping", 10)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, f := range got {
		lines = append(lines, fmt.Sprintf("%s %v %s", f.AlertName, f.Correct, f.RootCause))
	}
	want := []string{"KubePodCrashLooping false bad flag", "KubePodCrashLooping true missing configmap", "KubeContainerWaiting false bad image"}
	if strings.Join(lines, "|") != strings.Join(want, "|") {
		t.Fatalf("past feedback =\n%s\nwant\n%s", strings.Join(lines, "\n"), strings.Join(want, "\n"))
	}
	if got, _ := b.PastFeedback(ctx, investigate.PodCrash, "KubePodCrashLooping", 1); len(got) != 1 {
		t.Fatalf("limit 1 gave %d", len(got))
	}
}

func testListCases(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	var ids []string
	for i := range 7 {
		cat := investigate.PodCrash
		if i%2 == 1 {
			cat = investigate.OOMKilled
		}
		ids = append(ids, recordCase(t, b, fmt.Sprintf("Alert%d", i), fmt.Sprintf("l%d", i), cat, fmt.Sprintf("cause number %d", i)))
		time.Sleep(2 * time.Millisecond) // distinct creation times order the list
	}
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: ids[3], User: "U", Correct: true}, vec(0, 0)); err != nil {
		t.Fatal(err)
	}
	yes := true
	tests := []struct {
		name string
		f    Filter
		want []string
	}{
		{"all newest first", Filter{}, []string{ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0]}},
		{"page", Filter{Limit: 2, Offset: 2}, []string{ids[4], ids[3]}},
		{"category", Filter{Category: investigate.OOMKilled}, []string{ids[5], ids[3], ids[1]}},
		{"validated", Filter{Validated: &yes}, []string{ids[3]}},
		{"query in root cause", Filter{Query: "NUMBER 4"}, []string{ids[4]}},
		{"alert name", Filter{AlertName: "Alert2"}, []string{ids[2]}},
		{"status", Filter{Status: StatusQueued}, nil},
	}
	for _, tt := range tests {
		got, err := b.ListCases(ctx, tt.f)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		var gotIDs []string
		for _, c := range got {
			gotIDs = append(gotIDs, c.ID)
		}
		if strings.Join(gotIDs, ",") != strings.Join(tt.want, ",") {
			t.Errorf("%s: got %v want %v", tt.name, gotIDs, tt.want)
		}
	}
}

func testStats(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	mk := func(name string, cat investigate.Category, fp string, votes ...bool) {
		id := recordCase(t, b, name, fp, cat, "rc")
		for i, ok := range votes {
			if _, err := b.RecordFeedback(ctx, Vote{CaseID: id, User: fmt.Sprintf("U%d", i), Correct: ok}, vec(i, 0)); err != nil {
				t.Fatal(err)
			}
		}
	}
	mk("Crash", investigate.PodCrash, "s1", true)
	mk("Crash", investigate.PodCrash, "s2", false)
	mk("Crash", investigate.PodCrash, "s3", true, true, false)
	mk("OOM", investigate.OOMKilled, "s4", false)
	mk("OOM", investigate.OOMKilled, "s5")
	st, err := b.Stats(ctx, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Overall.Cases != 5 || st.Overall.Rated != 4 || st.Overall.Correct != 2 || st.Overall.Incorrect != 2 || st.Overall.Ratio != 0.5 || st.Votes != 6 {
		t.Fatalf("overall = %+v votes %d", st.Overall, st.Votes)
	}
	if c := st.ByCategory[investigate.PodCrash]; c.Cases != 3 || c.Correct != 2 || math.Abs(c.Ratio-2.0/3) > 1e-9 {
		t.Fatalf("pod-crash = %+v", c)
	}
	if a := st.ByAlert["OOM"]; a.Cases != 2 || a.Rated != 1 || a.Incorrect != 1 || a.Ratio != 0 {
		t.Fatalf("OOM = %+v", a)
	}
	future, err := b.Stats(ctx, time.Now().Add(time.Hour))
	if err != nil || future.Overall.Cases != 0 {
		t.Fatalf("stats of an empty window = %+v, %v", future.Overall, err)
	}
}

func testExportImport(t *testing.T, h harness) {
	ctx := context.Background()
	src, _ := h.open(t, testDims)
	id := recordCase(t, src, "Exported", "e1", investigate.PodCrash, "the cause")
	if err := src.SetThread(ctx, id, "C1", "9.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := src.RecordFeedback(ctx, Vote{CaseID: id, User: "U1", Correct: true, Source: SourceButton}, vec(4, 0)); err != nil {
		t.Fatal(err)
	}
	queued, err := src.Enqueue(ctx, []investigate.Request{alertReq("StillQueued", "e2", time.Now().Truncate(time.Millisecond), nil)})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := src.Export(ctx, &buf); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("export wrote %d lines, want 2", n)
	}
	// Into the other backend kind (embedded <-> this one), and into this kind.
	targets := map[string]backend{"embedded": openTestEmbedded(t, testDims)}
	if h.remote {
		targets["same kind"], _ = h.open(t, testDims)
	} else if pg := maybePostgres(t); pg != nil {
		targets["postgres"], _ = pg.open(t, testDims)
	}
	for name, dst := range targets {
		n, err := dst.Import(ctx, bytes.NewReader(buf.Bytes()))
		if err != nil || n != 2 {
			t.Fatalf("%s: import = %d, %v", name, n, err)
		}
		c, err := dst.Case(ctx, id)
		if err != nil || c.RootCause != "the cause" || !c.Validated || c.Channel != "C1" || c.Correct != 1 || len(c.Evidence.Sections) != 1 {
			t.Fatalf("%s: imported case = %+v, %v", name, c, err)
		}
		if got, err := dst.FindSimilar(ctx, vec(4, 0), 0.9, 5); err != nil || len(got) != 1 || got[0].ID != id {
			t.Fatalf("%s: search after import = %+v, %v", name, got, err)
		}
		if byThread, err := dst.CaseByThread(ctx, "C1", "9.9"); err != nil || byThread.ID != id {
			t.Fatalf("%s: thread after import = %v", name, err)
		}
		// The imported queue resumes; dedup still holds.
		dup, err := dst.Enqueue(ctx, []investigate.Request{*mustCase(t, src, queued[0].ID).Request})
		if err != nil || !dup[0].Duplicate || dup[0].ID != queued[0].ID {
			t.Fatalf("%s: dedup after import = %+v, %v", name, dup, err)
		}
		// Importing again replaces, it does not duplicate votes.
		if _, err := dst.Import(ctx, bytes.NewReader(buf.Bytes())); err != nil {
			t.Fatal(err)
		}
		if c, _ := dst.Case(ctx, id); c.Correct != 1 {
			t.Fatalf("%s: votes after re-import = %d", name, c.Correct)
		}
	}
	bad := `{"case":{"id":"x","alert_name":"A","embedding":[1,2,3]},"votes":[{"user":"U","correct":true}]}`
	dst := openTestEmbedded(t, testDims)
	if _, err := dst.Import(ctx, strings.NewReader(bad)); !errors.Is(err, ErrDimensionMismatch) || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("import of a wrong-size embedding: %v", err)
	}
}

func mustCase(t *testing.T, b backend, id string) *Case {
	t.Helper()
	c, err := b.Case(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

const legacyJSON = `[
 {"timestamp":"2026-01-04T10:00:00Z","alert_name":"PodCrashLooping","category":"pod-crash","is_correct":true,
  "analysis":"Root cause: missing ConfigMap app-settings\nmore","slack_thread":"1704364800.123456"},
 {"timestamp":"2026-01-05T11:00:00Z","alert_name":"NodeNotReady","category":"node-not-ready","is_correct":false,
  "analysis":"kubelet stopped","slack_thread":"1704450000.000100"}
]`

func testLegacyFeedback(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	for range 2 { // idempotent
		n, err := b.ImportLegacyFeedback(ctx, strings.NewReader(legacyJSON))
		if err != nil || n != 2 {
			t.Fatalf("legacy import = %d, %v", n, err)
		}
	}
	st, err := b.Stats(ctx, time.Time{})
	if err != nil || st.Overall.Cases != 2 || st.Overall.Correct != 1 || st.Overall.Incorrect != 1 {
		t.Fatalf("stats after legacy import = %+v, %v", st.Overall, err)
	}
	fb, err := b.PastFeedback(ctx, investigate.PodCrash, "PodCrashLooping", 5)
	if err != nil || len(fb) != 1 || !fb[0].Correct || fb[0].RootCause != "missing ConfigMap app-settings" ||
		!fb[0].At.Equal(time.Date(2026, 1, 4, 10, 0, 0, 0, time.UTC)) {
		t.Fatalf("legacy past feedback = %+v, %v", fb, err)
	}
	// The stream form (one object after another) is accepted too.
	stream := `{"timestamp":"2026-02-01T00:00:00Z","alert_name":"X","category":"dns-issues","is_correct":true,"analysis":"a","slack_thread":"1.1"}
{"timestamp":"2026-02-02T00:00:00Z","alert_name":"Y","category":"bogus","is_correct":false,"analysis":"b","slack_thread":"1.2"}`
	if n, err := b.ImportLegacyFeedback(ctx, strings.NewReader(stream)); err != nil || n != 2 {
		t.Fatalf("legacy stream = %d, %v", n, err)
	}
	if _, err := b.ImportLegacyFeedback(ctx, strings.NewReader(`[{"is_correct":true}]`)); err == nil {
		t.Fatal("legacy record without alert_name accepted")
	}
}

func testDimensionMismatch(t *testing.T, h harness) {
	ctx := context.Background()
	b, reopen := h.open(t, testDims)
	id := recordCase(t, b, "Dims", "d1", investigate.PodCrash, "rc")
	if _, err := b.RecordFeedback(ctx, Vote{CaseID: id, User: "U", Correct: true}, vec(0, 0)); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	_, err := reopen(testDims*2, false)
	if !errors.Is(err, ErrDimensionMismatch) || !strings.Contains(err.Error(), "k8flex kb reembed") {
		t.Fatalf("reopen with other dimensions: %v", err)
	}
	b2, err := reopen(testDims*2, true)
	if err != nil {
		t.Fatal(err)
	}
	defer b2.Close()
	if b2.Dimensions() != testDims {
		t.Fatalf("store opened for re-embedding holds %d dims, want the stored %d", b2.Dimensions(), testDims)
	}
	var texts []string
	embed := func(_ context.Context, in []string) ([][]float32, error) {
		texts = append(texts, in...)
		out := make([][]float32, len(in))
		for i := range in {
			v := make([]float32, testDims*2)
			v[testDims+1] = 1
			out[i] = v
		}
		return out, nil
	}
	if err := b2.Reembed(ctx, embed, testDims*2); err != nil {
		t.Fatal(err)
	}
	if len(texts) != 1 || !strings.Contains(texts[0], "Dims") {
		t.Fatalf("embedded texts = %q", texts)
	}
	q := make([]float32, testDims*2)
	q[testDims+1] = 1
	if got, err := b2.FindSimilar(ctx, q, 0.99, 5); err != nil || len(got) != 1 || got[0].ID != id {
		t.Fatalf("search after reembed = %+v, %v", got, err)
	}
	b2.Close()
	b3, err := reopen(testDims*2, false)
	if err != nil {
		t.Fatalf("reopen after reembed: %v", err)
	}
	b3.Close()
}

func testClosed(t *testing.T, h harness) {
	b, _ := h.open(t, testDims)
	if err := b.Ping(context.Background()); err != nil {
		t.Fatalf("ping an open store: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Ping(context.Background()); err == nil {
		t.Fatal("ping of a closed store succeeded")
	}
	_, err := b.Enqueue(context.Background(), []investigate.Request{alertReq("A", "c1", time.Now(), nil)})
	if err == nil {
		t.Fatal("enqueue on a closed store succeeded")
	}
	if _, err := b.RecordFeedback(context.Background(), Vote{CaseID: "x", User: "U", Correct: true}, nil); err == nil {
		t.Fatal("feedback on a closed store succeeded: it would be lost")
	}
}

// One leader per incident: concurrent openers agree on one of theirs, other
// keys are independent, the leader outlives a restart, and an expired
// incident is opened again by the next case.
func testFoldIncidents(t *testing.T, h harness) {
	ctx := context.Background()
	b, reopen := h.open(t, testDims)
	const key = "KubePodCrashLooping\x00shop\x00Deployment/web"
	const openers = 16
	leaders := make([]string, openers)
	var wg sync.WaitGroup
	errs := make(chan error, openers)
	for i := range openers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l, _, err := openOne(ctx, b, key, fmt.Sprintf("case-%02d", i), time.Hour)
			if err != nil {
				errs <- err
				return
			}
			leaders[i] = l
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	leader := leaders[0]
	if !strings.HasPrefix(leader, "case-") {
		t.Fatalf("leader %q is none of the openers", leader)
	}
	for i, l := range leaders {
		if l != leader {
			t.Fatalf("opener %d was told %q leads, opener 0 %q", i, l, leader)
		}
	}
	if l, _, err := openOne(ctx, b, key+"-other", "case-x", time.Hour); err != nil || l != "case-x" {
		t.Fatalf("another key: leader %q, %v; want case-x", l, err)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := reopen(testDims, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	l, opened, err := openOne(ctx, b, key, "case-after-restart", time.Hour)
	if err != nil || l != leader {
		t.Fatalf("after a restart: leader %q, %v; want %q", l, err, leader)
	}
	if age := time.Since(opened); age < 0 || age > time.Hour {
		t.Fatalf("opened %s ago, want within the window", age)
	}

	const short = 50 * time.Millisecond
	if l, _, err := openOne(ctx, b, "brief", "case-1", short); err != nil || l != "case-1" {
		t.Fatalf("brief incident: leader %q, %v; want case-1", l, err)
	}
	time.Sleep(2 * short)
	if l, _, err := openOne(ctx, b, "brief", "case-2", short); err != nil || l != "case-2" {
		t.Fatalf("after the window: leader %q, %v; want case-2, a new incident", l, err)
	}
	if _, _, err := openOne(ctx, b, "brief", "case-3", 0); err == nil {
		t.Fatal("a zero window was accepted")
	}
}

// openOne proposes one case for one incident.
func openOne(ctx context.Context, b backend, key, caseID string, window time.Duration) (string, time.Time, error) {
	leaders, opened, err := b.OpenIncidents(ctx, []string{key}, []string{caseID}, window)
	if err != nil {
		return "", time.Time{}, err
	}
	return leaders[0], opened[0], nil
}

// A batch of proposals is decided in order: known incidents answer their
// leader, new ones take their proposer, a repeated key the first answer.
func testFoldIncidentBatch(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	if l, _, err := openOne(ctx, b, "known", "case-known", time.Hour); err != nil || l != "case-known" {
		t.Fatalf("leader %q, %v", l, err)
	}
	keys := []string{"new-1", "known", "new-2", "new-1"}
	leaders, opened, err := b.OpenIncidents(ctx, keys, []string{"a", "b", "c", "d"}, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "case-known", "c", "a"}; !slices.Equal(leaders, want) {
		t.Fatalf("leaders %v, want %v", leaders, want)
	}
	if len(opened) != len(keys) || !opened[0].Equal(opened[3]) {
		t.Fatalf("opened %v: want one time per proposal, the same for a repeated key", opened)
	}
	if _, _, err := b.OpenIncidents(ctx, []string{"x"}, nil, time.Hour); err == nil {
		t.Fatal("keys without cases were accepted")
	}
}

// A case's Slack messages (its thread root and linked replies) lead back
// to it, also after a restart; other messages and unknown cases do not.
func testMessageLinks(t *testing.T, h harness) {
	ctx := context.Background()
	b, reopen := h.open(t, testDims)
	id := recordCase(t, b, "KubePodCrashLooping", "links-1", investigate.PodCrash, "bad image")
	other := recordCase(t, b, "KubePodCrashLooping", "links-2", investigate.PodCrash, "bad image")
	if err := b.SetThread(ctx, id, "C1", "100.000001"); err != nil {
		t.Fatal(err)
	}
	for _, ts := range []string{"100.000002", "100.000003"} {
		if err := b.LinkMessage(ctx, id, "C1", ts); err != nil {
			t.Fatalf("link %s: %v", ts, err)
		}
	}
	if err := b.LinkMessage(ctx, other, "C1", "200.000002"); err != nil {
		t.Fatal(err)
	}
	if err := b.LinkMessage(ctx, "no-such-case", "C1", "300.000001"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("link to an unknown case: err = %v, want ErrNotFound", err)
	}

	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := reopen(testDims, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	for _, tt := range []struct {
		channel, ts, want string
	}{
		{"C1", "100.000001", id}, // the thread root
		{"C1", "100.000002", id},
		{"C1", "100.000003", id},
		{"C1", "200.000002", other},
	} {
		c, err := b.CaseByMessage(ctx, tt.channel, tt.ts)
		if err != nil || c.ID != tt.want {
			t.Errorf("case of message %s/%s = %v, %v; want %s", tt.channel, tt.ts, c, err, tt.want)
			continue
		}
		if c.ID == id && c.ThreadTS != "100.000001" {
			t.Errorf("case of message %s/%s has thread %s, want 100.000001", tt.channel, tt.ts, c.ThreadTS)
		}
	}
	for _, m := range [][2]string{{"C1", "300.000001"}, {"C2", "100.000002"}} {
		if _, err := b.CaseByMessage(ctx, m[0], m[1]); !errors.Is(err, ErrNotFound) {
			t.Errorf("message %s/%s: err = %v, want ErrNotFound", m[0], m[1], err)
		}
	}
}

// The Slack outbox: effects are held by the process that records them,
// superseded versions are never delivered, a released or expired hold
// lets another process claim them (each exactly once), and a delivered
// effect is gone.
func testSlackOutbox(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "KubePodCrashLooping", "outbox-1", investigate.PodCrash, "bad image")
	root := SlackEffect{CaseID: id, Key: "root", Channel: "C1", TS: "100.000001", Blocks: `[{"type":"section"}]`, Text: "done"}
	page := SlackEffect{CaseID: id, Key: "page/0", Channel: "C1", ThreadTS: "100.000001", Blocks: `["v1"]`, Text: "v1"}
	put, err := b.PutSlackEffects(ctx, "w1", time.Minute, []SlackEffect{root, page})
	if err != nil || len(put) != 2 || put[0].Version != 1 || put[1].Version != 1 || put[0].Since.IsZero() {
		t.Fatalf("put = %+v, %v", put, err)
	}
	if _, err := b.PutSlackEffects(ctx, "w1", time.Minute, []SlackEffect{{CaseID: "no-such-case", Key: "root", Channel: "C1", TS: "1.1"}}); !errors.Is(err, ErrNotFound) {
		t.Errorf("effect of an unknown case: err = %v, want ErrNotFound", err)
	}
	if got, err := b.ClaimSlackEffects(ctx, "w2", time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed %+v, %v while w1 holds them", got, err)
	}
	if d, oldest, err := b.SlackOutbox(ctx); err != nil || d != 2 || oldest.IsZero() {
		t.Fatalf("outbox = %d since %s, %v; want 2", d, oldest, err)
	}
	// A newer text supersedes the page; the post of the older version
	// (it created the message) leaves its ts to the newer one.
	page.Blocks, page.Text = `["v2"]`, "v2"
	put2, err := b.PutSlackEffects(ctx, "w1", time.Minute, []SlackEffect{page})
	if err != nil || put2[0].Version != 2 || !put2[0].Since.Equal(put[1].Since) {
		t.Fatalf("second put = %+v, %v; want version 2 since the first", put2, err)
	}
	if err := b.SlackEffectDone(ctx, id, "page/0", 1, "100.000002"); err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseSlackEffects(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	// Two processes claim at once: each effect goes to one of them.
	var mu sync.Mutex
	claimed := map[string]SlackEffect{}
	var wg sync.WaitGroup
	for _, w := range []string{"w2", "w3"} {
		wg.Go(func() {
			got, err := b.ClaimSlackEffects(ctx, w, time.Minute, 10)
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, e := range got {
				if _, dup := claimed[e.Key]; dup {
					t.Errorf("effect %s claimed twice", e.Key)
				}
				claimed[e.Key] = e
			}
		})
	}
	wg.Wait()
	if len(claimed) != 2 {
		t.Fatalf("claimed %v, want root and page/0", claimed)
	}
	if p := claimed["page/0"]; p.Version != 2 || p.Blocks != `["v2"]` || p.TS != "100.000002" || p.ThreadTS != "100.000001" {
		t.Errorf("page effect = %+v, want version 2 with the posted ts", p)
	}
	if r := claimed["root"]; r.TS != "100.000001" || r.Blocks != root.Blocks || r.Text != "done" {
		t.Errorf("root effect = %+v", r)
	}
	for _, e := range claimed {
		if err := b.SlackEffectDone(ctx, e.CaseID, e.Key, e.Version, ""); err != nil {
			t.Fatal(err)
		}
	}
	if d, _, err := b.SlackOutbox(ctx); err != nil || d != 0 {
		t.Fatalf("outbox depth %d, %v after delivery; want 0", d, err)
	}

	// A hold expires unless renewed.
	short := 100 * time.Millisecond
	if _, err := b.PutSlackEffects(ctx, "w1", short, []SlackEffect{root}); err != nil {
		t.Fatal(err)
	}
	if err := b.RenewSlackEffects(ctx, "w1", time.Minute); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * short)
	if got, err := b.ClaimSlackEffects(ctx, "w2", time.Minute, 10); err != nil || len(got) != 0 {
		t.Fatalf("claimed %+v, %v although w1 renewed its hold", got, err)
	}
	if err := b.RenewSlackEffects(ctx, "w1", short); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * short)
	got, err := b.ClaimSlackEffects(ctx, "w2", time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "root" || got[0].LeaseOwner != "w2" {
		t.Fatalf("after w1's hold expired: claimed %+v, %v; want root held by w2", got, err)
	}
}

// A thread whose root was never posted: the root is claimed (to be
// posted), the case's other effects wait for it and, once the root is
// delivered, are claimed with its ts as their thread.
func testSlackOutboxThreadFirst(t *testing.T, h harness) {
	ctx := context.Background()
	b, _ := h.open(t, testDims)
	id := recordCase(t, b, "KubePodCrashLooping", "outbox-thread", investigate.PodCrash, "bad image")
	root := SlackEffect{CaseID: id, Key: RootKey, Channel: "C1", Blocks: `["root"]`, Text: "root"}
	page := SlackEffect{CaseID: id, Key: "page/0", Channel: "C1", Blocks: `["page"]`, Text: "page"}
	if _, err := b.PutSlackEffects(ctx, "w1", time.Minute, []SlackEffect{root, page}); err != nil {
		t.Fatal(err)
	}
	if err := b.ReleaseSlackEffects(ctx, "w1"); err != nil {
		t.Fatal(err)
	}
	got, err := b.ClaimSlackEffects(ctx, "w2", time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != RootKey || got[0].TS != "" {
		t.Fatalf("claimed %+v, %v; want only the root, to be posted", got, err)
	}
	if err := b.SlackEffectDone(ctx, id, RootKey, got[0].Version, "200.000001"); err != nil {
		t.Fatal(err)
	}
	got, err = b.ClaimSlackEffects(ctx, "w2", time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "page/0" || got[0].ThreadTS != "200.000001" || got[0].TS != "" {
		t.Fatalf("after the root was posted: claimed %+v, %v; want page/0 in thread 200.000001", got, err)
	}
}

// Slack's rate budget: each process records the calls it made per scope
// and the pause Slack asked for; everyone reads every process's calls of
// the current window (and the pauses not over), a later record of a
// scope replaces the earlier, and a second store on the same data (a
// restart, a replica) reads what the first recorded.
func testSlackBudget(t *testing.T, h harness) {
	ctx := context.Background()
	b, reopen := h.open(t, testDims)
	now := time.Now().UTC().Truncate(time.Millisecond)
	at := func(d time.Duration) time.Time { return now.Add(d) }
	if got, err := b.SlackBudgets(ctx, at(-time.Minute)); err != nil || len(got) != 0 {
		t.Fatalf("budget of an empty store = %+v, %v", got, err)
	}
	if err := b.PutSlackBudget(ctx, "p1", []SlackBudget{{Scope: ""}}); err == nil {
		t.Error("a scope without a name was recorded")
	}
	err := b.PutSlackBudget(ctx, "p1", []SlackBudget{
		{Scope: "chat.update", Calls: []time.Time{at(-90 * time.Second), at(-30 * time.Second), at(-time.Second)}},
		{Scope: "chat.postMessage/C1", Calls: []time.Time{at(-2 * time.Minute)}, PauseUntil: at(20 * time.Second)},
		{Scope: "chat.postMessage/C2", Calls: []time.Time{at(-2 * time.Minute)}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.PutSlackBudget(ctx, "p2", []SlackBudget{{Scope: "chat.update", Calls: []time.Time{at(-10 * time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	read := func(s interface {
		SlackBudgets(context.Context, time.Time) ([]SlackBudget, error)
	}) map[string]SlackBudget {
		t.Helper()
		got, err := s.SlackBudgets(ctx, at(-time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]SlackBudget{}
		for _, sc := range got {
			if sc.Updated.IsZero() {
				t.Errorf("scope %s/%s without its update time", sc.Owner, sc.Scope)
			}
			out[sc.Owner+" "+sc.Scope] = sc
		}
		return out
	}
	got := read(b)
	// The window's calls only; a scope without any and without a pause
	// is left out.
	if u := got["p1 chat.update"]; len(u.Calls) != 2 || !u.Calls[0].Equal(at(-30*time.Second)) || !u.Calls[1].Equal(at(-time.Second)) {
		t.Errorf("p1's chat.update calls = %v, want the two of the last minute", u.Calls)
	}
	if p := got["p1 chat.postMessage/C1"]; len(p.Calls) != 0 || !p.PauseUntil.Equal(at(20*time.Second)) {
		t.Errorf("p1's posts in C1 = %+v, want the pause and no call", p)
	}
	if _, ok := got["p1 chat.postMessage/C2"]; ok || len(got) != 3 {
		t.Errorf("budget = %v, want p1's update calls, its pause in C1 and p2's update call", got)
	}
	if u := got["p2 chat.update"]; len(u.Calls) != 1 || !u.Calls[0].Equal(at(-10*time.Second)) {
		t.Errorf("p2's chat.update calls = %v", u.Calls)
	}
	// A later record replaces the scope's calls and pause.
	if err := b.PutSlackBudget(ctx, "p1", []SlackBudget{{Scope: "chat.postMessage/C1", Calls: []time.Time{at(-time.Second)}}}); err != nil {
		t.Fatal(err)
	}
	if p := read(b)["p1 chat.postMessage/C1"]; len(p.Calls) != 1 || !p.PauseUntil.IsZero() {
		t.Errorf("p1's posts in C1 after a new record = %+v, want one call and no pause", p)
	}
	// The next process reads it all.
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	b2, err := reopen(testDims, false)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b2.Close() })
	if got := read(b2); len(got) != 3 || len(got["p1 chat.update"].Calls) != 2 {
		t.Errorf("after reopening the budget is %v", got)
	}
}
