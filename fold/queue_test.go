package fold

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// memQueue is a leased in-memory queue that records every transition and
// rejects the ones a durable queue would (completing a case twice or one
// that is not leased).
type memQueue struct {
	mu       sync.Mutex
	order    []string
	reqs     map[string]investigate.Request
	state    map[string]string // queued, leased, done
	results  map[string]*investigate.Result
	releases int
	renewals []string
	bad      []string
}

func newMemQueue(reqs ...investigate.Request) *memQueue {
	q := &memQueue{reqs: map[string]investigate.Request{}, state: map[string]string{}, results: map[string]*investigate.Result{}}
	_, _ = q.Enqueue(context.Background(), reqs)
	return q
}

func (q *memQueue) Claim(_ context.Context, _ string, _ time.Duration, n int) ([]investigate.Claimed, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []investigate.Claimed
	for _, id := range q.order {
		if len(out) == n {
			break
		}
		if q.state[id] == "queued" {
			q.state[id] = "leased"
			out = append(out, investigate.Claimed{ID: id, Request: q.reqs[id]})
		}
	}
	return out, nil
}

func (q *memQueue) finish(id string, r *investigate.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state[id] != "leased" {
		q.bad = append(q.bad, fmt.Sprintf("finish %s in state %q", id, q.state[id]))
		return fmt.Errorf("case %s is %s", id, q.state[id])
	}
	q.state[id] = "done"
	q.results[id] = r
	return nil
}

func (q *memQueue) Complete(_ context.Context, id string, r *investigate.Result) error {
	return q.finish(id, r)
}

func (q *memQueue) Fail(_ context.Context, id string, _ error) error { return q.finish(id, nil) }

// Enqueue queues one case per request.
func (q *memQueue) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]investigate.Enqueued, len(reqs))
	for i, r := range reqs {
		id := fmt.Sprintf("case-%04d", len(q.order))
		q.order = append(q.order, id)
		q.reqs[id] = r
		q.state[id] = "queued"
		out[i] = investigate.Enqueued{ID: id}
	}
	return out, nil
}

func (q *memQueue) Renew(_ context.Context, id, worker string, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.renewals = append(q.renewals, id+"@"+worker)
	return nil
}

func (q *memQueue) Release(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.state[id] != "leased" {
		q.bad = append(q.bad, fmt.Sprintf("release %s in state %q", id, q.state[id]))
	}
	q.state[id] = "queued"
	q.releases++
	return nil
}

// storm returns alerts of workloads deployments (perWorkload pods each,
// interleaved as Alertmanager's groups would arrive) plus distinct
// hand-named pods.
func storm(workloads, perWorkload, distinct int) []investigate.Request {
	var reqs []investigate.Request
	for p := range perWorkload {
		for w := range workloads {
			reqs = append(reqs, alertReq("KubePodCrashLooping", "namespace", "shop",
				"pod", fmt.Sprintf("app%d-7d9f8b6c5d-%s", w, suffix(p))))
		}
	}
	for i := range distinct {
		reqs = append(reqs, alertReq("KubePodCrashLooping", "namespace", "shop", "pod", fmt.Sprintf("gone-pod-number-%da", i)))
	}
	return reqs
}

// suffix returns a distinct 5-character generated-name suffix.
func suffix(i int) string {
	const chars = "bcdfghjklmnpqrstvwxz2456789"
	b := []byte("bbbbb")
	for j := 4; j >= 0 && i > 0; j-- {
		b[j] = chars[i%len(chars)]
		i /= len(chars)
	}
	return string(b)
}

// drain claims with n workers until the queue is empty and returns the
// cases handed out.
func drain(t *testing.T, q *Queue, workers int) []investigate.Claimed {
	t.Helper()
	var mu sync.Mutex
	var got []investigate.Claimed
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				cs, err := q.Claim(context.Background(), fmt.Sprintf("w%d", w), time.Minute, 1)
				if err != nil {
					t.Error(err)
					return
				}
				if len(cs) == 0 {
					return
				}
				for _, c := range cs {
					res := &investigate.Result{Analysis: investigate.Analysis{Analyzer: "test", Text: "analysed"}}
					if err := q.Complete(context.Background(), c.ID, res); err != nil {
						t.Error(err)
					}
				}
				mu.Lock()
				got = append(got, cs...)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return got
}

func TestQueueFoldsAStormExactlyOnce(t *testing.T) {
	for _, tt := range []struct {
		name                             string
		workloads, perWorkload, distinct int
		batch, workers                   int
	}{
		{"20 workloads of 100 pods, 4 workers", 20, 100, 0, 64, 4},
		{"distinct pods are not folded", 0, 0, 300, 64, 4},
		{"mixed, batch of one", 3, 10, 5, 1, 2},
	} {
		t.Run(tt.name, func(t *testing.T) {
			mq := newMemQueue()
			var foldMu sync.Mutex
			notes := map[string]int{}
			q, err := NewQueue(mq, Config{Batch: tt.batch, MaxRelated: 5}, func(_ context.Context, incident string, _ investigate.Claimed) {
				foldMu.Lock()
				notes[incident]++
				foldMu.Unlock()
			}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			// The storm is recorded through the folding queue, as the
			// webhook does: every alert becomes its own case.
			reqs := storm(tt.workloads, tt.perWorkload, tt.distinct)
			if res, err := q.Enqueue(context.Background(), reqs); err != nil || len(res) != len(reqs) || len(mq.order) != len(reqs) {
				t.Fatalf("Enqueue: %d answers, %d cases for %d alerts, %v", len(res), len(mq.order), len(reqs), err)
			}
			got := drain(t, q, tt.workers)
			if want := tt.workloads + tt.distinct; len(got) != want {
				t.Errorf("%d investigations handed out, want %d (one per incident)", len(got), want)
			}
			if len(mq.bad) > 0 {
				t.Errorf("queue misuse: %v", mq.bad)
			}
			folded := 0
			for _, id := range mq.order {
				if mq.state[id] != "done" {
					t.Errorf("case %s is %s, want done", id, mq.state[id])
					continue
				}
				if r := mq.results[id]; r.Analysis.Analyzer == AnalyzerName {
					folded++
				}
			}
			if want := tt.workloads*tt.perWorkload - tt.workloads; folded != want {
				t.Errorf("%d cases completed as folded, want %d", folded, want)
			}
			noted := 0
			for _, n := range notes {
				noted += n
			}
			if noted != folded {
				t.Errorf("onFold called %d times for %d folded cases", noted, folded)
			}
			for _, c := range got {
				if len(c.Request.Related) > 5 {
					t.Errorf("case %s lists %d related alerts, bound is 5", c.ID, len(c.Request.Related))
				}
			}
			if s := q.Stats(); s.Incidents != int64(len(got)) || s.Folded != int64(folded) {
				t.Errorf("Stats = %+v, want %d incidents and %d folded", s, len(got), folded)
			}
		})
	}
}

func TestQueueListsQueuedAlertsInTheIncident(t *testing.T) {
	mq := newMemQueue(storm(1, 4, 0)...)
	q, err := NewQueue(mq, Config{}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	cs, err := q.Claim(context.Background(), "w", time.Minute, 1)
	if err != nil || len(cs) != 1 {
		t.Fatalf("Claim = %d cases, %v; want 1", len(cs), err)
	}
	var pods []string
	for _, a := range cs[0].Request.Related {
		pods = append(pods, a.Labels["pod"])
	}
	want := []string{"app0-7d9f8b6c5d-bbbbc", "app0-7d9f8b6c5d-bbbbd", "app0-7d9f8b6c5d-bbbbf"}
	if !slices.Equal(pods, want) {
		t.Errorf("Related pods = %v, want %v", pods, want)
	}
	if txt := mq.results["case-0001"].Analysis.Text; txt == "" || !contains(txt, cs[0].ID) {
		t.Errorf("folded case's analysis %q does not name the incident %s", txt, cs[0].ID)
	}
}

func contains(s, sub string) bool {
	return len(sub) > 0 && len(s) >= len(sub) && slices.Contains(splitWords(s), sub+":")
}

func splitWords(s string) []string {
	var out []string
	w := ""
	for _, r := range s {
		if r == ' ' {
			out = append(out, w)
			w = ""
			continue
		}
		w += string(r)
	}
	return append(out, w)
}

func TestQueueWindow(t *testing.T) {
	reqs := storm(1, 3, 0)
	mq := newMemQueue(reqs[:1]...)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	q, err := NewQueue(mq, Config{Window: time.Minute}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	q.now = func() time.Time { return now }
	claim := func() []investigate.Claimed {
		cs, err := q.Claim(context.Background(), "w", time.Hour, 1)
		if err != nil {
			t.Fatal(err)
		}
		return cs
	}
	if cs := claim(); len(cs) != 1 {
		t.Fatalf("first alert: %d cases handed out, want 1", len(cs))
	}
	add := func(r investigate.Request) {
		mq.mu.Lock()
		id := fmt.Sprintf("late-%d", len(mq.order))
		mq.order, mq.reqs[id], mq.state[id] = append(mq.order, id), r, "queued"
		mq.mu.Unlock()
	}
	now = now.Add(59 * time.Second)
	add(reqs[1])
	if cs := claim(); len(cs) != 0 {
		t.Errorf("alert within the window: %d cases handed out, want it folded", len(cs))
	}
	now = now.Add(2 * time.Second)
	add(reqs[2])
	if cs := claim(); len(cs) != 1 {
		t.Errorf("alert after the window: %d cases handed out, want a new incident", len(cs))
	}
}

func TestQueueReleasesCasesKeptTooLong(t *testing.T) {
	mq := newMemQueue(storm(0, 0, 3)...)
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	q, err := NewQueue(mq, Config{}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	q.now = func() time.Time { return now }
	if cs, _ := q.Claim(context.Background(), "w", time.Minute, 1); len(cs) != 1 {
		t.Fatalf("handed out %d, want 1", len(cs))
	}
	now = now.Add(31 * time.Second) // past half the lease
	cs, err := q.Claim(context.Background(), "w", time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Both kept cases are released; the claim then takes them afresh.
	if mq.releases != 2 || len(cs) != 1 {
		t.Errorf("releases = %d, handed out %d; want 2 and 1", mq.releases, len(cs))
	}
	if err := q.ReleaseKept(context.Background()); err != nil {
		t.Fatal(err)
	}
	if mq.releases != 3 || len(mq.bad) > 0 {
		t.Errorf("after ReleaseKept: releases = %d, misuse %v; want 3 and none", mq.releases, mq.bad)
	}
}

func TestQueueRenewsUnderTheClaimingWorker(t *testing.T) {
	mq := newMemQueue(storm(0, 0, 2)...)
	q, err := NewQueue(mq, Config{}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := q.Claim(context.Background(), "worker-a", time.Minute, 1)
	b, _ := q.Claim(context.Background(), "worker-b", time.Minute, 1) // served from worker-a's claim
	if len(a) != 1 || len(b) != 1 {
		t.Fatalf("claims handed out %d and %d, want 1 and 1", len(a), len(b))
	}
	if err := q.Renew(context.Background(), b[0].ID, "worker-b", time.Minute); err != nil {
		t.Fatal(err)
	}
	if want := []string{b[0].ID + "@worker-a"}; !slices.Equal(mq.renewals, want) {
		t.Errorf("renewals = %v, want %v (the lease holder's name)", mq.renewals, want)
	}
}

// sharedQueue is a memQueue that is also the registry of incidents, as the
// knowledge base is for every process working its queue.
type sharedQueue struct {
	*memQueue
	regMu   sync.Mutex
	leaders map[string]string
	fail    error
}

func (q *sharedQueue) OpenIncidents(_ context.Context, keys, caseIDs []string, _ time.Duration) ([]string, []time.Time, error) {
	q.regMu.Lock()
	defer q.regMu.Unlock()
	if q.fail != nil {
		return nil, nil, q.fail
	}
	leaders, opened := make([]string, len(keys)), make([]time.Time, len(keys))
	for i, key := range keys {
		if _, ok := q.leaders[key]; !ok {
			q.leaders[key] = caseIDs[i]
		}
		leaders[i], opened[i] = q.leaders[key], time.Now()
	}
	return leaders, opened, nil
}

// claimOne claims one case through q and completes it; it reports whether
// a case was handed out.
func claimOne(t *testing.T, q *Queue) bool {
	t.Helper()
	cs, err := q.Claim(context.Background(), "w", time.Minute, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cs {
		if err := q.Complete(context.Background(), c.ID, &investigate.Result{Analysis: investigate.Analysis{Analyzer: "test"}}); err != nil {
			t.Fatal(err)
		}
	}
	return len(cs) > 0
}

// Two processes claiming alternately from one queue (3 workloads, so the
// alerts of each workload alternate between them) open one investigation
// per incident through the shared registry; a process started later (a
// restart) folds into the incidents opened before it.
func TestQueueSharesIncidentsAcrossProcesses(t *testing.T) {
	sq := &sharedQueue{memQueue: newMemQueue(storm(3, 4, 0)...), leaders: map[string]string{}}
	a, err := NewQueue(sq, Config{Batch: 1}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewQueue(sq, Config{Batch: 1}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	handed := 0
	for range 6 { // the first two alerts of every workload
		for _, q := range []*Queue{a, b} {
			if claimOne(t, q) {
				handed++
			}
		}
	}
	restarted, err := NewQueue(sq, Config{Batch: 1}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	for claimOne(t, restarted) {
		handed++
	}
	if handed != 3 {
		t.Errorf("%d investigations handed out by three processes, want 3 (one per incident)", handed)
	}
	if len(sq.bad) > 0 {
		t.Errorf("queue misuse: %v", sq.bad)
	}
	for _, id := range sq.order {
		if sq.state[id] != "done" {
			t.Errorf("case %s is %s, want done", id, sq.state[id])
		}
	}
}

// A failing registry costs folding across processes, never an alert: each
// process folds with what it knows.
func TestQueueSurvivesAFailingRegistry(t *testing.T) {
	sq := &sharedQueue{memQueue: newMemQueue(storm(3, 4, 0)...), leaders: map[string]string{}, fail: fmt.Errorf("registry down")}
	q, err := NewQueue(sq, Config{}, nil, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if got := drain(t, q, 2); len(got) != 3 {
		t.Errorf("%d investigations handed out, want 3 (folded in this process)", len(got))
	}
	for _, id := range sq.order {
		if sq.state[id] != "done" {
			t.Errorf("case %s is %s, want done", id, sq.state[id])
		}
	}
}
