package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// memQueue is an in-memory queue with the claim semantics the workers rely
// on: a case is claimed by one worker at a time.
type memQueue struct {
	mu        sync.Mutex
	queued    []string
	running   map[string]bool
	completed map[string]int
	results   map[string]*investigate.Result
	failed    map[string]string
	released  map[string]int
	renewed   map[string]int
	lost      map[string]bool // leases another worker took over
	claims    int
	renewals  int // attempts, also failed ones
}

func newMemQueue(n int) *memQueue {
	q := &memQueue{running: map[string]bool{}, completed: map[string]int{}, results: map[string]*investigate.Result{}, failed: map[string]string{}, released: map[string]int{}, renewed: map[string]int{}, lost: map[string]bool{}}
	for i := range n {
		q.queued = append(q.queued, fmt.Sprintf("case-%03d", i))
	}
	return q
}

var _ investigate.Queue = (*memQueue)(nil)

// Enqueue queues one new case per request (no deduplication).
func (q *memQueue) Enqueue(_ context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]investigate.Enqueued, len(reqs))
	for i := range reqs {
		id := fmt.Sprintf("case-new-%03d", len(q.queued)+len(q.completed)+len(q.running))
		q.queued = append(q.queued, id)
		out[i] = investigate.Enqueued{ID: id}
	}
	return out, nil
}

func (q *memQueue) Claim(_ context.Context, _ string, _ time.Duration, n int) ([]investigate.Claimed, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.claims++
	var out []investigate.Claimed
	for len(q.queued) > 0 && len(out) < n {
		id := q.queued[0]
		q.queued = q.queued[1:]
		q.running[id] = true
		a := investigate.Alert{Status: "firing", Labels: map[string]string{"alertname": "KubePodCrashLooping"}}
		out = append(out, investigate.Claimed{ID: id, Request: investigate.Request{Alert: &a}})
	}
	return out, nil
}

func (q *memQueue) Complete(_ context.Context, id string, r *investigate.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.completed[id]++
	q.results[id] = r
	return nil
}

func (q *memQueue) Fail(_ context.Context, id string, cause error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.failed[id] = cause.Error()
	return nil
}

func (q *memQueue) isCompleted(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.completed[id] > 0
}

func (q *memQueue) Renew(_ context.Context, id, _ string, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.renewals++
	if !q.running[id] {
		// As the knowledge base: a finished case's lease is lost.
		return fmt.Errorf("case %s is not running: %w", id, investigate.ErrLeaseLost)
	}
	if q.lost[id] {
		return fmt.Errorf("renew %s: %w", id, investigate.ErrLeaseLost)
	}
	q.renewed[id]++
	return nil
}

func (q *memQueue) Release(_ context.Context, id string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.released[id]++
	q.queued = append(q.queued, id)
	return nil
}

type runnerFunc func(ctx context.Context, req *investigate.Request, rep investigate.Reporter) (*investigate.Result, error)

func (f runnerFunc) Run(ctx context.Context, req *investigate.Request, rep investigate.Reporter) (*investigate.Result, error) {
	return f(ctx, req, rep)
}

func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestPoolRunsEveryCaseOnceWithBoundedConcurrency(t *testing.T) {
	q := newMemQueue(200)
	var inFlight, peak atomic.Int32
	run := runnerFunc(func(ctx context.Context, req *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(time.Millisecond)
		inFlight.Add(-1)
		res := &investigate.Result{}
		res.ID = req.ID
		res.Analysis.Text = "## Root cause\nx"
		return res, nil
	})
	var seen sync.Map
	p := New(Config{Workers: 3, Poll: 5 * time.Millisecond}, q, run, nil, func(r *investigate.Result) {
		if _, dup := seen.LoadOrStore(r.ID, true); dup {
			t.Errorf("case %s investigated twice", r.ID)
		}
	}, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	eventually(t, "every case completed", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return len(q.completed) == 200
	})
	cancel()
	<-done
	if got := peak.Load(); got > 3 || got < 1 {
		t.Fatalf("peak concurrency %d, want 1..3", got)
	}
	for id, n := range q.completed {
		if n != 1 {
			t.Errorf("%s completed %d times", id, n)
		}
	}
}

func TestPoolReleasesUnfinishedWorkOnShutdown(t *testing.T) {
	q := newMemQueue(1)
	started := make(chan struct{})
	run := runnerFunc(func(ctx context.Context, _ *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		close(started)
		<-ctx.Done() // a model call that outlives the grace period
		return &investigate.Result{}, ctx.Err()
	})
	p := New(Config{Workers: 1, Poll: time.Millisecond, Grace: 20 * time.Millisecond}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	<-started
	cancel()
	<-done
	if q.released["case-000"] != 1 || q.completed["case-000"] != 0 || len(q.failed) != 0 {
		t.Fatalf("released %v completed %v failed %v: want the case released for a restart", q.released, q.completed, q.failed)
	}
}

func TestPoolFinishesWithinGrace(t *testing.T) {
	q := newMemQueue(1)
	started := make(chan struct{})
	run := runnerFunc(func(ctx context.Context, req *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		close(started)
		time.Sleep(30 * time.Millisecond) // finishes inside the grace period
		res := &investigate.Result{}
		res.Analysis.Text = "done"
		return res, ctx.Err()
	})
	p := New(Config{Workers: 1, Poll: time.Millisecond, Grace: 5 * time.Second}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	<-started
	cancel()
	<-done
	if q.completed["case-000"] != 1 || q.released["case-000"] != 0 {
		t.Fatalf("completed %v released %v: a run inside the grace period must complete", q.completed, q.released)
	}
}

// TestPoolStoresFailedInvestigations: a failed analysis is stored like
// any result (the store marks the case failed from Result.Err, keeping its
// evidence); a run without any result fails the case with its error.
func TestPoolStoresFailedInvestigations(t *testing.T) {
	q := newMemQueue(2)
	run := runnerFunc(func(_ context.Context, req *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		if req.ID == "case-001" {
			return nil, errors.New("no result at all")
		}
		return &investigate.Result{Err: "boom"}, errors.New("analyze: boom")
	})
	p := New(Config{Workers: 1, Poll: time.Millisecond}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	eventually(t, "both cases finished", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.completed["case-000"] == 1 && q.failed["case-001"] != ""
	})
	cancel()
	<-done
	if r := q.results["case-000"]; r == nil || r.Err != "boom" || q.failed["case-000"] != "" {
		t.Errorf("failed analysis stored as %+v (failed %q): want its result, once", r, q.failed["case-000"])
	}
	if q.failed["case-001"] != "no result at all" || q.completed["case-001"] != 0 {
		t.Errorf("run without a result: failed %q, completed %d", q.failed["case-001"], q.completed["case-001"])
	}
}

// finishReporter notes whether the case was stored when Finished came
// (it must not be: the report is recorded first).
type finishReporter struct {
	q              *memQueue
	id             string
	storedAtFinish chan bool
}

func (r *finishReporter) Started(context.Context, *investigate.Investigation) error { return nil }
func (r *finishReporter) Chunk(context.Context, string)                             {}
func (r *finishReporter) Finished(context.Context, *investigate.Result) error {
	r.storedAtFinish <- r.q.isCompleted(r.id)
	return nil
}

// TestPoolStoresTheResultOnceAfterItIsReported: the worker completes the
// case with the result when the runner reports it finished, after the
// reporter (Slack) recorded the report, so a kill between the two leaves
// the case to run again rather than completed and never reported; never a
// second time after Run; the write is timed as the record stage.
func TestPoolStoresTheResultOnceAfterItIsReported(t *testing.T) {
	q := newMemQueue(1)
	run := runnerFunc(func(ctx context.Context, req *investigate.Request, rep investigate.Reporter) (*investigate.Result, error) {
		res := &investigate.Result{}
		res.ID = req.ID
		res.Analysis.Text = "## Root cause\nx"
		_ = rep.Started(ctx, &res.Investigation)
		_ = rep.Finished(ctx, res)
		return res, nil
	})
	fr := &finishReporter{q: q, id: "case-000", storedAtFinish: make(chan bool, 1)}
	observed := make(chan *investigate.Result, 1)
	p := New(Config{Workers: 1, Poll: time.Millisecond}, q, run,
		func(context.Context, investigate.Claimed) investigate.Reporter { return fr },
		func(r *investigate.Result) { observed <- r }, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	if <-fr.storedAtFinish {
		t.Errorf("the case was stored before its reporter recorded the report")
	}
	r := <-observed
	cancel()
	<-done
	if q.completed["case-000"] != 1 || q.results["case-000"] != r {
		t.Errorf("completed %d times with %p, want once with the run's result %p", q.completed["case-000"], q.results["case-000"], r)
	}
	if r.Duration(investigate.StageRecord) <= 0 {
		t.Errorf("the write was not timed: %v", r.Timings)
	}
}

// TestPoolEnqueueWakesAWorker: work recorded through the pool is claimed
// at once, not at the next poll.
func TestPoolEnqueueWakesAWorker(t *testing.T) {
	q := newMemQueue(0)
	run := runnerFunc(func(_ context.Context, req *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		res := &investigate.Result{}
		res.ID = req.ID
		res.Analysis.Text = "x"
		return res, nil
	})
	p := New(Config{Workers: 1, Poll: time.Hour}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	// The worker's first claim finds nothing; it then sleeps for Poll.
	eventually(t, "a first claim", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.claims > 0
	})
	res, err := p.Enqueue(ctx, []investigate.Request{{Target: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop"}}})
	if err != nil || len(res) != 1 {
		t.Fatalf("Enqueue = %v, %v", res, err)
	}
	eventually(t, "the enqueued case completed", func() bool { return q.isCompleted(res[0].ID) })
}

func TestPoolRenewsTheLeaseOfLongInvestigations(t *testing.T) {
	q := newMemQueue(1)
	renewed := func() int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.renewed["case-000"]
	}
	// A slow model call: the run lasts until the lease has been renewed
	// three times (or gives up after 10 s, which fails the test below), so
	// the outcome does not depend on how fast this machine is.
	run := runnerFunc(func(ctx context.Context, req *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		for deadline := time.Now().Add(10 * time.Second); renewed() < 3 && time.Now().Before(deadline); {
			time.Sleep(5 * time.Millisecond)
		}
		res := &investigate.Result{}
		res.Analysis.Text = "done"
		return res, nil
	})
	p := New(Config{Workers: 1, Poll: time.Millisecond, Lease: 30 * time.Millisecond}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	eventually(t, "case completed", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.completed["case-000"] == 1
	})
	cancel()
	<-done
	q.mu.Lock()
	defer q.mu.Unlock()
	if n := q.renewed["case-000"]; n < 3 {
		t.Fatalf("lease renewed %d times during a run that outlasted many lease periods, want at least 3", n)
	}
}

// TestPoolDropsARunWhoseLeaseWasLost: when another worker took the case
// over, this run stops and neither completes, fails nor releases it, so
// the case is never analysed to completion twice.
func TestPoolDropsARunWhoseLeaseWasLost(t *testing.T) {
	q := newMemQueue(1)
	q.lost["case-000"] = true
	stopped := make(chan error, 1)
	run := runnerFunc(func(ctx context.Context, _ *investigate.Request, _ investigate.Reporter) (*investigate.Result, error) {
		select {
		case <-ctx.Done():
			stopped <- context.Cause(ctx)
		case <-time.After(5 * time.Second):
			stopped <- nil
		}
		res := &investigate.Result{}
		res.Analysis.Text = "too late"
		return res, ctx.Err()
	})
	p := New(Config{Workers: 1, Poll: time.Hour, Lease: 30 * time.Millisecond}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	if cause := <-stopped; !errors.Is(cause, investigate.ErrLeaseLost) {
		t.Fatalf("run stopped with %v, want ErrLeaseLost", cause)
	}
	cancel()
	<-done
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.completed["case-000"] != 0 || q.failed["case-000"] != "" || q.released["case-000"] != 0 {
		t.Fatalf("completed %v failed %v released %v: a run that lost its lease must leave the case alone",
			q.completed, q.failed, q.released)
	}
}

// TestPoolKeepsARunStoredBeforeItsLeaseEnded: once the case is stored (at
// Finished), a renewal that fails because the case is no longer running
// neither drops the run nor releases the case, and the result is observed.
func TestPoolKeepsARunStoredBeforeItsLeaseEnded(t *testing.T) {
	q := newMemQueue(1)
	attempts := func() int {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.renewals
	}
	run := runnerFunc(func(ctx context.Context, req *investigate.Request, rep investigate.Reporter) (*investigate.Result, error) {
		res := &investigate.Result{}
		res.ID = req.ID
		res.Analysis.Text = "x"
		_ = rep.Finished(ctx, res)
		// The engine still logs after Finished; meanwhile a renewal fails.
		for deadline := time.Now().Add(10 * time.Second); attempts() == 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		<-ctx.Done() // the failed renewal cancelled the run
		return res, nil
	})
	observed := make(chan *investigate.Result, 1)
	p := New(Config{Workers: 1, Poll: time.Hour, Lease: 30 * time.Millisecond}, q, run, nil,
		func(r *investigate.Result) { observed <- r }, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	select {
	case <-observed:
	case <-time.After(10 * time.Second):
		t.Fatal("the stored result was never observed")
	}
	cancel()
	<-done
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.completed["case-000"] != 1 || q.released["case-000"] != 0 || q.failed["case-000"] != "" {
		t.Fatalf("completed %v released %v failed %v: want the stored case left alone", q.completed, q.released, q.failed)
	}
}
