package kb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// Status is where a case is in its life.
type Status string

// Case statuses. A case is queued by Enqueue, running once a worker claimed
// it, then done or failed; resolved once its alert resolved and its analysis
// (if any) finished.
const (
	StatusQueued   Status = "queued"
	StatusRunning  Status = "running"
	StatusDone     Status = "done"
	StatusFailed   Status = "failed"
	StatusResolved Status = "resolved"
)

// Verdict is what people said about a case's analysis.
type Verdict string

// Verdicts. A case is VerdictCorrect (and validated) while its ✅ votes
// outnumber its ❌ votes; VerdictIncorrect once it has votes and is not
// validated; VerdictNone without votes.
const (
	VerdictNone      Verdict = ""
	VerdictCorrect   Verdict = "correct"
	VerdictIncorrect Verdict = "incorrect"
)

// VoteSource says how a vote was given.
type VoteSource string

// Vote sources.
const (
	SourceReaction VoteSource = "reaction"
	SourceButton   VoteSource = "button"
	// SourceLegacy marks votes imported from the original design's feedback.json.
	SourceLegacy VoteSource = "legacy"
)

// Errors callers can test with errors.Is.
var (
	// ErrNotFound is returned for a case id (or thread) the store does not hold.
	ErrNotFound = errors.New("kb: case not found")
	// ErrDimensionMismatch is returned when an embedding, or the configured
	// embedding dimension, differs from the dimension the store records.
	ErrDimensionMismatch = errors.New("kb: embedding dimension mismatch")
	// ErrLeaseLost is returned (wrapped) by Renew when the worker no
	// longer holds the case's lease (it expired and another worker claimed
	// the case, or the case finished): the worker should stop and not
	// complete it. It is the queue port's investigate.ErrLeaseLost.
	ErrLeaseLost = investigate.ErrLeaseLost
	// ErrClosed is returned by every method after Close.
	ErrClosed = errors.New("kb: store is closed")
)

// DefaultMaxAttempts is how often a case is claimed before a case whose
// workers keep dying is marked failed instead of being claimed again.
const DefaultMaxAttempts = 3

// Case is one investigation as the knowledge base keeps it.
type Case struct {
	ID          string               `json:"id"`
	AlertName   string               `json:"alert_name"`
	Severity    string               `json:"severity,omitempty"`
	Category    investigate.Category `json:"category,omitempty"`
	Namespace   string               `json:"namespace,omitempty"`
	Target      string               `json:"target,omitempty"`
	Fingerprint string               `json:"fingerprint,omitempty"`
	StartsAt    time.Time            `json:"starts_at,omitzero"`
	Labels      map[string]string    `json:"labels,omitempty"`
	// Summary is the alert's one-line summary (or the request's question).
	Summary string `json:"summary,omitempty"`

	Analysis  string                `json:"analysis,omitempty"`
	RootCause string                `json:"root_cause,omitempty"`
	Findings  []investigate.Finding `json:"findings,omitempty"`
	// Evidence is the redacted evidence the analysis was written from.
	Evidence investigate.Evidence `json:"evidence,omitzero"`
	Analyzer string               `json:"analyzer,omitempty"`
	Model    string               `json:"model,omitempty"`
	Usage    investigate.Usage    `json:"usage,omitzero"`
	// Error is the (redacted) reason the investigation failed.
	Error string `json:"error,omitempty"`

	Channel  string `json:"channel,omitempty"`
	ThreadTS string `json:"thread_ts,omitempty"`

	Status      Status    `json:"status"`
	Attempts    int       `json:"attempts,omitempty"`
	LeaseOwner  string    `json:"lease_owner,omitempty"`
	LeaseUntil  time.Time `json:"lease_until,omitzero"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	ValidatedAt time.Time `json:"validated_at,omitzero"`
	ResolvedAt  time.Time `json:"resolved_at,omitzero"`

	Verdict   Verdict `json:"verdict,omitempty"`
	Validated bool    `json:"validated,omitempty"`
	// VotedAt is when the latest vote was given.
	VotedAt   time.Time `json:"voted_at,omitzero"`
	Correct   int       `json:"correct_votes,omitempty"`
	Incorrect int       `json:"incorrect_votes,omitempty"`

	// Request is the request the case was created from, so a queued case
	// can be resumed after a restart.
	Request *investigate.Request `json:"request,omitempty"`
	// Embedding is set only while the case is validated.
	Embedding []float32 `json:"embedding,omitempty"`
}

// Vote is one person's ✅ (Correct) or ❌ on a case.
type Vote struct {
	CaseID  string     `json:"case_id"`
	User    string     `json:"user"`
	Correct bool       `json:"correct"`
	Source  VoteSource `json:"source"`
	At      time.Time  `json:"at"`
	// Withdraw removes the person's standing vote instead of casting one
	// (a removed reaction), but only when that vote has the same verdict
	// (Correct) and is not newer than At: removing ✅ after voting ❌
	// leaves the ❌ alone. RecordFeedback recounts either way.
	Withdraw bool `json:"withdraw,omitempty"`
}

// CaseVerdict is a case's standing after a vote.
type CaseVerdict struct {
	CaseID    string  `json:"case_id"`
	Correct   int     `json:"correct"`
	Incorrect int     `json:"incorrect"`
	Validated bool    `json:"validated"`
	Verdict   Verdict `json:"verdict"`
	// Changed is true when the vote flipped the case's validation.
	Changed bool `json:"changed"`
}

// Filter selects cases for ListCases. Zero fields do not filter.
type Filter struct {
	Category  investigate.Category
	AlertName string
	Status    Status
	Validated *bool
	// Query matches case-insensitively in alert name, namespace, target,
	// root cause and analysis.
	Query string
	// Since keeps cases created at or after it.
	Since time.Time
	// Limit caps the page (default 20, at most 500); Offset skips cases.
	Limit  int
	Offset int
}

func (f Filter) limit() int {
	switch {
	case f.Limit <= 0:
		return 20
	case f.Limit > 500:
		return 500
	}
	return f.Limit
}

// Accuracy is the verdict count of a group of cases.
type Accuracy struct {
	Cases     int `json:"cases"`
	Rated     int `json:"rated"`
	Correct   int `json:"correct"`
	Incorrect int `json:"incorrect"`
	// Ratio is Correct/Rated, 0 when nothing was rated.
	Ratio float64 `json:"ratio"`
}

func (a *Accuracy) add(c *Case) {
	a.Cases++
	switch c.Verdict {
	case VerdictCorrect:
		a.Rated++
		a.Correct++
	case VerdictIncorrect:
		a.Rated++
		a.Incorrect++
	}
}

func (a *Accuracy) finish() {
	if a.Rated > 0 {
		a.Ratio = float64(a.Correct) / float64(a.Rated)
	}
}

// Stats is the accuracy of the cases created since a time.
type Stats struct {
	Since      time.Time                         `json:"since,omitzero"`
	Overall    Accuracy                          `json:"overall"`
	ByCategory map[investigate.Category]Accuracy `json:"by_category"`
	ByAlert    map[string]Accuracy               `json:"by_alert"`
	Votes      int                               `json:"votes"`
}

// newID returns a time-ordered random id in UUID text form (version 7:
// 48 bits of Unix milliseconds, then 74 random bits). Ids of cases made
// one after another sort together, so the stores' indexes on the id
// (bbolt buckets, PostgreSQL's primary key) grow at their end instead of
// splitting pages all over the file.
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[6:]) // never fails (crypto/rand panics instead)
	ms := uint64(time.Now().UnixMilli())
	b[0], b[1], b[2], b[3], b[4], b[5] = byte(ms>>40), byte(ms>>32), byte(ms>>24), byte(ms>>16), byte(ms>>8), byte(ms)
	b[6] = b[6]&0x0f | 0x70
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// alertKey returns the dedup key, fingerprint and startsAt of a request's
// alert; all empty for a request without an alert.
func alertKey(r *investigate.Request) (key, fingerprint string, startsAt time.Time) {
	if r.Alert == nil {
		return "", "", time.Time{}
	}
	key = r.Alert.Key()
	fingerprint, _, _ = strings.Cut(key, "@")
	return key, fingerprint, r.Alert.StartsAt.UTC()
}

// caseFromRequest builds the queued case of a request.
func caseFromRequest(id string, r *investigate.Request, now time.Time) *Case {
	req := *r
	req.ID = id
	_, fp, startsAt := alertKey(&req)
	t := req.EffectiveTarget()
	c := &Case{
		ID:          id,
		AlertName:   req.AlertName(),
		Category:    req.Category,
		Namespace:   t.Namespace,
		Target:      targetString(t),
		Fingerprint: fp,
		StartsAt:    startsAt,
		Summary:     redact.String(req.Question),
		Status:      StatusQueued,
		CreatedAt:   now,
		UpdatedAt:   now,
		Request:     &req,
	}
	if req.Alert != nil {
		c.Severity = req.Alert.Severity()
		c.Labels = req.Alert.Labels
		c.Summary = redact.String(req.Alert.Summary())
	}
	return c
}

func targetString(t investigate.Target) string {
	if t.IsZero() {
		return ""
	}
	return t.String()
}

// applyResult writes an investigation's outcome into c (creating the
// request-derived fields when c is new) and sets its final status.
func applyResult(c *Case, r *investigate.Result, now time.Time) {
	if c.CreatedAt.IsZero() {
		req := r.Request
		if req == nil {
			req = &investigate.Request{}
		}
		*c = *caseFromRequest(r.ID, req, now)
		if !r.StartedAt.IsZero() {
			c.CreatedAt = r.StartedAt.UTC()
		}
	}
	if r.Request != nil && c.Request == nil {
		req := *r.Request
		req.ID = c.ID
		c.Request = &req
	}
	if r.Categorization.Category != "" {
		c.Category = r.Categorization.Category
	}
	t := r.Target
	if !r.Evidence.Target.IsZero() {
		t = r.Evidence.Target
	}
	if !t.IsZero() {
		c.Target = targetString(t)
		if t.Namespace != "" {
			c.Namespace = t.Namespace
		}
	}
	c.Analysis = redact.String(r.Analysis.Text)
	c.RootCause = redact.String(r.RootCause())
	c.Findings = r.Findings
	c.Evidence = redactEvidence(r.Evidence)
	c.Analyzer = r.Analysis.Analyzer
	c.Model = r.Analysis.Model
	c.Usage = r.Analysis.Usage
	c.Error = redact.String(r.Err)
	c.Status = StatusDone
	if r.Err != "" && r.Analysis.Text == "" {
		c.Status = StatusFailed
	}
	if !c.ResolvedAt.IsZero() {
		c.Status = StatusResolved
	}
	c.LeaseOwner, c.LeaseUntil = "", time.Time{}
	c.UpdatedAt = now
}

// redactEvidence returns e with every section body redacted (bodies should
// already be; this is the store's own guarantee).
func redactEvidence(e investigate.Evidence) investigate.Evidence {
	out := e
	out.Sections = make([]investigate.Section, len(e.Sections))
	for i, s := range e.Sections {
		s.Body = redact.String(s.Body)
		out.Sections[i] = s
	}
	if len(out.Sections) == 0 {
		out.Sections = nil
	}
	return out
}

// verdictOf derives the verdict from vote counts.
func verdictOf(correct, incorrect int) (Verdict, bool) {
	switch {
	case correct > incorrect:
		return VerdictCorrect, true
	case correct+incorrect > 0:
		return VerdictIncorrect, false
	}
	return VerdictNone, false
}

// validateVote checks a vote's fields.
func validateVote(v *Vote) error {
	if v.CaseID == "" {
		return errors.New("kb: vote has no case id")
	}
	if v.User == "" {
		return errors.New("kb: vote has no user")
	}
	if v.At.IsZero() {
		v.At = time.Now()
	}
	v.At = v.At.UTC()
	if v.Source == "" {
		v.Source = SourceReaction
	}
	return nil
}

// checkDims verifies an embedding's dimension.
func checkDims(emb []float32, dims int) error {
	if len(emb) != dims {
		return fmt.Errorf("%w: embedding has %d dimensions, the store holds %d", ErrDimensionMismatch, len(emb), dims)
	}
	return nil
}

// dimensionError reports a store recorded with another dimension.
func dimensionError(stored, configured int) error {
	return fmt.Errorf("%w: the knowledge base holds %d-dimension embeddings but the embedder gives %d; run `k8flex kb reembed` to re-embed the validated cases with the current embedder",
		ErrDimensionMismatch, stored, configured)
}

// ThreadLink returns the link to a Slack thread: an https permalink under
// workspaceURL (e.g. "https://acme.slack.com") when set, else a
// "slack://channel/<channel>/<ts>" reference. It returns "" without a thread.
func ThreadLink(workspaceURL, channel, ts string) string {
	if channel == "" || ts == "" {
		return ""
	}
	if workspaceURL != "" {
		return strings.TrimRight(workspaceURL, "/") + "/archives/" + channel + "/p" + strings.ReplaceAll(ts, ".", "")
	}
	return "slack://channel/" + channel + "/" + ts
}

// similarOf renders a case as a recalled similar case.
func similarOf(c *Case, similarity float64, workspaceURL string) investigate.SimilarCase {
	return investigate.SimilarCase{
		ID:         c.ID,
		AlertName:  c.AlertName,
		Category:   c.Category,
		Namespace:  c.Namespace,
		Target:     c.Target,
		Similarity: similarity,
		RootCause:  c.RootCause,
		Analysis:   c.Analysis,
		ThreadURL:  ThreadLink(workspaceURL, c.Channel, c.ThreadTS),
		CreatedAt:  c.CreatedAt,
	}
}

// EmbeddingText is the text a case is embedded from when it is validated
// or re-embedded: the same text the engine embeds an incoming alert from
// (investigate.EmbeddingText), so that recall compares like with like.
// Cases imported without their request fall back to alert name, severity,
// category and summary.
func EmbeddingText(c *Case) string {
	if c.Request != nil {
		return investigate.EmbeddingText(c.Request, c.Category)
	}
	parts := []string{c.AlertName}
	if c.Severity != "" {
		parts = append(parts, "severity "+c.Severity)
	}
	if c.Category != "" {
		parts = append(parts, "category "+string(c.Category))
	}
	if c.Summary != "" {
		parts = append(parts, c.Summary)
	}
	return strings.Join(parts, " ")
}

// normalize returns v scaled to unit length (a copy), so cosine similarity
// is a dot product. A zero vector stays zero.
func normalize(v []float32) []float32 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	out := make([]float32, len(v))
	if s == 0 {
		return out
	}
	inv := float32(1 / math.Sqrt(s))
	for i, x := range v {
		out[i] = x * inv
	}
	return out
}

func matchesQuery(c *Case, q string) bool {
	if q == "" {
		return true
	}
	q = strings.ToLower(q)
	for _, s := range []string{c.AlertName, c.Namespace, c.Target, c.RootCause, c.Analysis} {
		if strings.Contains(strings.ToLower(s), q) {
			return true
		}
	}
	return false
}

// matches reports whether c passes the filter's field conditions.
func (f Filter) matches(c *Case) bool {
	switch {
	case f.Category != "" && c.Category != f.Category:
		return false
	case f.AlertName != "" && c.AlertName != f.AlertName:
		return false
	case f.Status != "" && c.Status != f.Status:
		return false
	case f.Validated != nil && c.Validated != *f.Validated:
		return false
	case !f.Since.IsZero() && c.CreatedAt.Before(f.Since):
		return false
	}
	return matchesQuery(c, f.Query)
}

// reembedBatch is how many texts Reembed passes to embed at once.
const reembedBatch = 64

// embedAll embeds the cases' EmbeddingText in batches, checking dimensions.
func embedAll(ctx context.Context, embed func(ctx context.Context, texts []string) ([][]float32, error), cases []*Case, dims int) ([][]float32, error) {
	out := make([][]float32, 0, len(cases))
	for start := 0; start < len(cases); start += reembedBatch {
		end := min(start+reembedBatch, len(cases))
		texts := make([]string, 0, end-start)
		for _, c := range cases[start:end] {
			texts = append(texts, EmbeddingText(c))
		}
		vecs, err := embed(ctx, texts)
		if err != nil {
			return nil, fmt.Errorf("embed cases %d-%d: %w", start, end-1, err)
		}
		if len(vecs) != len(texts) {
			return nil, fmt.Errorf("embed cases %d-%d: got %d vectors for %d texts", start, end-1, len(vecs), len(texts))
		}
		for _, v := range vecs {
			if err := checkDims(v, dims); err != nil {
				return nil, err
			}
		}
		out = append(out, vecs...)
	}
	return out, nil
}
