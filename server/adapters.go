package server

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/learn"
)

// feedbackPort is the bot's FeedbackRecorder over the learning loop.
type feedbackPort struct{ loop *learn.Loop }

var _ bot.FeedbackRecorder = feedbackPort{}

// voteSource is the knowledge base's name of a bot verdict's source.
func voteSource(source string) kb.VoteSource {
	if source == bot.SourceButton {
		return kb.SourceButton
	}
	return kb.SourceReaction
}

func (f feedbackPort) RecordFeedback(ctx context.Context, caseRef, user string, correct bool, source string) (bot.Verdict, error) {
	v, err := f.loop.Cast(ctx, learn.Vote{Case: caseRef, User: user, Correct: correct, Source: voteSource(source)})
	if err != nil {
		return bot.Verdict{}, err
	}
	return bot.Verdict{CaseRef: v.Case, Correct: correct, User: user, Source: source, At: v.At}, nil
}

// WithdrawFeedback takes back user's verdict (a removed reaction).
func (f feedbackPort) WithdrawFeedback(ctx context.Context, caseRef, user string, correct bool) (bot.Verdict, error) {
	v, err := f.loop.Cast(ctx, learn.Vote{Case: caseRef, User: user, Correct: correct, Source: kb.SourceReaction, Withdraw: true})
	if err != nil {
		return bot.Verdict{}, err
	}
	return bot.Verdict{CaseRef: v.Case, Correct: correct, User: user, Source: bot.SourceReaction, At: v.At, Withdrawn: true}, nil
}

// threadPort is the bot's MessageLinker and CaseLookup over the learning
// loop: the links live in the store, so a reaction finds its case after a
// restart and on every replica.
type threadPort struct{ loop *learn.Loop }

var (
	_ bot.MessageLinker = threadPort{}
	_ bot.CaseLookup    = threadPort{}
)

func (t threadPort) LinkMessage(ctx context.Context, m bot.CaseMessage) error {
	return t.loop.LinkMessage(ctx, learn.Message{Case: m.CaseRef, Channel: m.Channel, ThreadTS: m.ThreadTS, TS: m.TS})
}

func (t threadPort) CaseByMessage(ctx context.Context, channel, ts string) (bot.CaseMessage, bool, error) {
	m, ok, err := t.loop.CaseByMessage(ctx, channel, ts)
	return bot.CaseMessage{CaseRef: m.Case, Channel: m.Channel, ThreadTS: m.ThreadTS, TS: m.TS}, ok, err
}

// slackOutbox is the bot's outbox in the store, held under this
// process's name for lease (the bot renews it every 15 s).
type slackOutbox struct {
	st    Store
	owner string
	lease time.Duration
}

var _ bot.Outbox = (*slackOutbox)(nil)

// newSlackOutbox names this process's hold: host, pid and a random part.
func newSlackOutbox(st Store) *slackOutbox {
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

// knowledgePort is the bot's KnowledgeBrowser (App Home, /k8flex
// kb|stats) over the learning loop.
type knowledgePort struct{ loop *learn.Loop }

var _ bot.KnowledgeBrowser = knowledgePort{}

func (k knowledgePort) Stats(ctx context.Context) (bot.KnowledgeStats, error) {
	s, err := k.loop.Stats(ctx)
	if err != nil {
		return bot.KnowledgeStats{}, err
	}
	out := bot.KnowledgeStats{Cases: s.Overall.Cases, Validated: s.Overall.Correct, Rejected: s.Overall.Incorrect}
	for c, a := range s.ByCategory {
		out.ByCategory = append(out.ByCategory, bot.CategoryStats{Category: c, Cases: a.Cases, Validated: a.Correct, Rejected: a.Incorrect})
	}
	return out, nil
}

func (k knowledgePort) Cases(ctx context.Context, q bot.CaseQuery) (bot.CasePage, error) {
	p, err := k.loop.Cases(ctx, learn.Query(q))
	if err != nil {
		return bot.CasePage{}, err
	}
	page := bot.CasePage{Total: p.Total}
	for _, c := range p.Cases {
		page.Cases = append(page.Cases, bot.CaseSummary(c))
	}
	return page, nil
}

// slackBudget keeps Slack's rate budget as this process spends it in
// the store, under this process's name, and reads the other processes'.
type slackBudget struct {
	st    Store
	owner string
}

var _ bot.BudgetStore = (*slackBudget)(nil)

func newSlackBudget(st Store) *slackBudget {
	return &slackBudget{st: st, owner: newSlackOutbox(st).owner}
}

func (g *slackBudget) SaveBudget(ctx context.Context, scopes []bot.BudgetScope) error {
	in := make([]kb.SlackBudget, len(scopes))
	for i, sc := range scopes {
		in[i] = kb.SlackBudget{Scope: sc.Scope, Calls: sc.Calls, PauseUntil: sc.PauseUntil}
	}
	return g.st.PutSlackBudget(ctx, g.owner, in)
}

func (g *slackBudget) OthersBudget(ctx context.Context, since time.Time) ([]bot.BudgetScope, error) {
	all, err := g.st.SlackBudgets(ctx, since)
	if err != nil {
		return nil, err
	}
	var out []bot.BudgetScope
	for _, sc := range all {
		if sc.Owner != g.owner {
			out = append(out, bot.BudgetScope{Owner: sc.Owner, Scope: sc.Scope, Calls: sc.Calls, PauseUntil: sc.PauseUntil})
		}
	}
	return out, nil
}

// slackDigests is the knowledge base as the bot's DigestStore.
type slackDigests struct{ st Store }

func (d slackDigests) AddToDigest(ctx context.Context, channel, group string, window time.Duration, m bot.DigestMember) (bot.Digest, error) {
	got, err := d.st.AddToSlackDigest(ctx, channel, group, window, kb.SlackDigestMember{CaseID: m.CaseRef, Workload: m.Workload, Target: m.Target})
	if err != nil {
		return bot.Digest{}, err
	}
	return bot.Digest{Channel: got.Channel, Group: got.Group, CaseRef: got.CaseID, TS: got.TS, Alerts: got.Alerts,
		ByWorkload: got.ByWorkload, Samples: got.Samples, Started: got.Started, Updated: got.Updated}, nil
}

func (d slackDigests) DigestPosted(ctx context.Context, channel, group, ts string) error {
	return d.st.SlackDigestPosted(ctx, channel, group, ts)
}
