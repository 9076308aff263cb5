// Package dispatch runs queued investigations on a bounded pool of
// workers. Workers claim cases from the durable queue with a lease, run
// the engine, and complete the case; on shutdown, work that cannot finish
// within the grace period is released back to the queue so a restart (or
// another replica) resumes it. Nothing is started per alert: the pool size
// bounds goroutines, memory and load on the cluster and the model.
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

// Queue is the durable queue as workers use it.
type Queue interface {
	// Claim leases up to n queued (or lease-expired) cases to worker.
	Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]Claimed, error)
	Complete(ctx context.Context, id string, r *investigate.Result) error
	Fail(ctx context.Context, id string, reason string) error
	// Release puts a claimed case back in the queue.
	Release(ctx context.Context, id string) error
	// Renew extends worker's lease on a running case; it fails when the
	// lease was lost (expired and claimed by another worker).
	Renew(ctx context.Context, id, worker string, lease time.Duration) error
}

// Claimed is one leased case.
type Claimed struct {
	ID      string
	Request investigate.Request
}

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
	q        Queue
	run      Runner
	reporter func(ctx context.Context, c Claimed) investigate.Reporter
	done     func(r *investigate.Result)
	log      zerolog.Logger
	wake     chan struct{}
}

// New returns a pool. reporter makes the Reporter of each case (nil = none);
// done, when non-nil, observes every finished result (metrics).
func New(cfg Config, q Queue, run Runner, reporter func(context.Context, Claimed) investigate.Reporter,
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

// Notify wakes an idle worker (call after enqueueing). It never blocks.
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
func (p *Pool) investigate(ctx context.Context, worker string, c Claimed) {
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
	var rep investigate.Reporter
	if p.reporter != nil {
		rep = p.reporter(runCtx, c)
	}
	req := c.Request
	req.ID = c.ID
	res, err := p.run.Run(runCtx, &req, rep)
	// Book-keeping must reach the store even while shutting down.
	bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer bcancel()
	if errors.Is(context.Cause(runCtx), ErrLeaseLost) {
		log.Warn().Msg("lease lost to another worker; this run's result is dropped")
		return
	}
	if errors.Is(context.Cause(runCtx), errShutdown) {
		log.Warn().Msg("shutdown before the investigation finished; released for a restart")
		if err := p.q.Release(bctx, c.ID); err != nil {
			log.Error().Err(err).Msg("release case; its lease will expire instead")
		}
		return
	}
	if p.done != nil && res != nil {
		p.done(res)
	}
	if err != nil && (res == nil || res.Analysis.Text == "") {
		if ferr := p.q.Fail(bctx, c.ID, err.Error()); ferr != nil {
			log.Error().Err(ferr).Msg("mark case failed")
		}
		return
	}
	if err := p.q.Complete(bctx, c.ID, res); err != nil {
		log.Error().Err(err).Msg("complete case")
	}
}

var errShutdown = errors.New("shutting down")

// ErrLeaseLost is returned (wrapped) by Queue.Renew when the worker's
// lease expired and another worker may have claimed the case: the run is
// abandoned, its result neither completed nor released.
var ErrLeaseLost = errors.New("lease lost")

// keepLease renews the lease on case id every Lease/3 until the returned
// stop function is called. A failed renewal is logged and retried; a lost
// lease (another worker may own the case now) cancels the run with
// ErrLeaseLost, so the case is never completed twice.
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
				if errors.Is(err, ErrLeaseLost) {
					cancel(ErrLeaseLost)
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
