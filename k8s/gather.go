package k8s

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"golang.org/x/sync/errgroup"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// DefaultCollectorTimeout bounds one collector when Options leaves it zero.
const DefaultCollectorTimeout = 5 * time.Second

// collectorParallelism bounds how many collectors of one phase run at once.
const collectorParallelism = 4

// Options configures a Gatherer. The zero value is usable: no metrics API,
// logs through client-go, default timeout and budget, logging disabled.
type Options struct {
	// Metrics reads metrics.k8s.io; nil means the metrics API is
	// unavailable, which the resources collector reports as a Gap.
	Metrics Reader
	// Logs reads container logs; nil means the Reader's own logs when it
	// is a LogSource (Cluster is), else logs are a Gap.
	Logs LogSource
	// CollectorTimeout bounds each collector (default DefaultCollectorTimeout).
	CollectorTimeout time.Duration
	// Budget bounds what is fetched and rendered (default DefaultBudget).
	Budget Budget
	// CacheTTL is the freshness bound of reads shared between
	// investigations (namespace pods, events, Services, EndpointSlices,
	// ReplicaSets, nodes, cluster DNS objects): within it, concurrent and successive
	// investigations are served one API read. Zero means DefaultCacheTTL;
	// a negative value disables the cache (concurrent reads of the same
	// list still share one request).
	CacheTTL time.Duration
	// CacheEntries bounds the shared cache (default DefaultCacheEntries).
	CacheEntries int
	Log          zerolog.Logger
}

// Gatherer collects the evidence of an investigation from a Kubernetes API
// server. It implements investigate.Gatherer and is safe for concurrent use.
type Gatherer struct {
	api     Reader
	metrics Reader
	logs    LogSource
	timeout time.Duration
	budget  Budget
	cache   *sharedCache
	log     zerolog.Logger
}

var _ investigate.Gatherer = (*Gatherer)(nil)

// NewGatherer returns a Gatherer reading through api with opts (zero fields
// take their defaults).
func NewGatherer(api Reader, opts Options) *Gatherer {
	g := &Gatherer{api: api, metrics: opts.Metrics, logs: opts.Logs, timeout: opts.CollectorTimeout, budget: opts.Budget, log: opts.Log}
	if g.logs == nil {
		if ls, ok := api.(LogSource); ok {
			g.logs = ls
		} else {
			g.logs = noLogs{}
		}
	}
	if g.timeout <= 0 {
		g.timeout = DefaultCollectorTimeout
	}
	if g.budget.SectionBytes <= 0 {
		g.budget.SectionBytes = DefaultBudget.SectionBytes
	}
	if g.budget.TotalBytes <= 0 {
		g.budget.TotalBytes = DefaultBudget.TotalBytes
	}
	if g.budget.LogLines <= 0 {
		g.budget.LogLines = DefaultBudget.LogLines
	}
	ttl := opts.CacheTTL
	if ttl == 0 {
		ttl = DefaultCacheTTL
	}
	g.cache = newSharedCache(ttl, opts.CacheEntries, g.timeout)
	return g
}

// CacheStats reports what the shared read cache saved so far.
func (g *Gatherer) CacheStats() CacheStats { return g.cache.stats() }

// Gather resolves the target, then runs the collectors the category needs in
// parallel, each under the collector timeout. It returns a *Snapshot. A
// failing collector becomes a Gap; Gather fails only for a target it cannot
// investigate at all (unknown category, no namespace where one is needed).
//
// A target that no longer exists and left nothing behind (no pod of its
// owner, no owner) is recognised with one request and reported as "target
// gone": the snapshot then holds one statement and the target's last
// events, and no collector runs.
func (g *Gatherer) Gather(ctx context.Context, t investigate.Target, c investigate.Category) (investigate.Snapshot, error) {
	r, err := g.gatherRun(ctx, t, c)
	if err != nil {
		return nil, err
	}
	if r.gone != nil {
		gs := r.goneSnapshot(ctx)
		g.logRun(r, true)
		return gs, nil
	}
	g.logRun(r, false)
	return r.snap, nil
}

func (g *Gatherer) gatherRun(ctx context.Context, t investigate.Target, c investigate.Category) (*run, error) {
	if _, ok := investigate.ParseCategory(string(c)); !ok {
		return nil, fmt.Errorf("gather: unknown category %q", c)
	}
	r := newRun(g, c)
	r.snap.Target = t
	if err := r.resolve(ctx, t); err != nil {
		return nil, err
	}
	if r.gone != nil {
		return r, nil
	}
	for _, phase := range r.phases() {
		r.runPhase(ctx, phase)
	}
	r.finish()
	return r, nil
}

// logRun logs what one gather cost the API server and what the shared
// cache saved it.
func (g *Gatherer) logRun(r *run, gone bool) {
	g.log.Debug().Str("target", r.snap.Target.String()).Str("category", string(r.cat)).Bool("target_gone", gone).
		Int64("api_requests", r.requests.Load()).Int64("cache_hits", r.cacheHits.Load()).Msg("gathered")
}

// collector is one named unit of collection; it writes into the run under
// the run's lock.
type collector struct {
	name string
	fn   func(ctx context.Context, r *run) error
}

// runPhase runs the collectors concurrently; each failure becomes a Gap.
func (r *run) runPhase(ctx context.Context, cs []collector) {
	if len(cs) == 0 {
		return
	}
	eg, ectx := errgroup.WithContext(ctx)
	eg.SetLimit(collectorParallelism)
	for _, c := range cs {
		eg.Go(func() error {
			cctx, cancel := context.WithTimeoutCause(ectx, r.g.timeout,
				fmt.Errorf("collector %s timed out after %s", c.name, r.g.timeout))
			defer cancel()
			if err := c.fn(cctx, r); err != nil {
				if cause := context.Cause(cctx); cause != nil && errors.Is(err, context.DeadlineExceeded) {
					err = fmt.Errorf("%w: %w", err, cause)
				}
				r.gap(c.name, err)
			}
			return nil
		})
	}
	_ = eg.Wait() // collectors never return errors to the group
}

// gap records a collector failure (one per collector and reason).
func (r *run) gap(name string, err error) {
	reason := gapReason(err)
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, g := range r.snap.Gaps {
		if g.Collector == name && g.Reason == reason {
			return
		}
	}
	r.snap.Gaps = append(r.snap.Gaps, investigate.Gap{Collector: name, Reason: reason})
	r.g.log.Debug().Str("collector", name).Str("reason", reason).Msg("collector gap")
}

// gapReason turns an error into a short, redacted reason.
func gapReason(err error) string {
	switch {
	case apierrors.IsForbidden(err):
		return redact.String("forbidden by RBAC: " + err.Error())
	case apierrors.IsNotFound(err):
		return redact.String("not found: " + err.Error())
	}
	s := err.Error()
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return redact.String(s)
}

// finish sorts and counts what the collectors produced.
func (r *run) finish() {
	s := r.snap
	s.APIRequests = int(r.requests.Load())
	sort.SliceStable(s.Gaps, func(i, j int) bool {
		if s.Gaps[i].Collector != s.Gaps[j].Collector {
			return s.Gaps[i].Collector < s.Gaps[j].Collector
		}
		return s.Gaps[i].Reason < s.Gaps[j].Reason
	})
	sort.Strings(s.MissingRefs)
	s.MissingRefs = dedupeStrings(s.MissingRefs)
	sort.Strings(s.NotFound)
	s.NotFound = dedupeStrings(s.NotFound)
	sortObjects(s)
}

func dedupeStrings(in []string) []string {
	out := in[:0]
	for i, v := range in {
		if i == 0 || v != in[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// onceMap caches the result of one API list per key for one run, so that
// collectors running in parallel share one request.
type onceMap[T any] struct {
	mu sync.Mutex
	m  map[string]*onceEntry[T]
}

type onceEntry[T any] struct {
	once sync.Once
	val  T
	err  error
}

func (o *onceMap[T]) get(key string, fetch func() (T, error)) (T, error) {
	o.mu.Lock()
	if o.m == nil {
		o.m = map[string]*onceEntry[T]{}
	}
	e, ok := o.m[key]
	if !ok {
		e = &onceEntry[T]{}
		o.m[key] = e
	}
	o.mu.Unlock()
	e.once.Do(func() { e.val, e.err = fetch() })
	return e.val, e.err
}
