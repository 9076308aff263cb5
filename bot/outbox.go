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
	Key      string
	Channel  string
	ThreadTS string
	// TS is the message to update; empty for a reply still to be posted
	// in ThreadTS.
	TS     string
	Blocks string // Block Kit JSON
	Text   string // notification fallback
	// Version is the outbox's version of the effect (set by Put).
	Version int64
}

// Outbox keeps the final state of threads until Slack took it, so a
// thread left unfinished by a shutdown, a crash or a Slack outage is
// finished later, by this process or the next.
//
// Put records effects, superseding earlier versions of the same case and
// key, held by this process (no other claims them while it renews its
// hold). Claim takes up to n effects nobody holds, held by this process
// from then on. Done removes the delivered version of an effect (ts: the
// message a post created, kept for a newer version). Renew extends this
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

// runOutbox delivers the effects nobody holds, and renews this process's
// hold on the effects its reporters are sending, until ctx is done.
func (b *Bot) runOutbox(ctx context.Context) {
	if b.deps.Outbox == nil {
		return
	}
	renew := time.NewTicker(outboxRenewEvery)
	defer renew.Stop()
	poll := time.NewTimer(0)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-renew.C:
			if err := b.deps.Outbox.Renew(ctx); err != nil && ctx.Err() == nil {
				b.log.Warn().Err(err).Msg("renew hold on the slack outbox")
			}
		case <-poll.C:
			effects, err := b.deps.Outbox.Claim(ctx, outboxBatch)
			if err != nil && ctx.Err() == nil {
				b.log.Warn().Err(err).Msg("claim from the slack outbox")
			}
			for _, e := range effects {
				err := b.deliver(ctx, e)
				switch {
				case err == nil:
				case ctx.Err() != nil:
					return
				case refused(err):
					// Slack answered with an error (the message or channel is
					// gone): sending it again cannot help.
					b.log.Error().Err(err).Str("case", e.CaseRef).Str("key", e.Key).Msg("Slack refused a message from the outbox; dropping it")
					if err := b.deps.Outbox.Done(ctx, e, ""); err != nil {
						b.log.Warn().Err(err).Msg("drop from the slack outbox")
					}
				default:
					b.log.Warn().Err(err).Str("case", e.CaseRef).Str("key", e.Key).Msg("deliver from the slack outbox; the next process tries again")
				}
			}
			next := outboxPollEvery
			if len(effects) == outboxBatch {
				next = 0 // more are waiting
			}
			poll.Reset(next)
		}
	}
}

// deliver sends one effect: an update of its message, or the post of a
// reply still missing. Slack's 429s are waited out.
func (b *Bot) deliver(ctx context.Context, e Effect) error {
	var blocks slack.Blocks
	if err := json.Unmarshal([]byte(e.Blocks), &blocks); err != nil {
		return fmt.Errorf("decode blocks of %s/%s: %w", e.CaseRef, e.Key, err)
	}
	ts := ""
	if e.TS == "" {
		posted, err := b.post(ctx, e.Channel, e.ThreadTS, blocks.BlockSet, e.Text)
		if err != nil {
			return err
		}
		ts = posted
		b.link(ctx, CaseMessage{CaseRef: e.CaseRef, Channel: e.Channel, ThreadTS: e.ThreadTS, TS: ts})
	} else if err := b.update(ctx, e.Channel, e.TS, blocks.BlockSet, e.Text); err != nil {
		return err
	}
	if err := b.deps.Outbox.Done(ctx, e, ts); err != nil {
		return fmt.Errorf("mark %s/%s delivered: %w", e.CaseRef, e.Key, err)
	}
	b.log.Info().Str("case", e.CaseRef).Str("key", e.Key).Str("channel", e.Channel).Msg("delivered from the slack outbox")
	return nil
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

// recordFinal puts the thread's final messages in the outbox before
// they are sent: the root's outcome and every analysis page. It returns
// the effects with their versions (nil without an outbox or for native
// streams, which cannot be finished from elsewhere).
func (r *Reporter) recordFinal(ctx context.Context, snap snapshot, pages []*msgState) []Effect {
	if r.b.deps.Outbox == nil || r.stream != nil || r.caseRef == "" {
		return nil
	}
	r.mu.Lock()
	root := r.root
	r.mu.Unlock()
	r.b.reg.mu.Lock()
	st := finalRootState(*root.state, snap)
	r.b.reg.mu.Unlock()
	effects := []Effect{{CaseRef: r.caseRef, Key: "root", Channel: r.channel, TS: root.ts,
		Blocks: mustJSON(rootBlocks(&st)), Text: rootFallback(&st)}}
	texts := splitPages(snap.text, r.b.cfg.MaxMessageChars)
	if len(texts) == 0 {
		texts = []string{""}
	}
	for _, p := range pages {
		if p.streamed {
			return nil
		}
	}
	for i := range texts {
		v := r.view(i, texts, snap)
		e := Effect{CaseRef: r.caseRef, Key: pageKey(i), Channel: r.channel, ThreadTS: root.ts,
			Blocks: mustJSON(pageBlocks(v)), Text: pageFallback(v)}
		if i < len(pages) {
			e.TS = pages[i].ts
		}
		effects = append(effects, e)
	}
	put, err := r.b.deps.Outbox.Put(ctx, effects)
	if err != nil {
		r.log.Warn().Err(err).Msg("record the final thread in the slack outbox")
		return nil
	}
	return put
}

// doneFinal marks the effects the flusher delivered itself.
func (r *Reporter) doneFinal(ctx context.Context, effects []Effect, pages []*msgState, rootOK bool) {
	var errs []error
	for _, e := range effects {
		ts := ""
		if e.Key == "root" {
			if !rootOK {
				continue
			}
		} else {
			i, _ := strconv.Atoi(e.Key[len("page/"):])
			if i >= len(pages) || pages[i].failures >= maxFailures {
				continue
			}
			ts = pages[i].ts
		}
		if err := r.b.deps.Outbox.Done(ctx, e, ts); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		r.log.Warn().Err(err).Msg("mark the final thread delivered in the slack outbox")
	}
}
