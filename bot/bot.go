package bot

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strings"
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
	posts   *postPacer
	reg     *registry
	groups  *groupCache
	send    *sender
	budget  *budget
	digests *digester

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
	// A linker that also looks messages up serves reactions: without it
	// they would search an index nobody writes to.
	if l, ok := deps.Links.(CaseLookup); ok && deps.Cases == nil {
		deps.Cases = l
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
		posts:   newPostPacer(cfg.PostInterval, cfg.PostBurst),
		reg:     newRegistry(),
		cancels: map[int]context.CancelFunc{},
	}
	b.groups = newGroupCache(b.api, cfg.UserGroupCacheTTL)
	b.send = newSender(b)
	b.budget = newBudget(b, deps.Budget)
	b.limiter.spent = func(t time.Time) { b.budget.spend(scopeUpdate, t) }
	b.posts.spent = func(ch string, t time.Time) { b.budget.spend(scopePost(ch), t) }
	b.digests = newDigester(b)
	return b, nil
}

// observeCalls reports each Web API call's method and result.
type observeCalls struct {
	next    http.RoundTripper
	observe func(method, result string)
}

func (o observeCalls) RoundTrip(r *http.Request) (*http.Response, error) {
	method := path.Base(r.URL.Path)
	if !strings.Contains(r.URL.Path, "/api/") {
		method = methodUploadURL // a file's upload URL, unique per file
	}
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

// Errors of Slack calls, for errors.Is.
var (
	// ErrRejected: Slack refused a token (invalid_auth, token_revoked …);
	// trying again cannot help.
	ErrRejected = errors.New("rejected by Slack")
	// ErrUnreachable: Slack did not answer (network error, timeout, server
	// error); trying again may help.
	ErrUnreachable = errors.New("slack is unreachable")
)

// authErrors are the Web API error codes of a token Slack refuses.
var authErrors = map[string]bool{"invalid_auth": true, "not_authed": true, "account_inactive": true,
	"token_revoked": true, "token_expired": true, "not_allowed_token_type": true}

// rejected reports whether err is Slack refusing the token: an auth error
// code, or the HTTP status of one.
func rejected(err error) bool {
	if se, ok := errors.AsType[slack.SlackErrorResponse](err); ok {
		return authErrors[se.Err]
	}
	if sc, ok := errors.AsType[slack.StatusCodeError](err); ok {
		return sc.Code == http.StatusUnauthorized || sc.Code == http.StatusForbidden
	}
	return false
}

// CheckAuth calls auth.test once. A token Slack refuses gives an error
// naming slack.bot_token and wrapping ErrRejected; any other failure
// (Slack not answering) wraps ErrUnreachable.
func (b *Bot) CheckAuth(ctx context.Context) error {
	resp, err := b.api.AuthTestContext(ctx)
	if err != nil {
		if rejected(err) {
			return fmt.Errorf("slack.bot_token %w (auth.test): %w", ErrRejected, err)
		}
		return fmt.Errorf("auth.test: %w: %w", ErrUnreachable, err)
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

// Run checks the bot token (while Slack is unreachable, again and again
// with back-off), then keeps the Socket Mode connection (Slack's client
// reconnects a dropped link) and handles events with a bounded pool of
// workers until ctx is done. It returns nil on cancellation and an error
// naming the config key (wrapping ErrRejected) for rejected tokens.
func (b *Bot) Run(ctx context.Context) error {
	// What the previous process spent of Slack's budget counts before
	// any paced call.
	b.budget.load(ctx)
	go b.budget.run(ctx)
	if err := b.waitAuth(ctx); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return nil
	}
	sm := socketmode.New(b.api, socketmode.OptionPingInterval(b.cfg.PingInterval))
	// The event loop and workers end with the socket: a rejected app
	// token returns at once instead of waiting for ctx.
	ctx, stop := context.WithCancel(ctx)
	defer stop()
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
	// Threads are delivered until Close, also while shutting down.
	b.send.start()
	err := b.runSocket(ctx, sm)
	b.connected.Store(false)
	stop()
	<-loopDone
	workers.Wait()
	return err
}

// waitAuth calls auth.test until Slack answers: it returns nil once the
// token is accepted or ctx is done, and the error of a rejected token.
func (b *Bot) waitAuth(ctx context.Context) error {
	backoff := 500 * time.Millisecond
	for {
		err := b.CheckAuth(ctx)
		if err == nil || errors.Is(err, ErrRejected) || ctx.Err() != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		b.log.Warn().Err(err).Dur("retry_in", backoff).Msg("Slack unreachable; trying again")
		if sleepCtx(ctx, backoff) != nil {
			return nil
		}
		backoff = min(backoff*2, time.Minute)
	}
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
		if err != nil && rejected(err) {
			return fmt.Errorf("slack.app_token %w (apps.connections.open): %w", ErrRejected, err)
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

// Close waits up to ctx for the reporters still flushing and for their
// threads to be delivered, then stops them (their contexts are
// cancelled) and the delivery, and releases the outbox: the threads left
// unfinished are finished by the next process.
func (b *Bot) Close(ctx context.Context) error {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() { b.wg.Wait(); close(done) }()
	// Whatever is still undelivered goes to the next process, with what
	// this one spent of Slack's budget.
	defer b.budget.flush()
	defer b.releaseOutbox()
	defer b.send.stop()
	defer b.budget.open() // calls waiting for a budget never loaded end
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

// withRetry calls a Web API method until Slack accepts it or ctx is
// done: an answer 429 is retried after its Retry-After, as often as Slack
// sends it. Other errors are returned.
func (b *Bot) withRetry(ctx context.Context, method string, call func() (string, string, error)) (string, string, error) {
	for {
		ch, ts, err := call()
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok {
			if err != nil {
				return ch, ts, fmt.Errorf("%s: %w", method, err)
			}
			return ch, ts, nil
		}
		b.log.Warn().Str("method", method).Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		b.retried(method, retryRateLimited)
		if err := sleepCtx(ctx, rl.RetryAfter); err != nil {
			return "", "", fmt.Errorf("%s: %w", method, err)
		}
	}
}

// post posts a message (a thread reply when threadTS is set), paced per
// channel (Config.PostInterval, Config.PostBurst). A 429 pauses the
// channel for its Retry-After and the message is posted again, until
// Slack accepts it or ctx is done: a message is never abandoned.
func (b *Bot) post(ctx context.Context, channel, threadTS string, blocks []slack.Block, fallback string) (string, error) {
	opts := []slack.MsgOption{slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(fallback, false)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	if err := b.budget.wait(ctx); err != nil {
		return "", fmt.Errorf("chat.postMessage in %s: %w", channel, err)
	}
	for {
		if err := b.posts.wait(ctx, channel); err != nil {
			return "", fmt.Errorf("chat.postMessage in %s: %w", channel, err)
		}
		_, ts, err := b.api.PostMessageContext(ctx, channel, opts...)
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok {
			if err != nil {
				return "", fmt.Errorf("chat.postMessage in %s: %w", channel, err)
			}
			return ts, nil
		}
		b.log.Warn().Str("method", "chat.postMessage").Str("channel", channel).Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		b.retried("chat.postMessage", retryRateLimited)
		b.pausePosts(channel, time.Now().Add(rl.RetryAfter))
	}
}

// update rewrites a message under the app-wide chat.update limit, ahead
// of intermediate streaming updates (it is a final or status change). A
// 429 pauses every update for its Retry-After and the update is sent
// again, until Slack accepts it or ctx is done.
func (b *Bot) update(ctx context.Context, channel, ts string, blocks []slack.Block, fallback string) error {
	if err := b.budget.wait(ctx); err != nil {
		return fmt.Errorf("chat.update: %w", err)
	}
	for {
		release, err := b.limiter.acquire(ctx, true)
		if err != nil {
			return fmt.Errorf("chat.update: %w", err)
		}
		_, _, _, err = b.api.UpdateMessageContext(ctx, channel, ts, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(fallback, false))
		release()
		rl, ok := errors.AsType[*slack.RateLimitedError](err)
		if !ok {
			if err != nil {
				return fmt.Errorf("chat.update %s/%s: %w", channel, ts, err)
			}
			return nil
		}
		b.log.Warn().Str("method", "chat.update").Dur("retry_after", rl.RetryAfter).Msg("rate limited by Slack")
		b.retried("chat.update", retryRateLimited)
		b.pauseUpdates(time.Now().Add(rl.RetryAfter))
	}
}

// Outcomes of a lasting message and reasons of a retry, for Deps.OnDelivery
// and Deps.OnRetry.
const (
	outcomeDelivered = "delivered"
	outcomeRefused   = "refused"
	retryRateLimited = "rate_limited"
	retryUnreachable = "unreachable"
)

func (b *Bot) delivered(method, outcome string) {
	if b.deps.OnDelivery != nil {
		b.deps.OnDelivery(method, outcome)
	}
}

func (b *Bot) retried(method, reason string) {
	if b.deps.OnRetry != nil {
		b.deps.OnRetry(method, reason)
	}
}

// effectMethod is the Web API method that delivers e.
func effectMethod(e Effect) string {
	if e.TS != "" {
		return "chat.update"
	}
	return "chat.postMessage"
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
	ts := e.ts
	b.reg.mu.Unlock()
	blocks := rootBlocks(&st)
	js := mustJSON(blocks)
	if js == e.sent {
		return nil
	}
	err := b.update(ctx, e.channel, ts, blocks, rootFallback(&st))
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

// noteRoot shows a root's changed state. The root of a case this
// process reports is recorded with the case and delivered like its
// thread (it returns once recorded); any other is updated at once.
func (b *Bot) noteRoot(ctx context.Context, e *rootEntry) error {
	if e.caseRef == "" {
		return b.updateRoot(ctx, e)
	}
	e.sendMu.Lock()
	defer e.sendMu.Unlock()
	b.reg.mu.Lock()
	st := *e.state
	ts := e.ts
	b.reg.mu.Unlock()
	b.deliverThread(ctx, []Effect{{CaseRef: e.caseRef, Key: keyRoot, Channel: e.channel, TS: ts,
		Blocks: mustJSON(rootBlocks(&st)), Text: rootFallback(&st)}})
	return nil
}

// MarkResolved shows on the root message channel/ts that the alert
// resolved at resolvedAt (with how long it fired). inv rebuilds the
// message when this process did not post it; without it a thread reply
// says so instead. A root this process posted is updated like noteRoot;
// otherwise it blocks until Slack was updated or ctx is done.
func (b *Bot) MarkResolved(ctx context.Context, channel, ts string, inv *investigate.Investigation, resolvedAt time.Time) error {
	e := b.rootFor(channel, ts, inv)
	if e == nil {
		_, err := b.post(ctx, channel, ts, []slack.Block{section("✔️ *Resolved* at " + resolvedAt.UTC().Format("2006-01-02 15:04 UTC"))}, "Resolved")
		return err
	}
	b.reg.mu.Lock()
	e.state.resolvedAt = resolvedAt
	b.reg.mu.Unlock()
	return b.noteRoot(ctx, e)
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
	return b.noteRoot(ctx, e)
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
	return b.noteRoot(ctx, e)
}
