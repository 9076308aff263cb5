package fold

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
)

// AnalyzerName is the Analysis.Analyzer of a case completed by folding.
const AnalyzerName = "fold"

// Config configures folding.
type Config struct {
	// Window is how long after an incident's investigation started further
	// alerts of the same incident fold into it (default 10m).
	Window time.Duration
	// Batch is how many queued cases one claim looks at, so that the
	// alerts of a storm already queued are folded before the incident's
	// investigation starts and listed in it (default 64).
	Batch int
	// MaxRelated bounds the alerts listed in an investigation's request
	// (Request.Related); further ones are only counted (default 50).
	MaxRelated int
	// MaxIncidents bounds the incidents remembered (default 10000); the
	// oldest is forgotten first.
	MaxIncidents int
}

// Validate reports the first invalid field, naming its config key.
func (c Config) Validate() error {
	switch {
	case c.Window < 0:
		return fmt.Errorf("fold.window must not be negative, got %s", c.Window)
	case c.Batch < 0:
		return fmt.Errorf("fold.batch must not be negative, got %d", c.Batch)
	case c.MaxRelated < 0:
		return fmt.Errorf("fold.max_related must not be negative, got %d", c.MaxRelated)
	case c.MaxIncidents < 0:
		return fmt.Errorf("fold.max_incidents must not be negative, got %d", c.MaxIncidents)
	}
	return nil
}

// Folded tells the wiring that a case was folded into an incident (to note
// it in the incident's Slack thread). It is called after the folded case
// was completed and must not block for long.
type Folded func(ctx context.Context, incident string, c investigate.Claimed)

// Incidents is a registry of open incidents shared by every process that
// works one queue: the knowledge base implements it, so that replicas and
// a restarted process fold the alerts of an incident into one
// investigation. OpenIncidents answers, for each i, the case leading
// incident keys[i]: the one recorded less than window ago, else
// caseIDs[i], recorded from now on; opened[i] is when leaders[i] was
// recorded. A repeated key gets the answer of its first proposal.
type Incidents interface {
	OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error)
}

// Queue is an investigate.Queue that folds the cases it claims from the
// queue it wraps: the first case of an incident is handed to the worker
// (with the incident's other queued alerts in Request.Related), the others
// are completed at once as folded into it. Enqueue goes straight to the
// wrapped queue. Safe for concurrent use.
type Queue struct {
	inner  investigate.Queue
	shared Incidents // nil: incidents are known to this process only
	cfg    Config
	onFold Folded
	log    zerolog.Logger
	now    func() time.Time

	mu        sync.Mutex
	incidents map[string]*incident
	kept      []*keptCase
	// claimer is the worker name each handed-out case was claimed under
	// (a kept case may be handed to another worker than the one whose
	// claim fetched it); Renew uses it.
	claimer map[string]string
	folded  int64
	opened  int64
}

type incident struct {
	id      string
	started time.Time
}

var _ investigate.Queue = (*Queue)(nil)

// NewQueue wraps inner. onFold may be nil. When inner also implements
// Incidents, the incidents of claimed cases this process does not know
// yet are looked up there, in one call per claim from inner, before any of
// them is handed out
// (a registry failure is logged and the cases decided by what this process
// knows); otherwise incidents are known to this process only.
func NewQueue(inner investigate.Queue, cfg Config, onFold Folded, log zerolog.Logger) (*Queue, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Window == 0 {
		cfg.Window = 10 * time.Minute
	}
	if cfg.Batch == 0 {
		cfg.Batch = 64
	}
	if cfg.MaxRelated == 0 {
		cfg.MaxRelated = 50
	}
	if cfg.MaxIncidents == 0 {
		cfg.MaxIncidents = 10000
	}
	q := &Queue{inner: inner, cfg: cfg, onFold: onFold, log: log, now: time.Now, incidents: map[string]*incident{}, claimer: map[string]string{}}
	q.shared, _ = inner.(Incidents)
	return q, nil
}

// Stats counts incidents opened (investigations handed to workers) and
// cases folded into them since the Queue was made.
type Stats struct {
	Incidents int64
	Folded    int64
}

// Stats returns the counts so far.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	return Stats{Incidents: q.opened, Folded: q.folded}
}

// Claim returns up to n cases to investigate. It claims up to Batch cases
// from the wrapped queue at once: a case whose incident is open (within
// the window, in this process or in the shared registry) is completed as
// folded into it; the first case of an incident opens it and is handed
// out, or kept for the next Claim (still leased, so a crash loses
// nothing). A kept case that waited more than half its lease is released
// to the queue instead, so that its lease never runs out while it waits
// here.
func (q *Queue) Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]investigate.Claimed, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []investigate.Claimed
	var errs []error
	for len(out) < n {
		q.mu.Lock()
		kept := q.kept
		q.kept = nil
		q.mu.Unlock()
		if len(kept) == 0 {
			cs, err := q.inner.Claim(ctx, worker, lease, max(q.cfg.Batch, n))
			if err != nil {
				if len(out) > 0 {
					break // the next claim reports it again
				}
				return nil, err
			}
			if len(cs) == 0 {
				break
			}
			now := q.now()
			for _, c := range cs {
				// The incident key is computed once per claimed case,
				// not on every Claim that looks at the kept cases.
				kept = append(kept, &keptCase{c: c, key: Key(&c.Request), claimed: now, lease: lease, worker: worker})
			}
			if q.shared != nil {
				// Once per claim from the wrapped queue: a kept case's
				// answer stands while it waits here.
				q.consult(ctx, kept)
			}
		}
		// Every kept case that belongs to an open incident is folded now,
		// so that the incidents handed out list them; the first n that
		// open an incident are handed out, the rest kept.
		var still []*keptCase
		for _, k := range kept {
			keep, err := q.sort(ctx, k, &out, len(out) >= n)
			if err != nil {
				errs = append(errs, err)
			}
			if keep {
				still = append(still, k)
			}
		}
		if len(still) > 0 {
			q.mu.Lock()
			q.kept = append(still, q.kept...)
			q.mu.Unlock()
		}
	}
	if len(errs) > 0 {
		// Unfinished folds keep their lease and are claimed again when it
		// expires: nothing is lost.
		q.log.Error().Err(errors.Join(errs...)).Msg("fold claimed cases")
	}
	return out, nil
}

// keptCase is a claimed case waiting in this process for a worker.
type keptCase struct {
	c       investigate.Claimed
	key     string
	claimed time.Time
	lease   time.Duration
	worker  string
}

// sort decides one claimed case: fold it, hand it out (unless full), keep
// it (keep is true), or release it when it waited too long.
func (q *Queue) sort(ctx context.Context, k *keptCase, out *[]investigate.Claimed, full bool) (keep bool, err error) {
	c := &k.c
	key := k.key
	now := q.now()
	q.mu.Lock()
	inc := q.open(key, now)
	if inc != nil && inc.id != c.ID {
		if c.Request.Alert != nil {
			q.listIn(*out, inc.id, *c.Request.Alert)
		}
		q.mu.Unlock()
		return false, q.fold(ctx, inc.id, *c, now)
	}
	if now.Sub(k.claimed) > k.lease/2 {
		q.forget(c.ID)
		q.mu.Unlock()
		if err := q.inner.Release(ctx, c.ID); err != nil {
			return false, fmt.Errorf("release case %s: %w", c.ID, err)
		}
		return false, nil
	}
	if full {
		q.mu.Unlock()
		return true, nil
	}
	if key != "" && inc == nil {
		q.remember(key, &incident{id: c.ID, started: now})
	}
	q.opened++
	q.claimer[c.ID] = k.worker
	q.mu.Unlock()
	*out = append(*out, *c)
	return false, nil
}

// consult asks the shared registry which cases lead the incidents of kept
// cases this process does not know open (the first such case of each
// proposing itself), and remembers the leaders that are other cases. A
// case that leads is remembered by sort when it is handed out, so that the
// incident's other queued alerts are listed in it.
func (q *Queue) consult(ctx context.Context, kept []*keptCase) {
	var keys, ids []string
	now := q.now()
	q.mu.Lock()
	for _, k := range kept {
		if k.key != "" && q.open(k.key, now) == nil && !slices.Contains(keys, k.key) {
			keys, ids = append(keys, k.key), append(ids, k.c.ID)
		}
	}
	q.mu.Unlock()
	if len(keys) == 0 {
		return
	}
	leaders, opened, err := q.shared.OpenIncidents(ctx, keys, ids, q.cfg.Window)
	if err != nil {
		q.log.Warn().Err(err).Int("incidents", len(keys)).Msg("shared incident registry; folding with what this process knows")
		return
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, key := range keys {
		if leaders[i] != ids[i] && q.open(key, now) == nil {
			q.remember(key, &incident{id: leaders[i], started: opened[i]})
		}
	}
}

// ReleaseKept puts the claimed cases still waiting here back in the queue
// (call it once the workers stopped, on shutdown).
func (q *Queue) ReleaseKept(ctx context.Context) error {
	q.mu.Lock()
	kept := q.kept
	q.kept = nil
	for _, k := range kept {
		q.forget(k.c.ID)
	}
	q.mu.Unlock()
	var errs []error
	for _, k := range kept {
		if err := q.inner.Release(ctx, k.c.ID); err != nil {
			errs = append(errs, fmt.Errorf("release case %s: %w", k.c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// forget drops the incident case id opened; q.mu is held.
func (q *Queue) forget(id string) {
	for k, inc := range q.incidents {
		if inc.id == id {
			delete(q.incidents, k)
		}
	}
}

// open returns the incident of key if it is open at now; q.mu is held.
func (q *Queue) open(key string, now time.Time) *incident {
	if key == "" {
		return nil
	}
	inc := q.incidents[key]
	if inc == nil || now.Sub(inc.started) >= q.cfg.Window {
		return nil
	}
	return inc
}

// remember stores an incident, forgetting expired and then the oldest
// incidents beyond MaxIncidents; q.mu is held.
func (q *Queue) remember(key string, inc *incident) {
	if len(q.incidents) >= q.cfg.MaxIncidents {
		for k, x := range q.incidents {
			if inc.started.Sub(x.started) >= q.cfg.Window {
				delete(q.incidents, k)
			}
		}
		for len(q.incidents) >= q.cfg.MaxIncidents {
			oldest, first := "", true
			var at time.Time
			for k, x := range q.incidents {
				if first || x.started.Before(at) {
					oldest, at, first = k, x.started, false
				}
			}
			delete(q.incidents, oldest)
		}
	}
	q.incidents[key] = inc
}

// listIn adds a folded alert to the Related list of the incident's
// request when the incident is among the cases about to be handed out.
func (q *Queue) listIn(out []investigate.Claimed, incidentID string, a investigate.Alert) {
	for i := range out {
		if out[i].ID == incidentID && len(out[i].Request.Related) < q.cfg.MaxRelated {
			out[i].Request.Related = append(out[i].Request.Related, a)
		}
	}
}

// fold completes case c as folded into incident id.
func (q *Queue) fold(ctx context.Context, id string, c investigate.Claimed, now time.Time) error {
	req := c.Request
	req.ID = c.ID
	res := &investigate.Result{}
	res.ID = c.ID
	res.Request = &req
	res.Target = req.EffectiveTarget()
	if req.Alert != nil {
		res.Categorization = investigate.CategorizeByRules(req.Alert)
	}
	res.StartedAt, res.Finished = now, now
	res.Analysis = investigate.Analysis{Analyzer: AnalyzerName, Text: foldedText(id, &req)}
	if err := q.inner.Complete(ctx, c.ID, res); err != nil {
		return fmt.Errorf("complete folded case %s: %w", c.ID, err)
	}
	q.mu.Lock()
	q.folded++
	q.mu.Unlock()
	if q.onFold != nil {
		q.onFold(ctx, id, c)
	}
	return nil
}

func foldedText(incident string, req *investigate.Request) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Folded into investigation %s: the same alert (%s) for the same workload (%s) is already being investigated; see its thread.",
		incident, req.AlertName(), strings.ReplaceAll(strings.TrimPrefix(Key(req), req.AlertName()+"\x00"), "\x00", " "))
	return b.String()
}

// Complete completes a case the worker investigated.
func (q *Queue) Complete(ctx context.Context, id string, r *investigate.Result) error {
	q.done(id)
	return q.inner.Complete(ctx, id, r)
}

// Renew extends the lease of a case handed out, under the worker name it
// was claimed with (which may be another worker's than the caller's).
func (q *Queue) Renew(ctx context.Context, id, worker string, lease time.Duration) error {
	q.mu.Lock()
	if w, ok := q.claimer[id]; ok {
		worker = w
	}
	q.mu.Unlock()
	return q.inner.Renew(ctx, id, worker, lease)
}

func (q *Queue) done(id string) {
	q.mu.Lock()
	delete(q.claimer, id)
	q.mu.Unlock()
}

// Fail marks a case the worker investigated failed.
func (q *Queue) Fail(ctx context.Context, id string, cause error) error {
	q.done(id)
	return q.inner.Fail(ctx, id, cause)
}

// Enqueue records requests in the wrapped queue: every alert stays its
// own case, folded only when claimed.
func (q *Queue) Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	return q.inner.Enqueue(ctx, reqs)
}

// Release puts a case back in the queue. The incident it opened is
// forgotten, so that the next claim of one of its alerts opens it again.
func (q *Queue) Release(ctx context.Context, id string) error {
	q.mu.Lock()
	q.forget(id)
	delete(q.claimer, id)
	q.mu.Unlock()
	return q.inner.Release(ctx, id)
}
