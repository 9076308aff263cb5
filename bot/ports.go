package bot

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// Feedback sources passed to FeedbackRecorder.
const (
	SourceReaction = "slack-reaction"
	SourceButton   = "slack-button"
)

// Verdict is a recorded human judgement of one case's analysis.
type Verdict struct {
	CaseRef string
	Correct bool
	User    string
	Source  string
	At      time.Time
	// Withdrawn is true when User took back an earlier verdict Correct
	// (removed the reaction) instead of giving one.
	Withdrawn bool
}

// FeedbackRecorder records a verdict on a case: correct validates it (it
// becomes knowledge), incorrect rejects it. A later verdict replaces an
// earlier one by the same user.
//
// WithdrawFeedback takes back user's standing verdict correct (a removed
// reaction); a verdict of the other kind, or none, is left alone.
type FeedbackRecorder interface {
	RecordFeedback(ctx context.Context, caseRef, user string, correct bool, source string) (Verdict, error)
	WithdrawFeedback(ctx context.Context, caseRef, user string, correct bool) (Verdict, error)
}

// CaseMessage ties a Slack message to the case it reports: the root
// message of a thread or one of its analysis replies.
type CaseMessage struct {
	CaseRef  string
	Channel  string
	ThreadTS string // the root message's ts
	TS       string // the message's own ts (== ThreadTS for the root)
}

// CaseLookup finds the case a Slack message belongs to. found is false
// (and err nil) for a message K8flex did not post.
type CaseLookup interface {
	CaseByMessage(ctx context.Context, channel, ts string) (m CaseMessage, found bool, err error)
}

// MessageLinker remembers which case a posted message belongs to, so a
// reaction on it finds the case again (also after a restart).
type MessageLinker interface {
	LinkMessage(ctx context.Context, m CaseMessage) error
}

// KnowledgeStats are the knowledge base's totals and accuracy.
type KnowledgeStats struct {
	Cases     int // every recorded investigation
	Validated int // confirmed correct (✅)
	Rejected  int // marked incorrect (❌)
	// ByCategory lists the same counts per category, in any order.
	ByCategory []CategoryStats
}

// CategoryStats are the verdict counts of one category.
type CategoryStats struct {
	Category  investigate.Category
	Cases     int
	Validated int
	Rejected  int
}

// Accuracy returns validated/(validated+rejected), and false when nobody
// judged anything yet.
func Accuracy(validated, rejected int) (float64, bool) {
	if validated+rejected == 0 {
		return 0, false
	}
	return float64(validated) / float64(validated+rejected), true
}

// CaseQuery selects validated cases for the knowledge browser.
type CaseQuery struct {
	// Category filters by category when set.
	Category investigate.Category
	// Text, when set, asks for the cases most similar to it.
	Text   string
	Offset int
	Limit  int
}

// CaseSummary is one validated case as the knowledge browser lists it.
type CaseSummary struct {
	ID        string
	AlertName string
	Category  investigate.Category
	Namespace string
	Target    string
	RootCause string
	ThreadURL string
	CreatedAt time.Time
}

// CasePage is one page of a CaseQuery's result; Total counts all matches.
type CasePage struct {
	Cases []CaseSummary
	Total int
}

// KnowledgeBrowser serves the App Home and /k8flex kb and stats.
type KnowledgeBrowser interface {
	Stats(ctx context.Context) (KnowledgeStats, error)
	Cases(ctx context.Context, q CaseQuery) (CasePage, error)
}

// Deps are the ports the bot consumes. Nil ports disable what needs them
// (the bot says so to the user). A nil Cases uses Links when Links is
// also a CaseLookup; otherwise a nil Cases/Links uses an in-memory
// MessageIndex, which forgets links at restart.
type Deps struct {
	// Queue records the investigations people ask for with /k8flex, like
	// alerts: the worker that claims one reports it through ReporterFor,
	// in the asker's channel.
	Queue     investigate.Enqueuer
	Feedback  FeedbackRecorder
	Cases     CaseLookup
	Links     MessageLinker
	Knowledge KnowledgeBrowser
	// Outbox, when set, keeps final threads until Slack took them, so
	// they are finished after a restart.
	Outbox Outbox
	// Budget, when set, keeps Slack's rate budget as this process spends
	// it and gives what the previous process (and replicas) spent: a
	// restart does not start from a full budget.
	Budget BudgetStore
	// Digests, when set, keeps storm digests: while a channel's backlog
	// is above what Slack carries in a minute, investigations of gone
	// targets are counted in one digest message instead of a thread each
	// (digest.go). Backlog returns how many alerts wait to be
	// investigated (the durable queue's depth); without it only the posts
	// waiting in this process count.
	Digests DigestStore
	Backlog func(ctx context.Context) (int, error)
	// OnAPICall, when set, observes every Slack Web API call: its method
	// (e.g. "chat.update") and result ("ok", "rate_limited" or "error").
	OnAPICall func(method, result string)
	// OnDelivery, when set, observes each lasting thread message (root
	// post, final analysis, note) the bot delivered ("delivered") or
	// dropped because Slack refused it ("refused"), by Web API method.
	OnDelivery func(method, outcome string)
	// OnRetry, when set, observes each call to be made again: answered
	// 429 ("rate_limited") or not answered ("unreachable").
	OnRetry func(method, reason string)
}

// MessageIndex is an in-memory CaseLookup and MessageLinker.
type MessageIndex struct {
	mu sync.Mutex
	m  map[string]CaseMessage
}

// NewMessageIndex returns an empty index.
func NewMessageIndex() *MessageIndex { return &MessageIndex{m: map[string]CaseMessage{}} }

// LinkMessage implements MessageLinker.
func (x *MessageIndex) LinkMessage(_ context.Context, m CaseMessage) error {
	if m.Channel == "" || m.TS == "" || m.CaseRef == "" {
		return errors.New("link message: channel, ts and case are required")
	}
	x.mu.Lock()
	defer x.mu.Unlock()
	x.m[m.Channel+"/"+m.TS] = m
	return nil
}

// CaseByMessage implements CaseLookup.
func (x *MessageIndex) CaseByMessage(_ context.Context, channel, ts string) (CaseMessage, bool, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	m, ok := x.m[channel+"/"+ts]
	return m, ok, nil
}

var (
	_ CaseLookup    = (*MessageIndex)(nil)
	_ MessageLinker = (*MessageIndex)(nil)
)
