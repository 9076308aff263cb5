package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/handlers"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// feedbackAdapter records Slack verdicts in the knowledge base; a ✅
// stores the case's embedding so that it is recalled for similar alerts.
type feedbackAdapter struct {
	st      store
	emb     investigate.Embedder
	metrics *handlers.Metrics
	log     zerolog.Logger
}

var _ bot.FeedbackRecorder = (*feedbackAdapter)(nil)

func (f *feedbackAdapter) RecordFeedback(ctx context.Context, caseRef, user string, correct bool, source string) (bot.Verdict, error) {
	return f.vote(ctx, caseRef, user, correct, false, source)
}

// WithdrawFeedback takes back user's verdict (a removed reaction).
func (f *feedbackAdapter) WithdrawFeedback(ctx context.Context, caseRef, user string, correct bool) (bot.Verdict, error) {
	return f.vote(ctx, caseRef, user, correct, true, bot.SourceReaction)
}

// vote casts or withdraws one verdict. When the outcome may validate the
// case (a ✅, or a withdrawn ❌), the case's embedding goes with it.
func (f *feedbackAdapter) vote(ctx context.Context, caseRef, user string, correct, withdraw bool, source string) (bot.Verdict, error) {
	c, err := f.st.Case(ctx, caseRef)
	if err != nil {
		return bot.Verdict{}, fmt.Errorf("find case %s: %w", caseRef, err)
	}
	var emb []float32
	if correct != withdraw {
		vecs, err := f.emb.Embed(ctx, []string{kb.EmbeddingText(c)})
		if err != nil || len(vecs) != 1 {
			return bot.Verdict{}, fmt.Errorf("embed case %s: %w", caseRef, err)
		}
		emb = vecs[0]
	}
	src := kb.SourceReaction
	if source == bot.SourceButton {
		src = kb.SourceButton
	}
	now := time.Now()
	v, err := f.st.RecordFeedback(ctx, kb.Vote{CaseID: c.ID, User: user, Correct: correct, Source: src, At: now, Withdraw: withdraw}, emb)
	if err != nil {
		return bot.Verdict{}, fmt.Errorf("record feedback on case %s: %w", caseRef, err)
	}
	mark := "❌"
	if correct {
		mark = "✅"
	}
	msg := "recorded " + mark + " feedback"
	if withdraw {
		msg = "withdrew " + mark + " feedback"
	} else {
		f.metrics.Feedback(correct, string(src))
	}
	f.log.Info().Str("case", c.ID).Str("alertname", c.AlertName).Str("category", string(c.Category)).
		Str("user", user).Str("source", string(src)).Bool("validated", v.Validated).Msg(msg)
	return bot.Verdict{CaseRef: c.ID, Correct: correct, User: user, Source: source, At: now, Withdrawn: withdraw}, nil
}

// threadLinks remembers which case each Slack message belongs to, in the
// store: a reaction on a thread's root or on its analysis finds the case
// also after a restart, and on every replica.
type threadLinks struct{ st store }

var (
	_ bot.MessageLinker = (*threadLinks)(nil)
	_ bot.CaseLookup    = (*threadLinks)(nil)
)

// LinkMessage records a root message as the case's thread and any other
// message as one of the thread's. Messages of requests that are not cases
// (nothing recorded) are skipped.
func (l *threadLinks) LinkMessage(ctx context.Context, m bot.CaseMessage) error {
	var err error
	if m.TS == m.ThreadTS {
		err = l.st.SetThread(ctx, m.CaseRef, m.Channel, m.ThreadTS)
	} else {
		err = l.st.LinkMessage(ctx, m.CaseRef, m.Channel, m.TS)
	}
	if err != nil && !errors.Is(err, kb.ErrNotFound) {
		return fmt.Errorf("remember slack message %s/%s of case %s: %w", m.Channel, m.TS, m.CaseRef, err)
	}
	return nil
}

// CaseByMessage finds the case of a thread root or of a linked reply.
func (l *threadLinks) CaseByMessage(ctx context.Context, channel, ts string) (bot.CaseMessage, bool, error) {
	c, err := l.st.CaseByMessage(ctx, channel, ts)
	if errors.Is(err, kb.ErrNotFound) {
		return bot.CaseMessage{}, false, nil
	}
	if err != nil {
		return bot.CaseMessage{}, false, err
	}
	return bot.CaseMessage{CaseRef: c.ID, Channel: channel, ThreadTS: c.ThreadTS, TS: ts}, true, nil
}

// slackOutbox is the bot's outbox in the store, held under this
// process's name for lease (the bot renews it every 15 s).
type slackOutbox struct {
	st    store
	owner string
	lease time.Duration
}

var _ bot.Outbox = (*slackOutbox)(nil)

// newSlackOutbox names this process's hold: host, pid and a random part.
func newSlackOutbox(st store) *slackOutbox {
	host, _ := os.Hostname()
	var r [4]byte
	_, _ = rand.Read(r[:])
	return &slackOutbox{st: st, owner: fmt.Sprintf("%s-%d-%x", host, os.Getpid(), r), lease: time.Minute}
}

func toEffect(e kb.SlackEffect) bot.Effect {
	return bot.Effect{CaseRef: e.CaseID, Key: e.Key, Channel: e.Channel, ThreadTS: e.ThreadTS, TS: e.TS,
		Blocks: e.Blocks, Text: e.Text, Version: e.Version}
}

func (o *slackOutbox) Put(ctx context.Context, effects []bot.Effect) ([]bot.Effect, error) {
	in := make([]kb.SlackEffect, len(effects))
	for i, e := range effects {
		in[i] = kb.SlackEffect{CaseID: e.CaseRef, Key: e.Key, Channel: e.Channel, ThreadTS: e.ThreadTS, TS: e.TS,
			Blocks: e.Blocks, Text: e.Text}
	}
	put, err := o.st.PutSlackEffects(ctx, o.owner, o.lease, in)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Effect, len(put))
	for i, e := range put {
		out[i] = toEffect(e)
	}
	return out, nil
}

func (o *slackOutbox) Claim(ctx context.Context, n int) ([]bot.Effect, error) {
	got, err := o.st.ClaimSlackEffects(ctx, o.owner, o.lease, n)
	if err != nil {
		return nil, err
	}
	out := make([]bot.Effect, len(got))
	for i, e := range got {
		out[i] = toEffect(e)
	}
	return out, nil
}

func (o *slackOutbox) Done(ctx context.Context, e bot.Effect, ts string) error {
	return o.st.SlackEffectDone(ctx, e.CaseRef, e.Key, e.Version, ts)
}

func (o *slackOutbox) Renew(ctx context.Context) error {
	return o.st.RenewSlackEffects(ctx, o.owner, o.lease)
}

func (o *slackOutbox) Release(ctx context.Context) error {
	return o.st.ReleaseSlackEffects(ctx, o.owner)
}

// knowledge serves the App Home and /k8flex kb|stats from the store.
type knowledge struct {
	st        store
	emb       investigate.Embedder
	threshold float64
}

func (k *knowledge) Stats(ctx context.Context) (bot.KnowledgeStats, error) {
	s, err := k.st.Stats(ctx, time.Time{})
	if err != nil {
		return bot.KnowledgeStats{}, err
	}
	out := bot.KnowledgeStats{Cases: s.Overall.Cases, Validated: s.Overall.Correct, Rejected: s.Overall.Incorrect}
	for c, a := range s.ByCategory {
		out.ByCategory = append(out.ByCategory, bot.CategoryStats{Category: c, Cases: a.Cases, Validated: a.Correct, Rejected: a.Incorrect})
	}
	return out, nil
}

func (k *knowledge) Cases(ctx context.Context, q bot.CaseQuery) (bot.CasePage, error) {
	if q.Text != "" {
		vecs, err := k.emb.Embed(ctx, []string{q.Text})
		if err != nil || len(vecs) != 1 {
			return bot.CasePage{}, fmt.Errorf("embed query: %w", err)
		}
		// A short query is less similar to an alert than two alerts are to
		// each other: search below the recall threshold.
		sim, err := k.st.FindSimilar(ctx, vecs[0], k.threshold/2, q.Offset+q.Limit)
		if err != nil {
			return bot.CasePage{}, err
		}
		page := bot.CasePage{Total: len(sim)}
		for i, c := range sim {
			if i >= q.Offset && (q.Category == "" || c.Category == q.Category) {
				page.Cases = append(page.Cases, bot.CaseSummary{ID: c.ID, AlertName: c.AlertName, Category: c.Category,
					Namespace: c.Namespace, Target: c.Target, RootCause: c.RootCause, ThreadURL: c.ThreadURL, CreatedAt: c.CreatedAt})
			}
		}
		return page, nil
	}
	yes := true
	f := kb.Filter{Category: q.Category, Validated: &yes, Limit: q.Limit, Offset: q.Offset}
	cases, err := k.st.ListCases(ctx, f)
	if err != nil {
		return bot.CasePage{}, err
	}
	// A case is validated exactly when its verdict is correct, so the
	// statistics count the pages without listing every case.
	s, err := k.st.Stats(ctx, time.Time{})
	if err != nil {
		return bot.CasePage{}, err
	}
	page := bot.CasePage{Total: s.Overall.Correct}
	if q.Category != "" {
		page.Total = s.ByCategory[q.Category].Correct
	}
	for _, c := range cases {
		page.Cases = append(page.Cases, bot.CaseSummary{ID: c.ID, AlertName: c.AlertName, Category: c.Category,
			Namespace: c.Namespace, Target: c.Target, RootCause: c.RootCause,
			ThreadURL: kb.ThreadLink("", c.Channel, c.ThreadTS), CreatedAt: c.CreatedAt})
	}
	return page, nil
}
