package investigate

import (
	"context"
	"errors"
	"time"
)

// Enqueuer durably records requests for investigation: the intake side of
// Queue, all the webhook and the Slack bot need.
//
// Enqueue is atomic for the batch: it returns only after every request is
// recorded, or an error and nothing recorded. It answers one Enqueued per
// request, in order. A firing alert whose Alert.Key already has a case is
// a Duplicate (nothing new queued; ID names the existing case); a resolved
// alert marks its case resolved and queues nothing. A request without an
// alert (a slash command) is always a new case. An implementation that
// cannot take more work now returns an error wrapping ErrQueueFull.
type Enqueuer interface {
	Enqueue(ctx context.Context, reqs []Request) ([]Enqueued, error)
}

// Queue is the durable queue of investigations, the one port between the
// intake (webhook, slash commands), the workers and storm folding. The
// knowledge base implements it; a case is a queued request.
//
// The life of a case: Enqueue records it queued; Claim leases it to a
// worker (a lease that expires, because its worker died, makes the case
// claimable again, a bounded number of times); Renew extends a lease;
// then exactly one of Complete, Fail or Release ends the lease.
//
// Complete is the ONE write of an investigation's outcome: it stores the
// result and marks the case finished in one transaction, so a case is
// finished exactly when its result is stored, and a crash before it
// leaves the case to be claimed again. Nothing else records results.
type Queue interface {
	Enqueuer
	// Claim leases up to n queued (or lease-expired) cases to worker,
	// oldest first.
	Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]Claimed, error)
	// Renew extends worker's lease on running case id to lease from now.
	// It returns an error wrapping ErrLeaseLost when worker no longer
	// holds the lease (it expired and another worker may have claimed the
	// case, or the case finished): the worker must then drop its run.
	Renew(ctx context.Context, id, worker string, lease time.Duration) error
	// Complete stores r as the outcome of case id and ends its lease; the
	// case is done, or failed when r has an error and no analysis. A nil
	// r only marks the case done.
	Complete(ctx context.Context, id string, r *Result) error
	// Fail marks case id failed with cause (stored redacted) and ends its
	// lease: for a run that produced no result at all.
	Fail(ctx context.Context, id string, cause error) error
	// Release puts a running case back in the queue without counting the
	// attempt (graceful shutdown), so another worker or the next start
	// resumes it.
	Release(ctx context.Context, id string) error
}

// Enqueued is the queue's answer for one request.
type Enqueued struct {
	// ID names the new case, the existing one (Duplicate), or the case a
	// resolved alert resolved ("" when no case of that alert exists).
	ID        string
	Duplicate bool
	Resolved  bool
	// Channel and ThreadTS name the existing case's Slack thread, if any,
	// so that a repeated or resolved notification can be shown there.
	Channel  string
	ThreadTS string
	// StartsAt and ResolvedAt let a reporter show how long the alert fired.
	StartsAt   time.Time
	ResolvedAt time.Time
}

// Claimed is a case a worker holds the lease of.
type Claimed struct {
	ID string
	// Request is the queued request; Request.ID is the case id.
	Request Request
	// Attempt counts claims of this case, 1 for the first.
	Attempt int
	// Channel and ThreadTS name the case's Slack thread, if it has one.
	Channel  string
	ThreadTS string
}

var (
	// ErrLeaseLost is returned (wrapped) by Queue.Renew when the worker no
	// longer holds the case's lease.
	ErrLeaseLost = errors.New("lease lost")
	// ErrQueueFull is returned (wrapped) by an Enqueuer that cannot take
	// more work now; the webhook answers 503 so Alertmanager retries.
	ErrQueueFull = errors.New("queue full")
)
