package k8s

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// DefaultCacheTTL is the freshness bound of the shared read cache when
// Options leaves it zero: a list served from the cache is at most this old.
const DefaultCacheTTL = 3 * time.Second

// DefaultCacheEntries bounds the shared read cache when Options leaves it zero.
const DefaultCacheEntries = 256

// CacheStats counts what the shared read cache of a Gatherer did since it
// was made. Fetches are real API requests; Hits and Joined are reads that
// cost the API server nothing.
type CacheStats struct {
	// Fetches are reads that went to the API server (one request each).
	Fetches int64
	// Hits are reads answered from an entry younger than the TTL.
	Hits int64
	// Joined are reads that waited for the same fetch already in flight.
	Joined int64
	// Evicted are entries dropped to respect the entry bound.
	Evicted int64
	// Entries is how many entries the cache holds now.
	Entries int
}

// sharedCache holds reads that many investigations need within seconds of
// each other (a namespace's pods, events, Services and EndpointSlices, the
// nodes, the cluster DNS objects). An entry is served for at most ttl after
// its fetch began; concurrent readers of a missing key share one fetch
// (singleflight). Failed fetches are not cached. At most max entries are
// kept: expired entries are dropped first, then the oldest. Values are
// shared between investigations and must be treated as read-only; the list
// helpers of run hand out copies of the slices. A ttl below zero disables
// caching (every read fetches; concurrent reads still share a fetch).
type sharedCache struct {
	ttl     time.Duration
	max     int
	timeout time.Duration
	now     func() time.Time

	mu      sync.Mutex
	entries map[string]cacheEntry
	group   singleflight.Group

	fetches, hits, joined, evicted atomic.Int64
}

type cacheEntry struct {
	val any
	at  time.Time
}

// newSharedCache returns a cache whose fetches run under timeout (detached
// from the first reader's context, so that one reader giving up does not
// fail the others).
func newSharedCache(ttl time.Duration, max int, timeout time.Duration) *sharedCache {
	if max <= 0 {
		max = DefaultCacheEntries
	}
	return &sharedCache{ttl: ttl, max: max, timeout: timeout, now: time.Now, entries: map[string]cacheEntry{}}
}

// get returns the value of key, fetching it when no fresh entry exists.
// fetched is true when this call made the API request (the caller counts
// it); false for a cache hit or a fetch shared with another caller.
func (c *sharedCache) get(ctx context.Context, key string, fetch func(ctx context.Context) (any, error)) (val any, fetched bool, err error) {
	if v, ok := c.lookup(key); ok {
		c.hits.Add(1)
		return v, false, nil
	}
	var mine atomic.Bool
	ch := c.group.DoChan(key, func() (any, error) {
		// Another caller may have stored it between lookup and DoChan.
		if v, ok := c.lookup(key); ok {
			return v, nil
		}
		mine.Store(true)
		c.fetches.Add(1)
		start := c.now()
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.timeout)
		defer cancel()
		v, err := fetch(fctx)
		if err != nil {
			return nil, err
		}
		c.store(key, v, start)
		return v, nil
	})
	select {
	case <-ctx.Done():
		return nil, mine.Load(), fmt.Errorf("wait for shared read %s: %w", key, context.Cause(ctx))
	case r := <-ch:
		if !mine.Load() {
			c.joined.Add(1)
		}
		return r.Val, mine.Load(), r.Err
	}
}

func (c *sharedCache) lookup(key string) (any, bool) {
	if c.ttl < 0 {
		return nil, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || c.now().Sub(e.at) >= c.ttl {
		return nil, false
	}
	return e.val, true
}

func (c *sharedCache) store(key string, v any, at time.Time) {
	if c.ttl <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[key]; !ok && len(c.entries) >= c.max {
		now := c.now()
		for k, e := range c.entries {
			if now.Sub(e.at) >= c.ttl {
				delete(c.entries, k)
				c.evicted.Add(1)
			}
		}
		for len(c.entries) >= c.max {
			oldest, first := "", true
			var at time.Time
			for k, e := range c.entries {
				if first || e.at.Before(at) {
					oldest, at, first = k, e.at, false
				}
			}
			delete(c.entries, oldest)
			c.evicted.Add(1)
		}
	}
	c.entries[key] = cacheEntry{val: v, at: at}
}

func (c *sharedCache) stats() CacheStats {
	c.mu.Lock()
	n := len(c.entries)
	c.mu.Unlock()
	return CacheStats{Fetches: c.fetches.Load(), Hits: c.hits.Load(), Joined: c.joined.Load(), Evicted: c.evicted.Load(), Entries: n}
}

// cachedRead reads key through the Gatherer's shared cache and counts the
// request in the run only when this run made it; reads served by the cache
// or by another run's fetch are counted as cache hits of the run.
func cachedRead[T any](ctx context.Context, r *run, key string, fetch func(ctx context.Context) (T, error)) (T, error) {
	v, fetched, err := r.g.cache.get(ctx, key, func(ctx context.Context) (any, error) { return fetch(ctx) })
	if fetched {
		r.count(1)
	} else if err == nil {
		r.cacheHits.Add(1)
	}
	if err != nil {
		var zero T
		return zero, err
	}
	return v.(T), nil
}
