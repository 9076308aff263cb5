package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/slack-go/slack"
)

// Effect is one message of a case's thread as it must end up: the unit
// of the Outbox.
type Effect struct {
	CaseRef string
	// Key names the message in the thread ("root", "page/0" …).
	Key     string
	Channel string
	// ThreadTS is the thread's root; empty for the root itself and for
	// replies of a root still to be posted (they wait for it).
	ThreadTS string
	// TS is the message to update; empty for a message still to be
	// posted (the root at the channel's top level, a reply in ThreadTS).
	TS     string
	Blocks string // Block Kit JSON
	Text   string // notification fallback
	// Version is the outbox's version of the effect (set by Put).
	Version int64
}

// Outbox keeps the lasting state of threads (root posts, final
// analyses, notes) until Slack took it, so a thread left unfinished by a
// shutdown, a crash or a Slack outage is finished later, by this process
// or the next.
//
// Put records effects, superseding earlier versions of the same case and
// key, held by this process (no other claims them while it renews its
// hold). Claim takes up to n effects nobody holds, held by this process
// from then on. Done removes the delivered version of an effect (ts: the
// message a post created, kept for a newer version; a root's ts becomes
// the thread of the case's replies waiting for it). Renew extends this
// process's hold; it is called every outboxRenewEvery. Release lets
// other processes claim this process's effects at once (shutdown).
type Outbox interface {
	Put(ctx context.Context, effects []Effect) ([]Effect, error)
	Claim(ctx context.Context, n int) ([]Effect, error)
	Done(ctx context.Context, e Effect, ts string) error
	Renew(ctx context.Context) error
	Release(ctx context.Context) error
}

// How often the bot renews its hold on its effects and looks for effects
// nobody holds (left by a process that stopped).
const (
	outboxRenewEvery = 15 * time.Second
	outboxPollEvery  = 2 * time.Second
	outboxBatch      = 20
)

// keyRoot is the Effect.Key of a thread's root message.
const keyRoot = "root"

// record puts effects in the Outbox, held by this process, after filling
// in what this process already posted of their threads. Without an
// Outbox, or for a request that is not a case, they are kept in memory
// only (Version 0).
func (b *Bot) record(ctx context.Context, effects []Effect) []Effect {
	for i := range effects {
		effects[i] = b.send.fill(effects[i])
	}
	if b.deps.Outbox == nil {
		return effects
	}
	put, err := b.deps.Outbox.Put(ctx, effects)
	if err != nil {
		b.log.Debug().Err(err).Str("case", effects[0].CaseRef).Msg("thread kept in memory only (not in the slack outbox)")
		return effects
	}
	return put
}

// deliverThread records effects and hands them to the sender.
func (b *Bot) deliverThread(ctx context.Context, effects []Effect) {
	b.send.handOver(b.record(ctx, effects), false)
}

// effectDone tells the Outbox that version of e was delivered (ts: the
// message a post created).
func (b *Bot) effectDone(ctx context.Context, e Effect, ts string) {
	if b.deps.Outbox == nil || e.Version == 0 {
		return
	}
	if err := b.deps.Outbox.Done(context.WithoutCancel(ctx), e, ts); err != nil {
		b.log.Warn().Err(err).Str("case", e.CaseRef).Str("key", e.Key).Msg("mark delivered in the slack outbox")
	}
}

// deliver sends one effect: the post of a root (at the channel's top
// level) or of a reply still missing, or an update of its message. It
// returns the ts of a message it posted. Slack's 429s are waited out.
func (b *Bot) deliver(ctx context.Context, e Effect) (string, error) {
	var blocks slack.Blocks
	if err := json.Unmarshal([]byte(e.Blocks), &blocks); err != nil {
		return "", fmt.Errorf("decode blocks of %s/%s: %w", e.CaseRef, e.Key, err)
	}
	if e.TS != "" {
		return "", b.update(ctx, e.Channel, e.TS, blocks.BlockSet, e.Text)
	}
	ts, err := b.post(ctx, e.Channel, e.ThreadTS, blocks.BlockSet, e.Text)
	if err != nil {
		return "", err
	}
	if group, ok := digestGroupOf(blocks.BlockSet); ok {
		b.digests.posted(ctx, e.Channel, group, ts)
		return ts, nil
	}
	thread := e.ThreadTS
	if e.Key == keyRoot {
		thread = ts
		b.reg.rootPosted(e.CaseRef, ts)
	}
	b.reg.finalPosted(e.CaseRef, e.Key, ts)
	b.link(ctx, CaseMessage{CaseRef: e.CaseRef, Channel: e.Channel, ThreadTS: thread, TS: ts})
	b.log.Debug().Str("case", e.CaseRef).Str("key", e.Key).Str("channel", e.Channel).Msg("posted a thread message")
	return ts, nil
}

// refused reports whether Slack answered a call with an error of its own
// (not a 429, not a network failure).
func refused(err error) bool {
	_, ok := errors.AsType[slack.SlackErrorResponse](err)
	return ok
}

// releaseOutbox hands this process's undelivered effects to the next.
func (b *Bot) releaseOutbox() {
	if b.deps.Outbox == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.deps.Outbox.Release(ctx); err != nil {
		b.log.Warn().Err(err).Msg("release the slack outbox; the next process claims it once the hold expires")
	}
}

func pageKey(i int) string { return "page/" + strconv.Itoa(i) }

// finalThread renders the thread's final messages: the root's outcome
// (which the root's state now shows, so notes rendered later keep it)
// and every analysis page, with the ts of the messages already posted.
func (r *Reporter) finalThread(snap snapshot, pages []*msgState) []Effect {
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	r.b.reg.mu.Lock()
	*root.state = finalRootState(*root.state, snap)
	st := *root.state
	rootTS := root.ts
	r.b.reg.mu.Unlock()
	effects := []Effect{{CaseRef: r.caseRef, Key: keyRoot, Channel: r.channel, TS: rootTS,
		Blocks: mustJSON(rootBlocks(&st)), Text: rootFallback(&st)}}
	texts := splitPages(snap.text, r.b.cfg.MaxMessageChars)
	if len(texts) == 0 {
		texts = []string{""}
	}
	for i := range texts {
		v := r.view(i, texts, snap)
		blocks := pageBlocks(v)
		e := Effect{CaseRef: r.caseRef, Key: pageKey(i), Channel: r.channel, ThreadTS: rootTS,
			Blocks: mustJSON(blocks), Text: pageFallback(v)}
		if i < len(pages) {
			e.TS = pages[i].ts
		}
		if v.last {
			r.b.reg.putFinal(r.caseRef, &finalEntry{channel: r.channel, ts: e.TS, threadTS: rootTS, blocks: blocks, key: e.Key})
		}
		effects = append(effects, e)
	}
	return effects
}
