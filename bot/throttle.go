package bot

import (
	"context"
	"sync"
	"time"
)

// windowLimiter admits at most limit calls in any window of time, counting
// a call from the moment it is admitted until window after it completed.
// Counting completions (not starts) keeps the guarantee true also for the
// times the calls reach Slack: a call admitted now reaches Slack after
// every call that completed before it. PauseUntil honours Retry-After for
// every caller. Urgent callers (final results) are admitted before the
// others: while one waits, the others do not take a slot.
type windowLimiter struct {
	limit  int
	window time.Duration

	mu       sync.Mutex
	inflight int
	urgent   int         // urgent callers waiting
	ends     []time.Time // completions still inside the window, oldest first
	pause    time.Time
	wake     chan struct{}
}

func newWindowLimiter(limit int, window time.Duration) *windowLimiter {
	return &windowLimiter{limit: limit, window: window, wake: make(chan struct{})}
}

// acquire blocks until a call may start, then returns the function that
// must be called when the call completed. An urgent call goes before
// every waiting call that is not.
func (l *windowLimiter) acquire(ctx context.Context, urgent bool) (release func(), err error) {
	if urgent {
		l.mu.Lock()
		l.urgent++
		l.mu.Unlock()
		defer func() {
			l.mu.Lock()
			l.urgent--
			l.wakeLocked()
			l.mu.Unlock()
		}()
	}
	for {
		l.mu.Lock()
		now := time.Now()
		for len(l.ends) > 0 && !l.ends[0].After(now.Add(-l.window)) {
			l.ends = l.ends[1:]
		}
		var wait time.Duration
		switch {
		case now.Before(l.pause):
			wait = l.pause.Sub(now)
		case !urgent && l.urgent > 0:
			wait = l.window // woken when the urgent calls got their slots
		case l.limit <= 0 || l.inflight+len(l.ends) < l.limit:
			l.inflight++
			l.mu.Unlock()
			var once sync.Once
			return func() { once.Do(l.done) }, nil
		case len(l.ends) > 0:
			wait = l.ends[0].Add(l.window).Sub(now) + time.Millisecond
		default:
			wait = l.window // all slots in flight: woken by done
		}
		wake := l.wake
		l.mu.Unlock()
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		case <-wake:
			t.Stop()
		}
	}
}

func (l *windowLimiter) done() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.inflight--
	l.ends = append(l.ends, time.Now())
	l.wakeLocked()
}

// wakeLocked wakes every waiting caller to look again.
func (l *windowLimiter) wakeLocked() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// pauseUntil stops admitting calls until t (Slack's Retry-After).
func (l *windowLimiter) pauseUntil(t time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if t.After(l.pause) {
		l.pause = t
	}
}
