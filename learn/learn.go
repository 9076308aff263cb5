// Package learn is K8flex's learning loop: people's verdicts on analyses
// (✅/❌, by reaction or button) are recorded on their case; a case people
// confirm becomes knowledge (its embedding is stored, so the engine recalls
// it for similar alerts) and stops being knowledge when the verdict is
// withdrawn or outvoted. It also remembers which Slack messages belong to
// which case, so that a verdict finds its case after a restart and on every
// replica, and serves the knowledge browser (App Home, /k8flex kb|stats).
//
// It works on the knowledge base (package kb, either backend) and an
// embedder; it knows nothing of Slack's API: the bot reaches it through the
// ports the bot declares, adapted where the process is wired.
package learn

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// Store is the knowledge base as the learning loop uses it; both kb
// backends satisfy it.
type Store interface {
	Case(ctx context.Context, id string) (*kb.Case, error)
	RecordFeedback(ctx context.Context, v kb.Vote, embedding []float32) (kb.CaseVerdict, error)
	SetThread(ctx context.Context, id, channel, ts string) error
	LinkMessage(ctx context.Context, id, channel, ts string) error
	CaseByMessage(ctx context.Context, channel, ts string) (*kb.Case, error)
	FindSimilar(ctx context.Context, embedding []float32, threshold float64, topN int) ([]investigate.SimilarCase, error)
	ListCases(ctx context.Context, f kb.Filter) ([]kb.Case, error)
	Stats(ctx context.Context, since time.Time) (kb.Stats, error)
}

var (
	_ Store = (*kb.Embedded)(nil)
	_ Store = (*kb.Postgres)(nil)
)

// Config configures a Loop.
type Config struct {
	Store    Store
	Embedder investigate.Embedder
	// SimilarThreshold is the engine's recall threshold; a text search of
	// the knowledge browser searches below it (a short query is less
	// similar to an alert than two alerts are to each other).
	SimilarThreshold float64
	// OnVote, when set, observes each verdict cast (not withdrawn).
	OnVote func(correct bool, source kb.VoteSource)
	Log    zerolog.Logger
}

// Loop is the learning loop over one knowledge base. Its methods are safe
// for concurrent use.
type Loop struct {
	st        Store
	emb       investigate.Embedder
	threshold float64
	onVote    func(correct bool, source kb.VoteSource)
	log       zerolog.Logger
}

// New returns the loop c configures; Store and Embedder are required.
func New(c Config) (*Loop, error) {
	if c.Store == nil || c.Embedder == nil {
		return nil, errors.New("learn: Config.Store and Config.Embedder are required")
	}
	return &Loop{st: c.Store, emb: c.Embedder, threshold: c.SimilarThreshold, onVote: c.OnVote, log: c.Log}, nil
}

// Vote is one person's verdict on a case, or its withdrawal.
type Vote struct {
	// Case is the case's id.
	Case    string
	User    string
	Correct bool
	Source  kb.VoteSource
	// Withdraw takes back User's standing verdict Correct (a removed
	// reaction) instead of casting one.
	Withdraw bool
}

// Verdict is a recorded vote and the case's standing after it.
type Verdict struct {
	Vote
	// At is when the vote was recorded.
	At time.Time
	// Validated reports whether the case is knowledge after the vote.
	Validated bool
}

// ErrUnknownCase: the vote names no recorded case.
var ErrUnknownCase = errors.New("no such case")

// Cast records v. When the outcome may validate the case (a ✅, or a
// withdrawn ❌) the case's embedding is computed and stored with the vote,
// so a validated case is always recallable; an embedder failure records
// nothing. A vote on an unknown case wraps ErrUnknownCase.
func (l *Loop) Cast(ctx context.Context, v Vote) (Verdict, error) {
	c, err := l.st.Case(ctx, v.Case)
	if errors.Is(err, kb.ErrNotFound) {
		return Verdict{}, fmt.Errorf("find case %s: %w", v.Case, ErrUnknownCase)
	}
	if err != nil {
		return Verdict{}, fmt.Errorf("find case %s: %w", v.Case, err)
	}
	var emb []float32
	if v.Correct != v.Withdraw {
		if emb, err = l.embed(ctx, kb.EmbeddingText(c)); err != nil {
			return Verdict{}, fmt.Errorf("embed case %s: %w", v.Case, err)
		}
	}
	if v.Source == "" {
		v.Source = kb.SourceReaction
	}
	now := time.Now()
	cv, err := l.st.RecordFeedback(ctx, kb.Vote{CaseID: c.ID, User: v.User, Correct: v.Correct, Source: v.Source, At: now,
		Withdraw: v.Withdraw}, emb)
	if err != nil {
		return Verdict{}, fmt.Errorf("record feedback on case %s: %w", v.Case, err)
	}
	v.Case = c.ID
	l.logVote(c, v, cv.Validated)
	return Verdict{Vote: v, At: now, Validated: cv.Validated}, nil
}

// logVote logs v and counts a cast vote.
func (l *Loop) logVote(c *kb.Case, v Vote, validated bool) {
	mark := "❌"
	if v.Correct {
		mark = "✅"
	}
	msg := "recorded " + mark + " feedback"
	if v.Withdraw {
		msg = "withdrew " + mark + " feedback"
	} else if l.onVote != nil {
		l.onVote(v.Correct, v.Source)
	}
	l.log.Info().Str("case", c.ID).Str("alertname", c.AlertName).Str("category", string(c.Category)).
		Str("user", v.User).Str("source", string(v.Source)).Bool("validated", validated).Msg(msg)
}

// embed returns the embedding of one text.
func (l *Loop) embed(ctx context.Context, text string) ([]float32, error) {
	vecs, err := l.emb.Embed(ctx, []string{text})
	if err != nil {
		return nil, err
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("the embedder returned %d vectors for 1 text", len(vecs))
	}
	return vecs[0], nil
}
