package bot

import (
	"context"
	"slices"
	"sync"
	"time"
)

// windowLimiter admits at most limit calls in any window of time, counting
// a call from the moment it is admitted until window after it completed.
// (A token bucket, golang.org/x/time/rate as the post pacer uses, cannot
// keep a window's count and Slack's per-minute bursts at once: a bucket
// within limit per window allows only a small burst, so a storm's finals
// would wait seconds each where the window lets a minute's budget go at
// once.)
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
	streams  int // messages streaming through updates
	// spent is told of every completed call (the budget kept for the
	// next process); nil: nobody listens.
	spent func(time.Time)
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
	now := time.Now()
	l.mu.Lock()
	l.inflight--
	l.ends = append(l.ends, now)
	l.wakeLocked()
	spent := l.spent
	l.mu.Unlock()
	if spent != nil && l.limit > 0 {
		spent(now)
	}
}

// replay counts calls another process made (the previous one, a
// replica) at the times they completed.
func (l *windowLimiter) replay(calls []time.Time) {
	if len(calls) == 0 || l.limit <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.ends = append(l.ends, calls...)
	slices.SortFunc(l.ends, time.Time.Compare)
}

// streaming counts a message that streams through updates (+1) or
// stopped (-1).
func (l *windowLimiter) streaming(d int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.streams += d
}

// interval is the time between two intermediate updates of one message:
// base while the window has a call left for every message streaming and
// every urgent call waiting; otherwise stretched until enough calls of
// the window (this process's, the previous process's, a replica's) have
// aged out of it, or until Slack's Retry-After. Under a short budget
// streaming degrades to fewer, larger updates instead of queueing.
func (l *windowLimiter) interval(base time.Duration) time.Duration {
	if l.limit <= 0 {
		return base
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	for len(l.ends) > 0 && !l.ends[0].After(now.Add(-l.window)) {
		l.ends = l.ends[1:]
	}
	d := base
	if now.Before(l.pause) {
		d = max(d, l.pause.Sub(now))
	}
	free := l.limit - l.inflight - len(l.ends)
	if short := l.streams + l.urgent - free; short > 0 {
		wait := l.window // in flight: a window after they end
		if short <= len(l.ends) {
			wait = l.ends[short-1].Add(l.window).Sub(now)
		}
		d = max(d, wait)
	}
	return d
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
