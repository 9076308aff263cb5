// Package dispatch runs queued investigations on a bounded pool of
// workers. Workers claim cases from the durable queue (investigate.Queue)
// with a lease, run the engine, and complete the case with its result; on
// shutdown, work that cannot finish within the grace period is released
// back to the queue so a restart (or another replica) resumes it. Nothing
// is started per request: the pool size bounds goroutines, memory and
// load on the cluster and the model. Alerts and /k8flex investigations
// enter through the pool's Enqueue, which records them in the queue and
// wakes a worker.
//
// The worker owns the one write of a result: when the engine reports the
// investigation finished, the report first goes on to its reporter, whose
// Finished durably records what the result owes the outside (Slack's
// final thread, a storm digest's count) and returns without waiting on
// Slack; then the worker completes the case with the result
// (Queue.Complete stores it and ends the lease in one transaction). So a
// case is completed only once its final report is recorded: a kill -9 in
// between leaves the case to be claimed and analysed again, and the
// re-run reports into the same thread or digest (the reporter's concern).
// A run whose lease was lost, or that shutdown cut short, stores nothing.
package dispatch

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// Runner runs one investigation (the engine).
type Runner interface {
	Run(ctx context.Context, req *investigate.Request, rep investigate.Reporter) (*investigate.Result, error)
}

// Config configures the pool.
type Config struct {
	// Workers bounds concurrent investigations (default 4).
	Workers int
	// Lease is how long a claim lasts before another worker (of this or
	// another process) may take it over (default 1m). Running cases renew
	// it every Lease/3, so a long model call keeps its case while a killed
	// process's cases are taken over one Lease after its last renewal.
	Lease time.Duration
	// Poll is how often idle workers look for work when not notified (default 2s).
	Poll time.Duration
	// Grace is how long running investigations may finish on shutdown
	// before they are released (default 20s).
	Grace time.Duration
	// Name identifies this process's workers in claims (default "k8flex").
	Name string
}

// Pool is a fixed set of workers.
type Pool struct {
	cfg      Config
	q        investigate.Queue
	run      Runner
	reporter func(ctx context.Context, c investigate.Claimed) investigate.Reporter
	done     func(r *investigate.Result)
	log      zerolog.Logger
	wake     chan struct{}
}

var _ investigate.Enqueuer = (*Pool)(nil)

// New returns a pool working q. reporter makes the Reporter of each case
// (nil = none); done, when non-nil, observes every finished result
// (metrics), with the time its write took as StageRecord.
func New(cfg Config, q investigate.Queue, run Runner, reporter func(context.Context, investigate.Claimed) investigate.Reporter,
	done func(*investigate.Result), log zerolog.Logger) *Pool {
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	if cfg.Lease <= 0 {
		cfg.Lease = time.Minute
	}
	if cfg.Poll <= 0 {
		cfg.Poll = 2 * time.Second
	}
	if cfg.Grace <= 0 {
		cfg.Grace = 20 * time.Second
	}
	if cfg.Name == "" {
		cfg.Name = "k8flex"
	}
	return &Pool{cfg: cfg, q: q, run: run, reporter: reporter, done: done, log: log, wake: make(chan struct{}, cfg.Workers)}
}

// Enqueue records reqs in the pool's queue (see investigate.Enqueuer) and
// wakes an idle worker when any of them is new work.
func (p *Pool) Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	res, err := p.q.Enqueue(ctx, reqs)
	if err != nil {
		return nil, err
	}
	for _, r := range res {
		if !r.Duplicate && !r.Resolved {
			p.Notify()
			break
		}
	}
	return res, nil
}

// Notify wakes an idle worker (Enqueue calls it; call it after recording
// work in the queue another way). It never blocks.
func (p *Pool) Notify() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run works until ctx is cancelled, then gives running investigations the
// grace period and releases what is still running. It returns when every
// worker has stopped.
func (p *Pool) Run(ctx context.Context) {
	var wg sync.WaitGroup
	for i := range p.cfg.Workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.worker(ctx, fmt.Sprintf("%s/%d", p.cfg.Name, i))
		}()
	}
	wg.Wait()
}

func (p *Pool) worker(ctx context.Context, name string) {
	for ctx.Err() == nil {
		claimed, err := p.q.Claim(ctx, name, p.cfg.Lease, 1)
		if err != nil && ctx.Err() == nil {
			p.log.Error().Err(err).Str("worker", name).Msg("claim queued cases")
		}
		if len(claimed) == 0 {
			select {
			case <-ctx.Done():
			case <-p.wake:
			case <-time.After(p.cfg.Poll):
			}
			continue
		}
		for _, c := range claimed {
			p.investigate(ctx, name, c)
		}
	}
}

// investigate runs one case. The run continues for the grace period after
// ctx ends; if it is still running then, it is cancelled and released.
func (p *Pool) investigate(ctx context.Context, worker string, c investigate.Claimed) {
	runCtx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	defer cancel(nil)
	stopRenew := p.keepLease(runCtx, cancel, worker, c.ID)
	defer stopRenew()
	stop := context.AfterFunc(ctx, func() {
		t := time.AfterFunc(p.cfg.Grace, func() { cancel(errShutdown) })
		<-runCtx.Done()
		t.Stop()
	})
	defer stop()

	log := p.log.With().Str("case", c.ID).Logger()
	// Book-keeping must reach the store even while shutting down.
	bookCtx := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	}
	rep := &completing{p: p, runCtx: runCtx, id: c.ID, bookCtx: bookCtx, log: log}
	if p.reporter != nil {
		rep.next = p.reporter(runCtx, c)
	}
	req := c.Request
	req.ID = c.ID
	res, err := p.run.Run(runCtx, &req, rep)
	switch {
	case rep.stored:
		// Stored at Finished; a renewal that failed after that (the case
		// is no longer running) changes nothing.
	case dropped(runCtx):
		p.drop(bookCtx, c.ID, context.Cause(runCtx), log)
		return
	default:
		// A runner that did not report Finished: its outcome is stored here.
		rep.store(res, err)
	}
	if p.done != nil && res != nil {
		p.done(res)
	}
}

// dropped reports whether the run must store nothing: its lease was lost
// (another worker may own the case now) or shutdown cut it short.
func dropped(runCtx context.Context) bool {
	c := context.Cause(runCtx)
	return errors.Is(c, investigate.ErrLeaseLost) || errors.Is(c, errShutdown)
}

// drop handles a run that stores nothing: a lost lease is left alone, a
// run cut short by shutdown is released for a restart.
func (p *Pool) drop(bookCtx func() (context.Context, context.CancelFunc), id string, cause error, log zerolog.Logger) {
	if errors.Is(cause, investigate.ErrLeaseLost) {
		log.Warn().Msg("lease lost to another worker; this run's result is dropped")
		return
	}
	log.Warn().Msg("shutdown before the investigation finished; released for a restart")
	bctx, cancel := bookCtx()
	defer cancel()
	if err := p.q.Release(bctx, id); err != nil {
		log.Error().Err(err).Msg("release case; its lease will expire instead")
	}
}

// completing is the Reporter a worker hands the runner: on Finished it
// first passes the report on (the reporter records the final report
// durably and returns), then completes the case with the result (the
// result's one write), so the engine logs the investigation finished only
// after both. Why this order: the other one (complete, then report) left
// a window where a kill -9 had the case completed, never to run again,
// and its report only in the dead process's memory: a thread "in
// progress" forever, an alert missing from its storm digest. In this
// order the window leaves the case to run again, and a reporter's record
// is idempotent per case (same thread, digest counts once per case).
// A runner must call Finished before Run returns (the engine does); when it
// does not, the worker stores the outcome after Run.
type completing struct {
	p       *Pool
	next    investigate.Reporter // nil: none
	runCtx  context.Context
	id      string
	bookCtx func() (context.Context, context.CancelFunc)
	log     zerolog.Logger

	stored bool // store was called (Complete or Fail attempted)
}

func (r *completing) Started(ctx context.Context, inv *investigate.Investigation) error {
	if r.next == nil {
		return nil
	}
	return r.next.Started(ctx, inv)
}

func (r *completing) Chunk(ctx context.Context, text string) {
	if r.next != nil {
		r.next.Chunk(ctx, text)
	}
}

// Finished reports res, then stores it (unless the run is dropped). The
// write's duration is added to res.Timings as StageRecord.
func (r *completing) Finished(ctx context.Context, res *investigate.Result) error {
	var err error
	if r.next != nil {
		err = r.next.Finished(ctx, res)
	}
	if !dropped(r.runCtx) {
		r.store(res, nil)
	}
	return err
}

// store completes the case with res, or fails it when there is no result.
func (r *completing) store(res *investigate.Result, runErr error) {
	r.stored = true
	bctx, cancel := r.bookCtx()
	defer cancel()
	if res == nil {
		if runErr == nil {
			runErr = errors.New("the investigation returned no result")
		}
		if err := r.p.q.Fail(bctx, r.id, runErr); err != nil {
			r.log.Error().Err(err).Msg("mark case failed")
		}
		return
	}
	t0 := time.Now()
	err := r.p.q.Complete(bctx, r.id, res)
	res.Timings = append(res.Timings, investigate.StageTiming{Stage: investigate.StageRecord, Duration: time.Since(t0)})
	if err != nil {
		r.log.Error().Err(err).Msg("complete case")
	}
}

var errShutdown = errors.New("shutting down")

// keepLease renews the lease on case id every Lease/3 until the returned
// stop function is called. A failed renewal is logged and retried; a lost
// lease (another worker may own the case now) cancels the run with
// investigate.ErrLeaseLost, so the case is never completed twice.
func (p *Pool) keepLease(ctx context.Context, cancel context.CancelCauseFunc, worker, id string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(p.cfg.Lease / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				rctx, cancelRenew := context.WithTimeout(ctx, p.cfg.Lease/3)
				err := p.q.Renew(rctx, id, worker, p.cfg.Lease)
				cancelRenew()
				if errors.Is(err, investigate.ErrLeaseLost) {
					cancel(investigate.ErrLeaseLost)
					return
				}
				if err != nil {
					p.log.Warn().Str("case", id).Str("error", err.Error()).Msg("renew lease")
				}
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}
