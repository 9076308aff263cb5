package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/socketmode"

	"github.com/k8flex/k8flex/investigate"
)

// Bot is the Slack adapter: the Socket Mode connection, the event
// handlers and the factory of Reporters. Create it with New, run it with
// Run; Close waits for the reporters still flushing.
type Bot struct {
	cfg     Config
	log     zerolog.Logger
	deps    Deps
	api     *slack.Client
	limiter *windowLimiter
	reg     *registry
	groups  *groupCache

	mu      sync.Mutex
	closed  bool
	cancels map[int]context.CancelFunc
	nextID  int
	wg      sync.WaitGroup

	// connected is true while the Socket Mode link is up (for /ready).
	connected atomic.Bool

	idMu   sync.Mutex
	userID string // the bot's own user id, from auth.test
	teamID string
}

// New validates cfg and builds a Bot. It does not contact Slack; Run
// does. It fails when Slack is not configured: use ConsoleReporter then.
func New(cfg Config, deps Deps, log zerolog.Logger) (*Bot, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("slack config: %w", err)
	}
	if !cfg.Enabled() {
		return nil, errors.New("slack is not configured (slack.bot_token and slack.app_token are empty)")
	}
	cfg = cfg.withDefaults()
	opts := []slack.Option{slack.OptionAppLevelToken(cfg.AppToken)}
	if cfg.APIURL != "" {
		opts = append(opts, slack.OptionAPIURL(cfg.APIURL))
	}
	if deps.Cases == nil || deps.Links == nil {
		idx := NewMessageIndex()
		if deps.Cases == nil {
			deps.Cases = idx
		}
		if deps.Links == nil {
			deps.Links = idx
		}
	}
	// Every Web API request leaves through unspoofTransport.
	var transport http.RoundTripper = http.DefaultTransport
	if deps.OnAPICall != nil {
		transport = observeCalls{next: transport, observe: deps.OnAPICall}
	}
	opts = append(opts, slack.OptionHTTPClient(&http.Client{Timeout: 30 * time.Second,
		Transport: unspoofTransport{next: transport}}))
	b := &Bot{
		cfg:     cfg,
		log:     log.With().Str("component", "slack").Logger(),
		deps:    deps,
		api:     slack.New(cfg.BotToken, opts...),
		limiter: newWindowLimiter(cfg.UpdatesPerWindow, cfg.UpdateWindow),
		reg:     newRegistry(),
		cancels: map[int]context.CancelFunc{},
	}
	b.groups = newGroupCache(b.api, cfg.UserGroupCacheTTL)
	return b, nil
}

// observeCalls reports each Web API call's method and result.
type observeCalls struct {
	next    http.RoundTripper
	observe func(method, result string)
}

func (o observeCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	method := path.Base(r.URL.Path)
	resp, err := o.next.RoundTrip(r)
	switch {
	case err != nil || resp.StatusCode >= 500 || (resp.StatusCode >= 400 && resp.StatusCode != http.StatusTooManyRequests):
		o.observe(method, "error")
	case resp.StatusCode == http.StatusTooManyRequests:
		o.observe(method, "rate_limited")
	default:
		o.observe(method, "ok")
	}
	return resp, err
}

// CheckAuth calls auth.test; a rejected bot token gives an error naming
// slack.bot_token.
func (b *Bot) CheckAuth(ctx context.Context) error {
	resp, err := b.api.AuthTestContext(ctx)
	if err != nil {
		return fmt.Errorf("slack.bot_token rejected by Slack auth.test: %w", err)
	}
	b.idMu.Lock()
	b.userID, b.teamID = resp.UserID, resp.TeamID
	b.idMu.Unlock()
	b.log.Info().Str("team", resp.Team).Str("bot_user", resp.UserID).Msg("connected to Slack")
	return nil
}

func (b *Bot) botUserID() string {
	b.idMu.Lock()
	defer b.idMu.Unlock()
	return b.userID
}

// Connected reports whether the Socket Mode link to Slack is up: events
// (reactions, slash commands, buttons) arrive only while it is.
func (b *Bot) Connected() bool { return b.connected.Load() }

// Run checks the tokens, then keeps the Socket Mode connection (Slack's
// client reconnects a dropped link) and handles events with a bounded
// pool of workers until ctx is done. It returns nil on cancellation and
// an error naming the config key for rejected tokens.
func (b *Bot) Run(ctx context.Context) error {
	if err := b.CheckAuth(ctx); err != nil {
		return err
	}
	sm := socketmode.New(b.api, socketmode.OptionPingInterval(b.cfg.PingInterval))
	jobs := make(chan func(context.Context), b.cfg.QueueSize)
	var workers sync.WaitGroup
	for range b.cfg.Workers {
		workers.Go(func() {
			for {
				select {
				case <-ctx.Done():
					return
				case job := <-jobs:
					job(ctx)
				}
			}
		})
	}
	loopDone := make(chan struct{})
	go func() {
		defer close(loopDone)
		b.eventLoop(ctx, sm, jobs)
	}()
	err := b.runSocket(ctx, sm)
	b.connected.Store(false)
	<-loopDone
	workers.Wait()
	return err
}

// runSocket runs the Socket Mode client, restarting it after failures
// that are not about credentials.
func (b *Bot) runSocket(ctx context.Context, sm *socketmode.Client) error {
	backoff := 500 * time.Millisecond
	for {
		err := sm.RunContext(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var se slack.SlackErrorResponse
		if err != nil && (errors.As(err, &se) || isAuthError(err)) {
			return fmt.Errorf("slack.app_token rejected by Slack apps.connections.open: %w", err)
		}
		b.log.Warn().Err(err).Dur("retry_in", backoff).Msg("socket mode connection failed")
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
		backoff = min(backoff*2, time.Minute)
	}
}

func isAuthError(err error) bool {
	switch err.Error() {
	case "invalid_auth", "not_authed", "account_inactive", "token_revoked", "not_allowed_token_type":
		return true
	}
	return false
}

// Close stops the reporters still flushing (their contexts are
// cancelled) after waiting up to ctx for them to finish.
func (b *Bot) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	b.mu.Lock()
	for _, c := range b.cancels {
		c()
	}
	b.mu.Unlock()
	<-done
	return fmt.Errorf("close slack bot: %w", ctx.Err())
}

// track registers a flusher and returns its id; false once the bot is
// closed.
func (b *Bot) track(cancel context.CancelFunc) (int, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return 0, false
	}
	b.nextID++
	b.cancels[b.nextID] = cancel
	b.wg.Add(1)
	return b.nextID, true
}

// untrack forgets a finished flusher.
func (b *Bot) untrack(id int) {
	b.mu.Lock()
	delete(b.cancels, id)
	b.mu.Unlock()
	b.wg.Done()
}

// withRetry calls a Web API method, waiting out Retry-After (bounded by
// ctx) up to three times.
func (b *Bot) withRetry(ctx context.Context, method string, call func() (string, string, error)) (string, string, error) {
	for attempt := 0; ; attempt++ {
		ch, ts, err := call()
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok || attempt == 3 {
			if err != nil {
				return ch, ts, fmt.Errorf("%s: %w", method, err)
			}
			return ch, ts, nil
		}
		b.log.Warn().Str("method", method).Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		t := time.NewTimer(rl.RetryAfter)
		select {
		case <-ctx.Done():
			t.Stop()
			return "", "", fmt.Errorf("%s: %w", method, ctx.Err())
		case <-t.C:
		}
	}
}

// post posts a message (a thread reply when threadTS is set).
func (b *Bot) post(ctx context.Context, channel, threadTS string, blocks []slack.Block, fallback string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(fallback, false)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := b.withRetry(ctx, "chat.postMessage", func() (string, string, error) {
		return b.api.PostMessageContext(ctx, channel, opts...)
	})
	return ts, err
}

// update rewrites a message under the app-wide chat.update limit,
// honouring Retry-After.
func (b *Bot) update(ctx context.Context, channel, ts string, blocks []slack.Block, fallback string) error {
	for attempt := 0; ; attempt++ {
		release, err := b.limiter.acquire(ctx)
		if err != nil {
			return fmt.Errorf("chat.update: %w", err)
		}
		_, _, _, err = b.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(fallback, false))
		release()
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok || attempt == 3 {
			if err != nil {
				return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
			}
			return nil
		}
		b.limiter.pauseUntil(time.Now().Add(rl.RetryAfter))
	}
}

func (b *Bot) link(ctx context.Context, m CaseMessage) {
	if m.CaseRef == "" {
		return
	}
	if err := b.deps.Links.LinkMessage(ctx, m); err != nil {
		b.log.Warn().Err(err).Str("case", m.CaseRef).Msg("link slack message to case")
	}
}

// updateRoot re-renders a root message from its current state, at most
// once per UpdateInterval, serialised per root so the latest state wins.
func (b *Bot) updateRoot(ctx context.Context, e *rootEntry) error {
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	if d := time.Until(e.lastEnd.Add(b.cfg.UpdateInterval)); d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
	b.reg.mu.Lock()
	st := *e.state
	b.reg.mu.Unlock()
	blocks := rootBlocks(&st)
	js := mustJSON(blocks)
	if js == e.sent {
		return nil
	}
	err := b.update(ctx, e.channel, e.ts, blocks, rootFallback(&st))
	e.lastEnd = time.Now()
	if err == nil {
		e.sent = js
	}
	return err
}

// rootFor returns the registered root, or registers one built from inv
// (after a restart); nil when neither is known.
func (b *Bot) rootFor(channel, ts string, inv *investigate.Investigation) *rootEntry {
	if e := b.reg.root(channel, ts); e != nil {
		return e
	}
	if inv == nil {
		return nil
	}
	return b.reg.putRoot(channel, ts, &rootState{inv: inv, phase: phaseDone}, "")
}

// MarkResolved shows on the root message channel/ts that the alert
// resolved at resolvedAt (with how long it fired). inv rebuilds the
// message when this process did not post it; without it a thread reply
// says so instead. It blocks until Slack was updated or ctx is done.
func (b *Bot) MarkResolved(ctx context.Context, channel, ts string, inv *investigate.Investigation, resolvedAt time.Time) error {
	e := b.rootFor(channel, ts, inv)
	if e == nil {
		_, err := b.post(ctx, channel, ts, []slack.Block{section("✔️ *Resolved* at " + resolvedAt.UTC().Format("2006-01-02 15:04 UTC"))}, "Resolved")
		return err
	}
	b.reg.mu.Lock()
	e.state.resolvedAt = resolvedAt
	b.reg.mu.Unlock()
	return b.updateRoot(ctx, e)
}

// NoteFolded shows on the root message channel/ts that n further alerts
// of the same incident were folded into its investigation. Like
// MarkResolved, it blocks until Slack was updated or ctx is done.
func (b *Bot) NoteFolded(ctx context.Context, channel, ts string, n int) error {
	e := b.rootFor(channel, ts, nil)
	if e == nil {
		return nil // posted by another process; its replica notes it
	}
	b.reg.mu.Lock()
	if n > e.state.folded {
		e.state.folded = n
	}
	b.reg.mu.Unlock()
	return b.updateRoot(ctx, e)
}

// NoteDuplicate shows on the root message channel/ts that the same alert
// was notified again (repeats so far, the last at at). Like MarkResolved.
func (b *Bot) NoteDuplicate(ctx context.Context, channel, ts string, inv *investigate.Investigation, repeats int, at time.Time) error {
	e := b.rootFor(channel, ts, inv)
	if e == nil {
		return nil // nothing to show it on; a reply per repeat would be noise
	}
	b.reg.mu.Lock()
	if repeats > e.state.repeats {
		e.state.repeats = repeats
	}
	e.state.lastRepeat = at
	b.reg.mu.Unlock()
	return b.updateRoot(ctx, e)
}
