package bot

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"
)

// BudgetScope is how one process spent one scope of Slack's rate budget:
// "chat.update" (app-wide) or "chat.postMessage/<channel>".
type BudgetScope struct {
	// Owner names the process (set by the store; empty in Save).
	Owner string
	Scope string
	// Calls are the times of the calls in the scope's window, oldest
	// first.
	Calls []time.Time
	// PauseUntil is the end of the Retry-After Slack asked for.
	PauseUntil time.Time
}

// BudgetStore keeps Slack's rate budget beside the outbox. SaveBudget
// records this process's scopes (replacing what it saved of them
// before); OthersBudget returns the other processes' scopes (a stopped
// predecessor, replicas) with their calls after since and their pauses
// not over.
type BudgetStore interface {
	SaveBudget(ctx context.Context, scopes []BudgetScope) error
	OthersBudget(ctx context.Context, since time.Time) ([]BudgetScope, error)
}

// budgetSyncEvery is how often the bot saves its spending and counts the
// calls of other processes.
const budgetSyncEvery = time.Second

const scopeUpdate = "chat.update"

func scopePost(channel string) string { return "chat.postMessage/" + channel }

// budget keeps this process's spending of Slack's rate budget for the
// next process and for replicas, and counts theirs against its own
// limiters. Until it has loaded what was spent before (Bot.Run), no call
// is paced: b.budget.wait holds them.
type budget struct {
	b     *Bot
	store BudgetStore

	mu    sync.Mutex
	own   map[string]*spent
	seen  map[string]time.Time // owner/scope -> last call of another process counted
	dirty bool

	ready     chan struct{}
	readyOnce sync.Once
}

type spent struct {
	calls []time.Time
	pause time.Time
}

func newBudget(b *Bot, store BudgetStore) *budget {
	g := &budget{b: b, store: store, own: map[string]*spent{}, seen: map[string]time.Time{}, ready: make(chan struct{})}
	if store == nil {
		g.open()
	}
	return g
}

// open lets paced calls go.
func (g *budget) open() { g.readyOnce.Do(func() { close(g.ready) }) }

// wait blocks until the spending of previous processes is counted.
func (g *budget) wait(ctx context.Context) error {
	select {
	case <-g.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// horizon is how long a call of scope weighs on the budget: the update
// window, or the time a channel's post bucket takes to refill.
func (g *budget) horizon(scope string) time.Duration {
	cfg := g.b.cfg
	if scope == scopeUpdate {
		return cfg.UpdateWindow
	}
	return cfg.PostInterval * time.Duration(cfg.PostBurst+1)
}

func (g *budget) maxHorizon() time.Duration {
	return max(g.horizon(scopeUpdate), g.horizon(scopePost("")))
}

// spend records a call of scope at t.
func (g *budget) spend(scope string, t time.Time) {
	if g.store == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.own[scope]
	if s == nil {
		s = &spent{}
		g.own[scope] = s
	}
	s.calls = append(s.calls, t)
	g.dirty = true
}

// paused records Slack's Retry-After for scope.
func (g *budget) paused(scope string, until time.Time) {
	if g.store == nil {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	s := g.own[scope]
	if s == nil {
		s = &spent{}
		g.own[scope] = s
	}
	if until.After(s.pause) {
		s.pause = until
		g.dirty = true
	}
}

// load counts what other processes spent (at the times they spent it)
// before this one makes any paced call, then lets the calls go. Nothing
// is held back when the store cannot be read.
func (g *budget) load(ctx context.Context) {
	if g.store == nil {
		return
	}
	defer g.open()
	others, err := g.store.OthersBudget(ctx, time.Now().Add(-g.maxHorizon()))
	if err != nil {
		g.b.log.Warn().Err(err).Msg("read Slack's rate budget spent before this process; starting from a full budget")
		return
	}
	calls := 0
	for _, sc := range others {
		calls += g.apply(sc, true)
	}
	if calls > 0 {
		g.b.log.Info().Int("calls", calls).Int("scopes", len(others)).Msg("counting the Slack calls of the previous process against the rate budget")
	}
}

// apply counts the calls of another process's scope not counted yet:
// at their own times before any call of this process (initial), else as
// if made now. It returns how many it counted.
func (g *budget) apply(sc BudgetScope, initial bool) int {
	key := sc.Owner + "\x00" + sc.Scope
	g.mu.Lock()
	last := g.seen[key]
	i := 0
	for i < len(sc.Calls) && !sc.Calls[i].After(last) {
		i++
	}
	fresh := sc.Calls[i:]
	if len(fresh) > 0 {
		g.seen[key] = fresh[len(fresh)-1]
	}
	g.mu.Unlock()
	b := g.b
	switch {
	case sc.Scope == scopeUpdate:
		b.limiter.replay(fresh)
		if sc.PauseUntil.After(time.Now()) {
			b.limiter.pauseUntil(sc.PauseUntil)
		}
	case strings.HasPrefix(sc.Scope, scopePost("")):
		ch := strings.TrimPrefix(sc.Scope, scopePost(""))
		if initial {
			b.posts.replay(ch, fresh)
			// The previous process saved its calls every budgetSyncEvery:
			// a kill -9 can take the post of its last second with it. One
			// post more, counted now, keeps Slack's window whole (the
			// first post in the channel waits at most one interval).
			b.posts.charge(ch, 1)
		} else {
			b.posts.charge(ch, len(fresh))
		}
		if sc.PauseUntil.After(time.Now()) {
			b.posts.pauseUntil(ch, sc.PauseUntil)
		}
	default:
		return 0
	}
	return len(fresh)
}

// run saves this process's spending and counts the other processes'
// every budgetSyncEvery until ctx is done.
func (g *budget) run(ctx context.Context) {
	if g.store == nil {
		return
	}
	t := time.NewTicker(budgetSyncEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.save(ctx)
		others, err := g.store.OthersBudget(ctx, time.Now().Add(-g.maxHorizon()))
		if err != nil {
			if ctx.Err() == nil {
				g.b.log.Warn().Err(err).Msg("read Slack's rate budget of other processes")
			}
			continue
		}
		for _, sc := range others {
			g.apply(sc, false)
		}
	}
}

// save records the calls of this process still inside their scope's
// window, and its pauses, when anything changed.
func (g *budget) save(ctx context.Context) {
	if g.store == nil {
		return
	}
	g.mu.Lock()
	if !g.dirty {
		g.mu.Unlock()
		return
	}
	now := time.Now()
	var scopes []BudgetScope
	for name, s := range g.own {
		slices.SortFunc(s.calls, time.Time.Compare)
		from := now.Add(-g.horizon(name))
		i := 0
		for i < len(s.calls) && !s.calls[i].After(from) {
			i++
		}
		s.calls = s.calls[i:]
		if len(s.calls) == 0 && !s.pause.After(now) {
			delete(g.own, name) // saved once more, empty, below
		}
		scopes = append(scopes, BudgetScope{Scope: name, Calls: slices.Clone(s.calls), PauseUntil: s.pause})
	}
	g.dirty = false
	g.mu.Unlock()
	if err := g.store.SaveBudget(ctx, scopes); err != nil {
		g.mu.Lock()
		g.dirty = true
		g.mu.Unlock()
		if ctx.Err() == nil {
			g.b.log.Warn().Err(err).Msg("save Slack's rate budget")
		}
	}
}

// flush saves the spending one last time (Close).
func (g *budget) flush() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	g.save(ctx)
}

// pauseUpdates stops every chat.update until t (Slack's Retry-After),
// also for the next process.
func (b *Bot) pauseUpdates(t time.Time) {
	b.limiter.pauseUntil(t)
	b.budget.paused(scopeUpdate, t)
}

// pausePosts stops posting in channel until t (Slack's Retry-After),
// also for the next process.
func (b *Bot) pausePosts(channel string, t time.Time) {
	b.posts.pauseUntil(channel, t)
	b.budget.paused(scopePost(channel), t)
}
