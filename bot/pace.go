package bot

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// postPacer paces chat.postMessage per channel, as Slack asks (about one
// message per second per channel, short bursts allowed): a token bucket
// per channel, and a pause per channel when Slack answers 429 anyway
// (another process posting, or Slack's window still holding calls made
// before a restart). Waiters of one channel are served in arrival order.
type postPacer struct {
	every time.Duration
	burst int
	// spent is told of every post let through (the budget kept for the
	// next process); nil: nobody listens.
	spent func(channel string, t time.Time)

	mu    sync.Mutex
	chans map[string]*channelPace
}

type channelPace struct {
	lim   *rate.Limiter
	pause time.Time // guarded by postPacer.mu
}

func newPostPacer(every time.Duration, burst int) *postPacer {
	return &postPacer{every: every, burst: max(burst, 1), chans: map[string]*channelPace{}}
}

func (p *postPacer) channel(ch string) *channelPace {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := p.chans[ch]
	if c == nil {
		lim := rate.NewLimiter(rate.Inf, 0)
		if p.every > 0 {
			lim = rate.NewLimiter(rate.Every(p.every), p.burst)
		}
		c = &channelPace{lim: lim}
		p.chans[ch] = c
	}
	return c
}

// wait blocks until a message may be posted in channel ch, or ctx is done.
func (p *postPacer) wait(ctx context.Context, ch string) error {
	c := p.channel(ch)
	for {
		p.mu.Lock()
		pause := time.Until(c.pause)
		p.mu.Unlock()
		if pause > 0 {
			if err := sleepCtx(ctx, pause); err != nil {
				return err
			}
		}
		if err := c.lim.Wait(ctx); err != nil {
			return err
		}
		p.mu.Lock()
		now := time.Now()
		paused := now.Before(c.pause)
		p.mu.Unlock()
		if !paused {
			if p.spent != nil && p.every > 0 {
				p.spent(ch, now)
			}
			return nil
		}
	}
}

// replay counts posts in channel ch made before this pacer let any
// through (by the previous process), at the times they were made,
// oldest first.
func (p *postPacer) replay(ch string, calls []time.Time) {
	c := p.channel(ch)
	for _, t := range calls {
		c.lim.ReserveN(t, 1)
	}
}

// charge counts n posts in channel ch made elsewhere (a replica) as if
// made now.
func (p *postPacer) charge(ch string, n int) {
	if n <= 0 || p.every <= 0 {
		return
	}
	c := p.channel(ch)
	now := time.Now()
	for range n {
		c.lim.ReserveN(now, 1)
	}
}

// pauseUntil stops posting in channel ch until t (Slack's Retry-After).
func (p *postPacer) pauseUntil(ch string, t time.Time) {
	c := p.channel(ch)
	p.mu.Lock()
	defer p.mu.Unlock()
	if t.After(c.pause) {
		c.pause = t
	}
}

// sleepCtx waits d, or returns ctx's error when it is done first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
