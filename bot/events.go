package bot

import (
	"context"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// eventLoop reads Socket Mode events, acknowledges each envelope at once
// (Slack wants it within 3 s) and hands the work to the pool. When the
// pool is full the work is dropped and logged; Slack is never left
// without an ack.
func (b *Bot) eventLoop(ctx context.Context, sm *socketmode.Client, jobs chan<- func(context.Context)) {
	submit := func(kind string, job func(context.Context)) bool {
		select {
		case jobs <- job:
			return true
		default:
			b.log.Warn().Str("event", kind).Msg("event pool full; dropping slack event")
			return false
		}
	}
	for {
		var evt socketmode.Event
		select {
		case <-ctx.Done():
			return
		case evt = <-sm.Events:
		}
		switch evt.Type {
		case socketmode.EventTypeConnected:
			b.connected.Store(true)
			b.log.Info().Msg("socket mode connected")
		case socketmode.EventTypeConnecting, socketmode.EventTypeDisconnect, socketmode.EventTypeInvalidAuth:
			b.connected.Store(false)
		case socketmode.EventTypeConnectionError:
			b.connected.Store(false)
			if ce, ok := evt.Data.(*slack.ConnectionErrorEvent); ok {
				b.log.Warn().Err(ce.ErrorObj).Int("attempt", ce.Attempt).Dur("backoff", ce.Backoff).Msg("socket mode connection error")
			}
		case socketmode.EventTypeEventsAPI:
			b.ack(ctx, sm, evt.Request, nil)
			if e, ok := evt.Data.(slackevents.EventsAPIEvent); ok {
				submit("events_api", func(ctx context.Context) { b.handleEventsAPI(ctx, e) })
			}
		case socketmode.EventTypeSlashCommand:
			cmd, ok := evt.Data.(slack.SlashCommand)
			if !ok {
				b.ack(ctx, sm, evt.Request, nil)
				continue
			}
			reply, job := b.slashCommand(cmd)
			b.ack(ctx, sm, evt.Request, reply)
			if job != nil && !submit("slash_commands", job) {
				b.ephemeral(ctx, cmd.ChannelID, cmd.UserID, "⏳ K8flex is busy right now; please try again in a minute.")
			}
		case socketmode.EventTypeInteractive:
			cb, ok := evt.Data.(slack.InteractionCallback)
			b.ack(ctx, sm, evt.Request, nil)
			if ok {
				submit("interactive", func(ctx context.Context) { b.handleInteraction(ctx, cb) })
			}
		}
	}
}

func (b *Bot) ack(ctx context.Context, sm *socketmode.Client, req *socketmode.Request, payload any) {
	if req == nil || req.EnvelopeID == "" {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if err := sm.AckCtx(actx, req.EnvelopeID, payload); err != nil {
		b.log.Warn().Err(err).Str("envelope", req.EnvelopeID).Msg("ack slack envelope")
	}
}

func (b *Bot) handleEventsAPI(ctx context.Context, e slackevents.EventsAPIEvent) {
	switch ev := e.InnerEvent.Data.(type) {
	case *slackevents.ReactionAddedEvent:
		b.handleReaction(ctx, ev)
	case *slackevents.ReactionRemovedEvent:
		b.handleReactionRemoved(ctx, ev)
	case *slackevents.AppHomeOpenedEvent:
		if ev.Tab == "" || ev.Tab == "home" {
			b.publishHome(ctx, ev.User, homeState{})
		}
	}
}

// verdictReaction maps a reaction name to a verdict.
func verdictReaction(name string) (correct, ok bool) {
	switch name {
	case "white_check_mark", "heavy_check_mark", "ballot_box_with_check":
		return true, true
	case "x", "negative_squared_cross_mark":
		return false, true
	}
	return false, false
}

func (b *Bot) handleReaction(ctx context.Context, ev *slackevents.ReactionAddedEvent) {
	correct, ok := verdictReaction(ev.Reaction)
	if !ok || ev.Item.Type != "message" || ev.User == "" || ev.User == b.botUserID() {
		return
	}
	m, found, err := b.deps.Cases.CaseByMessage(ctx, ev.Item.Channel, ev.Item.Timestamp)
	if err != nil {
		b.log.Error().Err(err).Msg("look up case of reacted message")
		return
	}
	if !found {
		return // not one of ours
	}
	b.recordVerdict(ctx, m, ev.User, correct, SourceReaction, nil)
}

// handleReactionRemoved withdraws the verdict a removed ✅/❌ reaction gave.
func (b *Bot) handleReactionRemoved(ctx context.Context, ev *slackevents.ReactionRemovedEvent) {
	correct, ok := verdictReaction(ev.Reaction)
	if !ok || ev.Item.Type != "message" || ev.User == "" || ev.User == b.botUserID() || b.deps.Feedback == nil {
		return
	}
	m, found, err := b.deps.Cases.CaseByMessage(ctx, ev.Item.Channel, ev.Item.Timestamp)
	if err != nil || !found {
		if err != nil {
			b.log.Error().Err(err).Msg("look up case of un-reacted message")
		}
		return
	}
	log := b.log.With().Str("case", m.CaseRef).Str("user", ev.User).Bool("correct", correct).Logger()
	v, err := b.deps.Feedback.WithdrawFeedback(ctx, m.CaseRef, ev.User, correct)
	if err != nil {
		log.Error().Err(err).Msg("withdraw feedback")
		return
	}
	v.User, v.Correct, v.Withdrawn = ev.User, correct, true
	if v.At.IsZero() {
		v.At = time.Now()
	}
	log.Info().Msg("feedback withdrawn")
	b.showVerdict(ctx, m, v, nil)
}

// recordVerdict records a verdict, shows it on the case's final message
// and republishes the judge's App Home. blocks are the message's current
// blocks when the caller has them (a button click).
func (b *Bot) recordVerdict(ctx context.Context, m CaseMessage, user string, correct bool, source string, clicked *slack.InteractionCallback) {
	log := b.log.With().Str("case", m.CaseRef).Str("user", user).Bool("correct", correct).Str("source", source).Logger()
	if b.deps.Feedback == nil {
		log.Warn().Msg("verdict ignored: no feedback recorder configured")
		return
	}
	v, err := b.deps.Feedback.RecordFeedback(ctx, m.CaseRef, user, correct, source)
	if err != nil {
		log.Error().Err(err).Msg("record feedback")
		if clicked != nil {
			b.ephemeral(ctx, clicked.Channel.ID, user, "⚠️ Sorry, your verdict could not be recorded. Please try again.")
		}
		return
	}
	if v.User == "" {
		v.User = user
	}
	if v.At.IsZero() {
		v.At = time.Now()
	}
	v.Correct = correct
	log.Info().Msg("feedback recorded")
	b.showVerdict(ctx, m, v, clicked)
	if clicked != nil {
		msg := "✅ Thanks! You confirmed this analysis; it now helps with similar incidents."
		if !correct {
			msg = "❌ Thanks! The analysis is marked incorrect and will not be used as knowledge."
		}
		b.ephemeral(ctx, clicked.Channel.ID, user, msg)
	}
	if b.deps.Knowledge != nil {
		b.publishHome(ctx, user, homeState{})
	}
}

// showVerdict replaces the buttons of the final message with the
// verdict; when the message is not known (posted before a restart, or a
// native stream) a thread reply says it instead. The change of a case's
// message is recorded in the outbox and delivered like its thread: it
// survives a restart and waits for Slack's budget ahead of streaming.
func (b *Bot) showVerdict(ctx context.Context, m CaseMessage, v Verdict, clicked *slack.InteractionCallback) {
	f := b.reg.final(m.CaseRef)
	var blocks []slack.Block
	var channel, ts, thread, key string
	switch {
	case f != nil && !f.streamed:
		b.reg.mu.Lock()
		blocks = verdictBlocks(f.blocks, v)
		f.blocks = blocks
		channel, ts, thread, key = f.channel, f.ts, f.threadTS, f.key
		b.reg.mu.Unlock()
	case f == nil && clicked != nil && len(clicked.Message.Blocks.BlockSet) > 0:
		blocks = verdictBlocks(clicked.Message.Blocks.BlockSet, v)
		channel, ts, thread = clicked.Channel.ID, clicked.Container.MessageTs, clicked.Container.ThreadTs
	}
	if blocks != nil && ts != "" {
		if key == "" {
			key = "verdict/" + ts
		}
		b.deliverThread(ctx, []Effect{{CaseRef: m.CaseRef, Key: key, Channel: channel, ThreadTS: thread, TS: ts,
			Blocks: mustJSON(blocks), Text: "Verdict recorded"}})
		return
	}
	thread = m.ThreadTS
	if thread == "" {
		thread = m.TS
	}
	if _, err := b.post(ctx, m.Channel, thread, []slack.Block{verdictBlock(v)}, "Verdict recorded"); err != nil {
		b.log.Warn().Err(err).Msg("post verdict reply")
	}
}

func (b *Bot) handleInteraction(ctx context.Context, cb slack.InteractionCallback) {
	switch cb.Type {
	case slack.InteractionTypeBlockActions:
		for _, a := range cb.ActionCallback.BlockActions {
			switch a.ActionID {
			case actionCorrect, actionIncorrect:
				m := CaseMessage{CaseRef: a.Value, Channel: cb.Channel.ID, TS: cb.Container.MessageTs, ThreadTS: cb.Container.ThreadTs}
				if m.CaseRef == "" {
					continue
				}
				b.recordVerdict(ctx, m, cb.User.ID, a.ActionID == actionCorrect, SourceButton, &cb)
			case actionHomeCategory, actionHomePage, actionHomeNext, actionHomeClear:
				b.publishHome(ctx, cb.User.ID, homeStateFromAction(cb.View.PrivateMetadata, a))
			case actionHomeSearch:
				b.openSearch(ctx, cb.TriggerID, cb.View.PrivateMetadata)
			}
		}
	case slack.InteractionTypeViewSubmission:
		if cb.View.CallbackID == callbackSearch {
			b.publishHome(ctx, cb.User.ID, homeStateFromSearch(cb.View))
		}
	}
}

// ephemeral tells one user something only they see.
func (b *Bot) ephemeral(ctx context.Context, channel, user, text string) {
	b.ephemeralBlocks(ctx, channel, user, []slack.Block{section(text)}, text)
}

func (b *Bot) ephemeralBlocks(ctx context.Context, channel, user string, blocks []slack.Block, fallback string) {
	if channel == "" || user == "" {
		return
	}
	_, _, err := b.withRetry(ctx, "chat.postEphemeral", func() (string, string, error) {
		ts, err := b.api.PostEphemeralContext(ctx, channel, user, slack.MsgOptionBlocks(blocks...), slack.MsgOptionText(truncate(fallback, MaxFallbackChars), false))
		return channel, ts, err
	})
	if err != nil {
		b.log.Warn().Err(err).Str("user", user).Msg("post ephemeral message")
	}
}
