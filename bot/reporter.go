package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// Reporter publishes ONE investigation into a Slack thread. It implements
// investigate.Reporter: Started posts the root message; Chunk only
// buffers (it never waits on Slack); a background flusher posts the
// analysis reply and keeps it up to date, coalescing chunks (the latest
// text wins) and throttling updates per message (Config.UpdateInterval)
// and across the app (Config.UpdatesPerWindow). Finished records the
// final thread in the Outbox before it returns (waiting at most
// finalCallWait for a page call in flight, never for Slack's budget), so
// that the case, completed after Finished (dispatch), never exists
// without its final thread owed to Slack; the flusher then delivers it.
// Done is closed when the thread is final.
type Reporter struct {
	b       *Bot
	channel string
	stream  *streamTarget
	log     zerolog.Logger

	mu       sync.Mutex
	text     strings.Builder
	result   *investigate.Result
	finished bool
	started  bool
	root     *rootEntry
	caseRef  string
	// incident is set for an investigation leading an incident (storm
	// digests, digest.go); deferred holds its start while its thread
	// waits for its end.
	incident *Incident
	deferred *investigate.Investigation
	// resumeTS is the root of the case's thread posted by an earlier run
	// (a run killed before its case was completed): reported into again.
	resumeTS string

	// pageRecs mirror the flusher's analysis messages (ts, what Slack
	// shows); final is the final thread Finished recorded, over the
	// first finalPages of them.
	pageRecs   []pageRec
	final      []Effect
	finalPages int
	// call is held by the flusher while it calls Slack about a page, so
	// Finished records the final thread with the ts of every page posted.
	call chan struct{}

	wake chan struct{}
	fin  chan struct{} // closed by Finished
	done chan struct{}
}

// streamTarget is who a natively streamed reply is for.
type streamTarget struct{ user, team string }

var _ investigate.Reporter = (*Reporter)(nil)

// Reporter returns a Reporter for one investigation in channel (the
// configured slack.channel when empty).
func (b *Bot) Reporter(channel string) *Reporter {
	return b.newReporter(channel, nil)
}

func (b *Bot) newReporter(channel string, st *streamTarget) *Reporter {
	if channel == "" {
		channel = b.cfg.Channel
	}
	return &Reporter{b: b, channel: channel, stream: st, log: b.log, call: make(chan struct{}, 1),
		wake: make(chan struct{}, 1), fin: make(chan struct{}), done: make(chan struct{})}
}

// pageRec is an analysis message as Finished sees it.
type pageRec struct{ ts, sent string }

// finalCallWait bounds how long Finished waits for a page call in flight
// before it records the final thread with what it knows.
const finalCallWait = 5 * time.Second

// InThread makes r report into the thread whose root channel/ts an
// earlier run of the same case posted (empty ts: none; r is returned
// unchanged). A case runs again when a process was killed after its
// report was recorded but before the case was completed: the re-run
// updates that thread instead of opening a second one.
func (r *Reporter) InThread(channel, ts string) *Reporter {
	if ts == "" {
		return r
	}
	if channel != "" {
		r.channel = channel
	}
	r.resumeTS = ts
	return r
}

// Done is closed once the thread shows the final result (or the reporter
// gave up).
func (r *Reporter) Done() <-chan struct{} { return r.done }

// Thread returns the channel and ts of the root message ("" before
// Started succeeded).
func (r *Reporter) Thread() (channel, ts string) {
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	if root == nil {
		return r.channel, ""
	}
	r.b.reg.mu.Lock()
	defer r.b.reg.mu.Unlock()
	return r.channel, root.ts
}

// Started records the root message of the thread (with the case, when
// the bot has an Outbox), posts it and starts the flusher. When Slack
// does not answer, the root is posted by the bot's delivery once it does,
// together with the final analysis: the investigation goes on and the
// thread is not lost.
func (r *Reporter) Started(ctx context.Context, inv *investigate.Investigation) error {
	r.mu.Lock()
	if r.started {
		r.mu.Unlock()
		return errors.New("report investigation: started twice")
	}
	r.started = true
	r.mu.Unlock()
	if r.resumeTS == "" && r.deferStart(ctx, inv) {
		return nil // a storm: decided when it finished (digest.go)
	}
	return r.open(ctx, inv, true)
}

// open records the root message, posts it (post; otherwise the delivery
// posts it) and starts the flusher.
func (r *Reporter) open(ctx context.Context, inv *investigate.Investigation, post bool) error {
	caseRef := inv.ID
	if caseRef == "" && inv.Request != nil {
		caseRef = inv.Request.ID
	}
	st := &rootState{inv: inv}
	blocks, fallback := rootBlocks(st), rootFallback(st)
	entry := r.b.reg.newRoot(r.channel, caseRef, st)
	r.mu.Lock()
	r.root, r.caseRef = entry, caseRef
	r.log = r.b.log.With().Str("case", caseRef).Str("alertname", title(inv)).Str("channel", r.channel).Logger()
	r.mu.Unlock()

	fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	id, ok := r.b.track(cancel)
	if !ok {
		cancel()
		close(r.done)
		return errors.New("report investigation: bot is closed")
	}
	if r.resumeTS != "" {
		// An earlier run of the case posted the root: it is updated
		// (back to "in progress", then final), not posted again.
		post = false
		r.b.reg.posted(entry, r.resumeTS, "")
		r.b.send.remember(caseRef, keyRoot, r.resumeTS)
		r.mu.Lock()
		r.log = r.log.With().Str("thread_ts", r.resumeTS).Logger()
		r.mu.Unlock()
	}
	eff := r.b.record(ctx, []Effect{{CaseRef: caseRef, Key: keyRoot, Channel: r.channel,
		Blocks: mustJSON(blocks), Text: fallback}})[0]
	ts, err := "", errors.New("storm: the root is posted with the final thread")
	if post {
		ts, err = r.b.post(ctx, r.channel, "", blocks, fallback)
	}
	if !post {
		r.b.send.handOver([]Effect{eff}, false)
	} else if err != nil {
		r.log.Warn().Err(err).Msg("post root message; the thread is posted once Slack answers")
		r.b.retried("chat.postMessage", retryUnreachable)
		r.b.send.handOver([]Effect{eff}, false)
	} else {
		r.b.delivered("chat.postMessage", outcomeDelivered)
		r.b.reg.posted(entry, ts, mustJSON(blocks))
		r.b.send.remember(caseRef, keyRoot, ts)
		r.b.link(ctx, CaseMessage{CaseRef: caseRef, Channel: r.channel, ThreadTS: ts, TS: ts})
		r.b.effectDone(ctx, eff, ts)
		r.mu.Lock()
		r.log = r.log.With().Str("thread_ts", ts).Logger()
		r.mu.Unlock()
	}
	go func() {
		defer r.b.untrack(id)
		defer cancel()
		defer close(r.done)
		r.flush(fctx)
		r.shareCharts(ctx)
	}()
	return nil
}

// Chunk appends analysis text; it never blocks on Slack.
func (r *Reporter) Chunk(_ context.Context, text string) {
	if text == "" {
		return
	}
	r.mu.Lock()
	if !r.started || r.finished {
		r.mu.Unlock()
		return
	}
	r.text.WriteString(text)
	r.mu.Unlock()
	r.signal()
}

// Finished hands over the result; the flusher renders the final messages.
func (r *Reporter) Finished(ctx context.Context, res *investigate.Result) error {
	if r.finishDeferred(ctx, res) {
		return nil
	}
	r.mu.Lock()
	if !r.finished {
		close(r.fin)
	}
	r.finished = true
	r.result = res
	ok := r.root != nil
	r.mu.Unlock()
	r.signal()
	if !ok {
		return errors.New("report investigation: root message was never posted")
	}
	if r.stream == nil {
		r.recordFinal(ctx)
	}
	return nil
}

// recordFinal records the final thread in the Outbox (held by this
// process: the flusher hands it to the delivery). It waits at most
// finalCallWait for a page call in flight, so the record knows the ts of
// every page posted; past that it records what it knows (a page posted in
// that instant may be posted again after a kill).
func (r *Reporter) recordFinal(ctx context.Context) {
	t := time.NewTimer(finalCallWait)
	defer t.Stop()
	select {
	case r.call <- struct{}{}:
		defer func() { <-r.call }()
	case <-t.C:
		r.log.Warn().Msg("a page call is still in flight; recording the final thread without waiting for it")
	}
	snap := r.snapshot()
	r.mu.Lock()
	root := r.root
	pages := make([]*msgState, len(r.pageRecs))
	for i, p := range r.pageRecs {
		pages[i] = &msgState{ts: p.ts, sent: p.sent}
	}
	r.mu.Unlock()
	root.sendMu.Lock()
	effects := r.b.record(ctx, keepChanged(r.finalThread(snap, pages), pages))
	root.sendMu.Unlock()
	r.mu.Lock()
	r.final, r.finalPages = effects, len(pages)
	r.mu.Unlock()
}

// keepChanged drops from a final thread the pages the reader already sees
// in their final form.
func keepChanged(effects []Effect, pages []*msgState) []Effect {
	kept := effects[:0]
	for i, e := range effects {
		if i > 0 && i-1 < len(pages) && pages[i-1].sent == e.Blocks {
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// finalRecorded reports whether Finished recorded the final thread.
func (r *Reporter) finalRecorded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.final != nil
}

// publish mirrors the flusher's pages for Finished.
func (r *Reporter) publish(pages []*msgState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pageRecs = r.pageRecs[:0]
	for _, p := range pages {
		r.pageRecs = append(r.pageRecs, pageRec{ts: p.ts, sent: p.sent})
	}
}

func (r *Reporter) signal() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

type snapshot struct {
	text     string
	finished bool
	result   *investigate.Result
}

func (r *Reporter) snapshot() snapshot {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := snapshot{text: r.text.String(), finished: r.finished, result: r.result}
	if s.finished && s.result != nil && s.result.Analysis.Text != "" && len(s.result.Analysis.Text) >= len(s.text) {
		s.text = s.result.Analysis.Text
	}
	return s
}

// msgState is one analysis message as the flusher tracks it.
type msgState struct {
	ts       string
	streamed bool     // a native stream rather than a posted message
	sent     string   // JSON of the blocks last sent (posted messages)
	sentKey  viewKeyT // what was last sent (posted messages)
	sentText string   // stream text sent so far (streams)
	stopped  bool
	lastEnd  time.Time
	failures int
}

const maxFailures = 3

// flush streams the analysis into the thread until it is finished, then
// hands the final thread to the bot's delivery and waits until Slack has
// it. Without a root message (Slack did not answer) or once a reply
// could not be posted, nothing is streamed: the final thread is all that
// is sent. Native streams are finished here.
func (r *Reporter) flush(ctx context.Context) {
	var pages []*msgState
	cfg := r.b.cfg
	rootDone := false
	_, rootTS := r.Thread()
	// A resumed thread is not streamed into: its final messages update
	// those the earlier run recorded (the Outbox keeps their ts).
	offline := rootTS == "" || r.resumeTS != ""
	// A message streamed through updates takes its share of the budget:
	// the more stream, the longer each waits between updates.
	if !offline {
		r.b.limiter.streaming(1)
		defer r.b.limiter.streaming(-1)
	}
	for ctx.Err() == nil {
		snap := r.snapshot()
		streamed := slices.ContainsFunc(pages, func(p *msgState) bool { return p.streamed })
		if offline || (snap.finished && !streamed && r.stream == nil) {
			if !snap.finished {
				r.waitWake(ctx, 0)
				continue
			}
			r.finishThread(ctx, snap, pages)
			return
		}
		texts := splitPages(snap.text, cfg.MaxMessageChars)
		if len(texts) == 0 {
			texts = []string{""}
		}
		now := time.Now()
		// Choose the most urgent message: a page to create, else the
		// dirty page whose throttle ends first.
		next, at := -1, time.Time{}
		for i := range texts {
			if i >= len(pages) {
				if r.stream != nil && strings.TrimSpace(snap.text) == "" && !snap.finished {
					break // streams start with text
				}
				next, at = i, now
				break
			}
			p := pages[i]
			if !r.dirty(p, i, texts, snap) {
				continue
			}
			interval := r.b.limiter.interval(cfg.UpdateInterval)
			if p.streamed {
				interval = cfg.StreamInterval
			}
			t := p.lastEnd.Add(interval)
			if next < 0 || t.Before(at) {
				next, at = i, t
			}
		}
		if next < 0 {
			if snap.finished {
				// Native streams: finished above; the root shows the outcome.
				if !rootDone {
					r.finishRoot(ctx, snap)
					rootDone = true
				}
				return
			}
			r.waitWake(ctx, 0)
			continue
		}
		if d := time.Until(at); d > 0 {
			r.waitWake(ctx, d)
			// Wake-ups before the throttle ends only matter for new pages.
			continue
		}
		r.call <- struct{}{}
		if r.finalRecorded() && !streamed {
			<-r.call // the final thread goes instead
			continue
		}
		if next >= len(pages) {
			p := r.createPage(ctx, next, texts, snap)
			if p == nil {
				<-r.call
				offline = true // the final thread posts what is missing
				continue
			}
			pages = append(pages, p)
			r.publish(pages)
			<-r.call
			continue
		}
		r.sendPage(ctx, pages[next], next)
		r.publish(pages)
		<-r.call
	}
}

// finishThread hands the final thread (root outcome and every page) to
// the bot's delivery, which sends only what changed since it was
// recorded and retries until Slack takes it; it returns once Slack has it
// or ctx is done. The thread Finished recorded goes as recorded, unless
// pages were posted since (then it is recorded again, with them).
func (r *Reporter) finishThread(ctx context.Context, snap snapshot, pages []*msgState) {
	r.mu.Lock()
	root := r.root
	final, n := r.final, r.finalPages
	r.mu.Unlock()
	// Notes on the root render under the same lock: the later rendering
	// is the later version.
	root.sendMu.Lock()
	if final != nil && n == len(pages) {
		r.b.send.handOver(final, false)
	} else {
		// Pages the reader already sees in their final form need no call.
		r.b.deliverThread(ctx, keepChanged(r.finalThread(snap, pages), pages))
	}
	root.sendMu.Unlock()
	select {
	case <-r.b.send.delivered(r.caseRef):
	case <-ctx.Done():
	}
}

// waitWake waits for d (0: no timeout) or a new chunk or the end.
func (r *Reporter) waitWake(ctx context.Context, d time.Duration) {
	var tc <-chan time.Time
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		tc = t.C
		select {
		case <-ctx.Done():
		case <-tc:
		}
		return
	}
	select {
	case <-ctx.Done():
	case <-r.wake:
	}
}

func (r *Reporter) view(i int, texts []string, snap snapshot) pageView {
	return pageView{index: i, text: texts[i], last: i == len(texts)-1, final: snap.finished,
		result: snap.result, caseRef: r.caseRef}
}

// dirty reports whether page i differs from what Slack shows.
func (r *Reporter) dirty(p *msgState, i int, texts []string, snap snapshot) bool {
	if p.failures >= maxFailures {
		return false
	}
	if p.streamed {
		if p.stopped {
			return false
		}
		complete := i < len(texts)-1 || snap.finished
		return streamText(texts[i], complete) != p.sentText || complete
	}
	return viewKey(r.view(i, texts, snap)) != p.sentKey
}

// viewKeyT identifies a page's content without rendering it.
type viewKeyT struct {
	text        string
	final, last bool
}

func viewKey(v pageView) viewKeyT { return viewKeyT{text: v.text, final: v.final, last: v.last} }

// createPage posts (or starts streaming) analysis message i.
func (r *Reporter) createPage(ctx context.Context, i int, texts []string, snap snapshot) *msgState {
	_, rootTS := r.Thread()
	if r.stream != nil {
		complete := i < len(texts)-1 || snap.finished
		txt := streamText(texts[i], complete)
		if txt == "" {
			txt = "…"
		}
		_, ts, err := r.b.withRetry(ctx, "chat.startStream", func() (string, string, error) {
			return r.b.api.StartStreamContext(ctx, r.channel,
				slack.MsgOptionTS(rootTS),
				slack.MsgOptionRecipientUserID(r.stream.user),
				slack.MsgOptionRecipientTeamID(r.stream.team),
				slack.MsgOptionMarkdownText(txt))
		})
		if err == nil {
			r.b.link(ctx, CaseMessage{CaseRef: r.caseRef, Channel: r.channel, ThreadTS: rootTS, TS: ts})
			return &msgState{ts: ts, streamed: true, sentText: txt, lastEnd: time.Now()}
		}
		r.log.Warn().Err(err).Msg("native streaming unavailable; falling back to message updates")
		r.stream = nil
	}
	v := r.view(i, texts, snap)
	blocks := pageBlocks(v)
	ts, err := r.b.post(ctx, r.channel, rootTS, blocks, pageFallback(v))
	if err != nil {
		r.log.Error().Err(err).Int("page", i).Msg("post analysis message")
		return nil
	}
	r.b.link(ctx, CaseMessage{CaseRef: r.caseRef, Channel: r.channel, ThreadTS: rootTS, TS: ts})
	p := &msgState{ts: ts, sent: mustJSON(blocks), sentKey: viewKey(v), lastEnd: time.Now()}
	if v.final && v.last {
		r.b.reg.putFinal(r.caseRef, &finalEntry{channel: r.channel, ts: ts, threadTS: rootTS, blocks: blocks})
	}
	return p
}

func pageFallback(v pageView) string {
	switch {
	case v.final && v.result != nil && v.result.Err != "":
		return "⚠️ Analysis failed"
	case v.final:
		rc := ""
		if v.result != nil {
			rc = v.result.RootCause()
		}
		return truncate("✅ Analysis complete. Root cause: "+redactPlain(rc), MaxFallbackChars)
	}
	return "🔄 Analysis in progress…"
}

// sendPage brings page i up to date (the latest text at send time).
func (r *Reporter) sendPage(ctx context.Context, p *msgState, i int) {
	_, rootTS := r.Thread()
	if p.streamed {
		r.streamPage(ctx, p, i, rootTS)
		return
	}
	r.updatePage(ctx, p, i, rootTS)
}

// streamPage brings streamed page i up to date: it appends the text not yet
// sent, or, once the page is complete (a later page exists or the analysis
// finished), stops the stream with the rest and, on the last page of a
// finished analysis, the final blocks, which it registers for rootTS's
// thread. A failure is counted in p.failures and the text is sent again
// next time.
func (r *Reporter) streamPage(ctx context.Context, p *msgState, i int, rootTS string) {
	snap := r.snapshot()
	texts := splitPages(snap.text, r.b.cfg.MaxMessageChars)
	complete := i < len(texts)-1 || snap.finished
	txt := streamText(texts[i], complete)
	delta := r.streamDelta(txt, p.sentText)
	var err error
	if complete {
		opts := []slack.MsgOption{}
		if delta != "" {
			opts = append(opts, slack.MsgOptionMarkdownText(delta))
		}
		var blocks []slack.Block
		if snap.finished && i == len(texts)-1 {
			blocks = append([]slack.Block{contextBlock(finalHeader(snap.result))}, finalBlocks(snap.result, r.caseRef)...)
			opts = append(opts, slack.MsgOptionBlocks(blocks...))
		}
		_, _, err = r.b.withRetry(ctx, "chat.stopStream", func() (string, string, error) {
			return r.b.api.StopStreamContext(ctx, r.channel, p.ts, opts...)
		})
		if err == nil {
			p.stopped = true
			if blocks != nil {
				r.b.reg.putFinal(r.caseRef, &finalEntry{channel: r.channel, ts: p.ts, threadTS: rootTS, blocks: blocks, streamed: true})
			}
		}
	} else if delta != "" {
		_, _, err = r.b.withRetry(ctx, "chat.appendStream", func() (string, string, error) {
			return r.b.api.AppendStreamContext(ctx, r.channel, p.ts, slack.MsgOptionMarkdownText(delta))
		})
	}
	p.lastEnd = time.Now()
	if err != nil {
		p.failures++
		r.log.Warn().Err(err).Int("page", i).Msg("stream analysis")
		return
	}
	p.sentText = txt
}

// streamDelta returns the part of txt a stream that has shown sent has not
// shown yet. A stream cannot take text back: when txt no longer starts
// with sent (logged) it returns what lies beyond sent's length, if
// anything.
func (r *Reporter) streamDelta(txt, sent string) string {
	if strings.HasPrefix(txt, sent) {
		return txt[len(sent):]
	}
	r.log.Warn().Msg("streamed text changed behind the stream; sending the rest")
	if len(txt) > len(sent) {
		return txt[len(sent):]
	}
	return ""
}

// updatePage rewrites page i with chat.update once the update budget and
// a limiter slot allow (see awaitUpdateSlot), rendering the latest text
// only then; it sends nothing when the blocks did not change. The final
// blocks of the last page are registered for rootTS's thread. A rate limit
// pauses all updates; any other failure is counted in p.failures.
func (r *Reporter) updatePage(ctx context.Context, p *msgState, i int, rootTS string) {
	release, ok := r.awaitUpdateSlot(ctx)
	if !ok {
		return
	}
	// Latest text wins: render after the slot was granted.
	snap := r.snapshot()
	texts := splitPages(snap.text, r.b.cfg.MaxMessageChars)
	v := r.view(i, texts, snap)
	blocks := pageBlocks(v)
	js := mustJSON(blocks)
	if js == p.sent {
		release()
		p.sentKey = viewKey(v)
		return
	}
	_, _, _, err := r.b.api.UpdateMessageContext(ctx, r.channel, p.ts,
		slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(pageFallback(v), false))
	release()
	p.lastEnd = time.Now()
	if err != nil {
		if rl, ok := errors.AsType[*slack.RateLimitedError](err); ok {
			r.b.retried("chat.update", retryRateLimited)
			r.b.pauseUpdates(time.Now().Add(rl.RetryAfter))
			r.log.Warn().Dur("retry_after", rl.RetryAfter).Msg("chat.update rate limited")
			return
		}
		p.failures++
		r.log.Warn().Err(err).Int("page", i).Msg("update analysis message")
		return
	}
	p.sent, p.sentKey = js, viewKey(v)
	if v.final && v.last {
		r.b.reg.putFinal(r.caseRef, &finalEntry{channel: r.channel, ts: p.ts, threadTS: rootTS, blocks: blocks})
	}
}

// awaitUpdateSlot waits for the update budget and then a (non-urgent)
// limiter slot, and returns the slot's release. It gives up, returning
// false, when ctx ends or the analysis finishes first: an intermediate
// update waits only until then, so that the final thread goes instead,
// ahead of the analyses still streaming.
func (r *Reporter) awaitUpdateSlot(ctx context.Context) (release func(), ok bool) {
	actx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-r.fin:
			cancel()
		case <-actx.Done():
		}
	}()
	if err := r.b.budget.wait(actx); err != nil {
		return nil, false
	}
	release, err := r.b.limiter.acquire(actx, false)
	if err != nil {
		return nil, false
	}
	return release, true
}

func finalHeader(r *investigate.Result) string {
	if r != nil && r.Err != "" {
		return "⚠️ *Analysis failed:* " + Safe(truncate(r.Err, 500))
	}
	return "✅ *Analysis complete*"
}

// finalRootState is st showing the investigation's outcome.
func finalRootState(st rootState, snap snapshot) rootState {
	if snap.result != nil && snap.result.Err != "" {
		st.phase = phaseFailed
		return st
	}
	st.phase = phaseDone
	if snap.result != nil {
		st.rootCause = snap.result.RootCause()
	}
	return st
}

// finishRoot shows the outcome on the root message and reports whether
// Slack took it.
func (r *Reporter) finishRoot(ctx context.Context, snap snapshot) bool {
	r.mu.Lock()
	entry := r.root
	r.mu.Unlock()
	r.b.reg.mu.Lock()
	*entry.state = finalRootState(*entry.state, snap)
	r.b.reg.mu.Unlock()
	if err := r.b.updateRoot(ctx, entry); err != nil {
		r.log.Warn().Err(err).Msg("update root message")
		return false
	}
	return true
}

// streamText is the markdown streamed for a page: redacted and escaped,
// and, until the page is complete, only whole lines (so redaction, which
// works on lines, never changes text already sent).
func streamText(page string, complete bool) string {
	if !complete {
		i := strings.LastIndexByte(page, '\n')
		if i < 0 {
			return ""
		}
		page = page[:i+1]
	}
	return Escape(redact.String(page))
}

// splitPages cuts the analysis into message-sized pages at line
// boundaries. The cut points of full pages never move as text is
// appended, so earlier messages stay put; a ``` fence open at a cut is
// closed and reopened.
func splitPages(text string, max int) []string {
	if text == "" {
		return nil
	}
	var pages []string
	for len(text) > max {
		cut := strings.LastIndexByte(text[:max], '\n')
		if cut < max/2 {
			cut = max
			for cut > 0 && !utf8RuneStart(text[cut]) {
				cut--
			}
		} else {
			cut++ // keep the newline on the page
		}
		page := text[:cut]
		text = text[cut:]
		if strings.Count(page, "```")%2 == 1 {
			page += "\n```"
			text = "```\n" + text
		}
		pages = append(pages, page)
	}
	return append(pages, text)
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("!%v", err)
	}
	return string(b)
}
