// Package kbqueue presents the knowledge base's durable queue to the
// webhook (handlers.Queue) and to the workers (dispatch.Queue). It is
// wiring, shared by cmd/k8flex and the storm benchmarks: the adapters
// themselves never import each other.
package kbqueue

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/k8flex/k8flex/dispatch"
	"github.com/k8flex/k8flex/fold"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// Store is the queue half of a kb backend (kb.Embedded, kb.Postgres).
type Store interface {
	Enqueue(ctx context.Context, reqs []investigate.Request) ([]kb.EnqueueResult, error)
	Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]kb.ClaimedCase, error)
	Complete(ctx context.Context, id string, r *investigate.Result) error
	Fail(ctx context.Context, id string, cause error) error
	Release(ctx context.Context, id string) error
	Renew(ctx context.Context, id, worker string, lease time.Duration) error
	OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error)
}

// Queue adapts a Store. Notify, when set, is called after an enqueue that
// queued new work (to wake a worker); Thread, when set, is told about a
// repeated or resolved alert whose case already has a Slack thread.
type Queue struct {
	Store  Store
	Notify func()
	Thread func(r kb.EnqueueResult, a *investigate.Alert)
}

var (
	_ handlers.Queue = (*Queue)(nil)
	_ dispatch.Queue = (*Queue)(nil)
	_ fold.Incidents = (*Queue)(nil)
)

// Enqueue implements handlers.Queue.
func (q *Queue) Enqueue(ctx context.Context, reqs []investigate.Request) ([]handlers.Enqueued, error) {
	res, err := q.Store.Enqueue(ctx, reqs)
	if err != nil {
		return nil, err
	}
	out := make([]handlers.Enqueued, len(res))
	fresh := false
	for i, r := range res {
		out[i] = handlers.Enqueued{CaseID: r.ID, Duplicate: r.Duplicate, Resolved: r.Resolved}
		if !r.Duplicate && !r.Resolved {
			fresh = true
		}
		if (r.Duplicate || r.Resolved) && r.ThreadTS != "" && q.Thread != nil {
			q.Thread(r, reqs[i].Alert)
		}
	}
	if fresh && q.Notify != nil {
		q.Notify()
	}
	return out, nil
}

// Claim implements dispatch.Queue.
func (q *Queue) Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]dispatch.Claimed, error) {
	cs, err := q.Store.Claim(ctx, worker, lease, n)
	if err != nil {
		return nil, err
	}
	out := make([]dispatch.Claimed, len(cs))
	for i, c := range cs {
		out[i] = dispatch.Claimed{ID: c.ID, Request: c.Request}
	}
	return out, nil
}

// Complete implements dispatch.Queue.
func (q *Queue) Complete(ctx context.Context, id string, r *investigate.Result) error {
	return q.Store.Complete(ctx, id, r)
}

// Fail implements dispatch.Queue.
func (q *Queue) Fail(ctx context.Context, id, reason string) error {
	return q.Store.Fail(ctx, id, errors.New(reason))
}

// Release implements dispatch.Queue.
func (q *Queue) Release(ctx context.Context, id string) error { return q.Store.Release(ctx, id) }

// Renew implements dispatch.Queue; kb's lost lease becomes dispatch's.
func (q *Queue) Renew(ctx context.Context, id, worker string, lease time.Duration) error {
	err := q.Store.Renew(ctx, id, worker, lease)
	if errors.Is(err, kb.ErrLeaseLost) {
		return fmt.Errorf("%w: %w", dispatch.ErrLeaseLost, err)
	}
	return err
}

// OpenIncidents implements fold.Incidents: the knowledge base is the
// registry every process working the queue shares.
func (q *Queue) OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) ([]string, []time.Time, error) {
	return q.Store.OpenIncidents(ctx, keys, caseIDs, window)
}
