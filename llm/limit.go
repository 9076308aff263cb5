package llm

import (
	"context"
	"fmt"

	"golang.org/x/time/rate"
)

// limiter bounds one provider's calls: a concurrency semaphore, then
// request and token rate limits.
type limiter struct {
	sem      chan struct{}
	requests *rate.Limiter // nil = unlimited
	tokens   *rate.Limiter // nil = unlimited
}

func newLimiter(cfg Config) *limiter {
	l := &limiter{sem: make(chan struct{}, max(cfg.MaxConcurrency, 1))}
	if cfg.RequestsPerMinute > 0 {
		l.requests = rate.NewLimiter(rate.Limit(float64(cfg.RequestsPerMinute)/60), max(cfg.RequestsPerMinute/10, 1))
	}
	if cfg.TokensPerMinute > 0 {
		l.tokens = rate.NewLimiter(rate.Limit(float64(cfg.TokensPerMinute)/60), cfg.TokensPerMinute)
	}
	return l
}

// acquire waits for a concurrency slot and the rate limits for a call of
// about tokens tokens. The returned release must be called when the call ends.
func (l *limiter) acquire(ctx context.Context, tokens int) (release func(), err error) {
	select {
	case l.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("wait for a free slot: %w", context.Cause(ctx))
	}
	release = func() { <-l.sem }
	if l.requests != nil {
		if err := l.requests.Wait(ctx); err != nil {
			release()
			return nil, fmt.Errorf("wait for the request rate limit: %w", err)
		}
	}
	if l.tokens != nil {
		if err := l.tokens.WaitN(ctx, min(max(tokens, 1), l.tokens.Burst())); err != nil {
			release()
			return nil, fmt.Errorf("wait for the token rate limit: %w", err)
		}
	}
	return release, nil
}
