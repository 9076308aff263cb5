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
	failed    map[string]string
	released  map[string]int
	renewed   map[string]int
	lost      map[string]bool // leases another worker took over
}

func newMemQueue(n int) *memQueue {
	q := &memQueue{running: map[string]bool{}, completed: map[string]int{}, failed: map[string]string{}, released: map[string]int{}, renewed: map[string]int{}, lost: map[string]bool{}}
	for i := range n {
		q.queued = append(q.queued, fmt.Sprintf("case-%03d", i))
	}
	return q
}

func (q *memQueue) Claim(_ context.Context, _ string, _ time.Duration, n int) ([]Claimed, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	var out []Claimed
	for len(q.queued) > 0 && len(out) < n {
		id := q.queued[0]
		q.queued = q.queued[1:]
		q.running[id] = true
		a := investigate.Alert{Status: "firing", Labels: map[string]string{"alertname": "KubePodCrashLooping"}}
		out = append(out, Claimed{ID: id, Request: investigate.Request{Alert: &a}})
	}
	return out, nil
}

func (q *memQueue) Complete(_ context.Context, id string, _ *investigate.Result) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.completed[id]++
	return nil
}

func (q *memQueue) Fail(_ context.Context, id, reason string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	delete(q.running, id)
	q.failed[id] = reason
	return nil
}

func (q *memQueue) Renew(_ context.Context, id, _ string, _ time.Duration) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if !q.running[id] {
		return fmt.Errorf("case %s is not running", id)
	}
	if q.lost[id] {
		return fmt.Errorf("renew %s: %w", id, ErrLeaseLost)
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

func TestPoolMarksFailedCases(t *testing.T) {
	q := newMemQueue(1)
	run := runnerFunc(func(context.Context, *investigate.Request, investigate.Reporter) (*investigate.Result, error) {
		return &investigate.Result{Err: "boom"}, errors.New("analyze: boom")
	})
	p := New(Config{Workers: 1, Poll: time.Millisecond}, q, run, nil, nil, zerolog.Nop())
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	eventually(t, "case failed", func() bool {
		q.mu.Lock()
		defer q.mu.Unlock()
		return q.failed["case-000"] != ""
	})
	cancel()
	<-done
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
	if cause := <-stopped; !errors.Is(cause, ErrLeaseLost) {
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
