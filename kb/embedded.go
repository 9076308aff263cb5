package kb

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/redact"
)

// EmbeddedConfig configures the embedded (bbolt) backend.
type EmbeddedConfig struct {
	// Dimensions is the embedding dimension of the configured embedder.
	Dimensions int
	// WorkspaceURL (e.g. "https://acme.slack.com") turns Slack threads into
	// https permalinks in FindSimilar; empty gives slack:// references.
	WorkspaceURL string
	// MaxAttempts bounds how often a case is claimed (DefaultMaxAttempts when 0).
	MaxAttempts int
	// AllowDimensionChange opens a store recorded with another dimension
	// (for `k8flex kb reembed` only); search and validation keep the stored
	// dimension until Reembed runs.
	AllowDimensionChange bool
	// OpenTimeout bounds the wait for the file lock held by another
	// process (default 2s): the embedded store serves one process only.
	OpenTimeout time.Duration
}

// Validate reports the first invalid field, naming its config key.
func (c EmbeddedConfig) Validate() error {
	switch {
	case c.Dimensions <= 0:
		return fmt.Errorf("kb.dimensions must be positive (got %d)", c.Dimensions)
	case c.MaxAttempts < 0:
		return fmt.Errorf("kb.max_attempts must not be negative (got %d)", c.MaxAttempts)
	}
	return nil
}

// Embedded is the single-file knowledge base and queue (bbolt). One
// process only: the file is locked while open. Safe for concurrent use.
type Embedded struct {
	db  *bolt.DB
	log zerolog.Logger
	cfg EmbeddedConfig
	// idx holds the validated embeddings and their dimension; Reembed
	// swaps it whole.
	idx      atomic.Pointer[vectorIndex]
	maxTries int
	// wmu orders writes that change embeddings with their index updates.
	wmu sync.Mutex
	// held is who holds which Slack effect (see outbox.go).
	heldMu sync.Mutex
	held   map[string]heldEffect
}

var (
	_ investigate.CaseStore = (*Embedded)(nil)
	_ investigate.Queue     = (*Embedded)(nil)
)

var (
	bMeta    = []byte("meta")
	bCases   = []byte("cases")   // id -> case head (JSON, no heavy fields)
	bBodies  = []byte("bodies")  // id -> case body (deflated JSON, see encodeBody)
	bEmb     = []byte("emb")     // id -> embedding (validated cases only)
	bKeys    = []byte("keys")    // alert key -> id
	bThreads = []byte("threads") // channel \x00 ts -> id
	bVotes   = []byte("votes")   // id \x00 user -> vote (JSON)
	bQueue   = []byte("queue")   // created key -> id, queued or running cases
	bCreated = []byte("created") // created key -> id, every case
	// bIncidents: hashed fold key -> opened (8 bytes, Unix ns) + leader id;
	// bIncidentsAt: opened + hashed key -> nil, oldest first (see OpenIncident).
	bIncidents   = []byte("incidents")
	bIncidentsAt = []byte("incidents_at")
	// bMessages: channel \x00 ts -> id, the other Slack messages of a
	// case's thread (LinkMessage).
	bMessages = []byte("messages")
)

// caseBody holds the large fields of a case, stored apart so scans of
// heads (stats, lists) stay cheap.
type caseBody struct {
	Analysis string                `json:"analysis,omitempty"`
	Findings []investigate.Finding `json:"findings,omitempty"`
	Evidence investigate.Evidence  `json:"evidence,omitzero"`
	Request  *investigate.Request  `json:"request,omitempty"`
}

// OpenEmbedded opens (creating if needed) the knowledge base file at path.
func OpenEmbedded(path string, cfg EmbeddedConfig, log zerolog.Logger) (*Embedded, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.OpenTimeout == 0 {
		cfg.OpenTimeout = 2 * time.Second
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: cfg.OpenTimeout, FreelistType: bolt.FreelistMapType, NoFreelistSync: true})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open kb %s: locked by another process (the embedded store serves one replica; use PostgreSQL for several): %w", path, err)
		}
		return nil, fmt.Errorf("open kb %s: %w", path, err)
	}
	db.MaxBatchDelay = 2 * time.Millisecond
	s := &Embedded{db: db, log: log, cfg: cfg, maxTries: cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)}
	if err := s.init(); err != nil {
		_ = db.Close()
		return nil, err
	}
	n, err := s.requeueRunning()
	if err != nil {
		_ = db.Close()
		return nil, err
	}
	if n > 0 {
		log.Warn().Int("cases", n).Msg("requeued cases that were running when the previous process stopped")
	}
	log.Info().Str("path", path).Int("dimensions", s.Dimensions()).Int("validated", s.idx.Load().len()).Msg("embedded knowledge base open")
	return s, nil
}

func (s *Embedded) init() error {
	return s.db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bMeta, bCases, bBodies, bEmb, bKeys, bThreads, bMessages, bVotes, bQueue, bCreated, bIncidents, bIncidentsAt, bOutbox, bBudget, bDigests, bDigestMembers} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return fmt.Errorf("create bucket %s: %w", b, err)
			}
		}
		meta := tx.Bucket(bMeta)
		dims := s.cfg.Dimensions
		if v := meta.Get([]byte("dimensions")); v != nil {
			stored, err := strconv.Atoi(string(v))
			if err != nil {
				return fmt.Errorf("read kb dimensions %q: %w", v, err)
			}
			if stored != s.cfg.Dimensions {
				if !s.cfg.AllowDimensionChange {
					return dimensionError(stored, s.cfg.Dimensions)
				}
				dims = stored
			}
		} else if err := meta.Put([]byte("dimensions"), []byte(strconv.Itoa(dims))); err != nil {
			return fmt.Errorf("record kb dimensions: %w", err)
		}
		idx := newVectorIndex(dims)
		s.idx.Store(idx)
		return tx.Bucket(bEmb).ForEach(func(k, v []byte) error {
			if len(v) != 4*dims {
				return fmt.Errorf("case %s: %w: embedding has %d dimensions, the store records %d", k, ErrDimensionMismatch, len(v)/4, dims)
			}
			idx.set(string(k), decodeVector(v))
			return nil
		})
	})
}

// Close closes the file. Methods return ErrClosed afterwards.
func (s *Embedded) Close() error {
	return s.db.Close()
}

// Dimensions returns the embedding dimension the store holds.
func (s *Embedded) Dimensions() int { return s.idx.Load().dims }

// fills is how full bbolt packs the pages of the buckets keyed in
// creation order (case ids are time-ordered, created keys start with the
// time): new keys land at the end, so a page is filled once and then only
// rewritten in place. Index entries never grow: their pages are packed.
// A head grows by half between its enqueue and its conclusion (lease,
// root cause, usage) and a deflated body two- to threefold (evidence,
// findings, analysis): their pages keep room, so that they do not all
// split when their cases conclude. Measured on 10,000 concluded gone-pod
// cases of the built-in analyser (BenchmarkStormGonePods' shape): heads
// take 8.0 MiB of pages instead of 13.3 MiB packed to 70%, bodies 12.4 MiB.
var fills = []struct {
	bucket []byte
	fill   float64
}{{bCases, 0.55}, {bBodies, 0.5}, {bCreated, 0.9}, {bQueue, 0.9}}

// packed runs fn after setting the fill of the append-ordered buckets
// (FillPercent lasts for one transaction).
func packed(fn func(tx *bolt.Tx) error) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, f := range fills {
			if b := tx.Bucket(f.bucket); b != nil {
				b.FillPercent = f.fill
			}
		}
		return fn(tx)
	}
}

func (s *Embedded) update(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(packed(fn))
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// batch is update for writes that may share a transaction with
// concurrent callers (bbolt's Batch); fn must be safe to run twice.
func (s *Embedded) batch(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Batch(packed(fn))
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (s *Embedded) view(ctx context.Context, fn func(tx *bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.View(fn)
	if errors.Is(err, bolt.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func createdKey(c *Case) []byte {
	k := make([]byte, 8, 8+len(c.ID))
	binary.BigEndian.PutUint64(k, uint64(c.CreatedAt.UnixNano()))
	return append(k, c.ID...)
}

func threadKey(channel, ts string) []byte { return []byte(channel + "\x00" + ts) }

// getCase reads a case; full adds the body fields.
func getCase(tx *bolt.Tx, id string, full bool) (*Case, error) {
	v := tx.Bucket(bCases).Get([]byte(id))
	if v == nil {
		return nil, fmt.Errorf("case %s: %w", id, ErrNotFound)
	}
	var c Case
	if err := json.Unmarshal(v, &c); err != nil {
		return nil, fmt.Errorf("decode case %s: %w", id, err)
	}
	if full {
		if err := loadBody(tx, &c); err != nil {
			return nil, err
		}
	}
	return &c, nil
}

// loadRequest sets c.Request from the case's body, decoding nothing else
// (a queued case's body is its request; Claim needs only that).
func loadRequest(tx *bolt.Tx, c *Case) error {
	v := tx.Bucket(bBodies).Get([]byte(c.ID))
	if v == nil {
		return nil
	}
	var b struct {
		Request *investigate.Request `json:"request"`
	}
	if err := decodeBody(v, &b); err != nil {
		return fmt.Errorf("decode case %s body: %w", c.ID, err)
	}
	c.Request = b.Request
	return nil
}

func loadBody(tx *bolt.Tx, c *Case) error {
	if v := tx.Bucket(bBodies).Get([]byte(c.ID)); v != nil {
		var b caseBody
		if err := decodeBody(v, &b); err != nil {
			return fmt.Errorf("decode case %s body: %w", c.ID, err)
		}
		c.Analysis, c.Findings, c.Evidence, c.Request = b.Analysis, b.Findings, b.Evidence, b.Request
		if c.Labels == nil && c.Request != nil && c.Request.Alert != nil {
			c.Labels = c.Request.Alert.Labels // left out of the head (see putHead)
		}
	}
	if v := tx.Bucket(bEmb).Get([]byte(c.ID)); v != nil {
		c.Embedding = decodeVector(v)
	}
	return nil
}

// putCase writes a case (head and body) and maintains its indexes. old is
// the stored version, nil for a new case. Embeddings are not touched.
func putCase(tx *bolt.Tx, c, old *Case) error { return writeCase(tx, c, old, true) }

// putCaseHead is putCase for a change that leaves the body (analysis,
// findings, evidence, request) as stored: status, lease, thread, error.
// It skips re-encoding the body, the costly half of a case.
func putCaseHead(tx *bolt.Tx, c, old *Case) error { return writeCase(tx, c, old, false) }

func writeCase(tx *bolt.Tx, c, old *Case, body bool) error {
	if err := putHead(tx, c); err != nil {
		return err
	}
	id := []byte(c.ID)
	if body {
		bb, err := encodeBody(&caseBody{Analysis: c.Analysis, Findings: c.Findings, Evidence: c.Evidence, Request: c.Request})
		if err != nil {
			return fmt.Errorf("encode case %s body: %w", c.ID, err)
		}
		if err := tx.Bucket(bBodies).Put(id, bb); err != nil {
			return fmt.Errorf("put case %s body: %w", c.ID, err)
		}
	}
	ck := createdKey(c)
	moved := true
	if old != nil {
		ok := createdKey(old)
		moved = !bytes.Equal(ok, ck)
		if moved {
			_ = tx.Bucket(bCreated).Delete(ok)
			_ = tx.Bucket(bQueue).Delete(ok)
		}
		if old.Channel != c.Channel || old.ThreadTS != c.ThreadTS {
			_ = tx.Bucket(bThreads).Delete(threadKey(old.Channel, old.ThreadTS))
		}
	}
	if moved {
		if err := tx.Bucket(bCreated).Put(ck, id); err != nil {
			return fmt.Errorf("index case %s: %w", c.ID, err)
		}
	}
	var err error
	if queuedStatus(c.Status) {
		err = tx.Bucket(bQueue).Put(ck, queueValue(c))
	} else if old == nil || queuedStatus(old.Status) || moved {
		err = tx.Bucket(bQueue).Delete(ck)
	}
	if err != nil {
		return fmt.Errorf("queue case %s: %w", c.ID, err)
	}
	if c.Channel != "" && c.ThreadTS != "" && (old == nil || old.Channel != c.Channel || old.ThreadTS != c.ThreadTS) {
		if err := tx.Bucket(bThreads).Put(threadKey(c.Channel, c.ThreadTS), id); err != nil {
			return fmt.Errorf("index thread of case %s: %w", c.ID, err)
		}
	}
	if body && c.Fingerprint != "" && c.Request != nil && c.Request.Alert != nil {
		key, _, _ := alertKey(c.Request)
		if old == nil || old.Fingerprint != c.Fingerprint || old.Request == nil || old.Request.Alert == nil || old.Request.Alert.Key() != key {
			if err := tx.Bucket(bKeys).Put([]byte(key), id); err != nil {
				return fmt.Errorf("index alert of case %s: %w", c.ID, err)
			}
		}
	}
	return nil
}

func queuedStatus(s Status) bool { return s == StatusQueued || s == StatusRunning }

// The queue bucket maps a case's created key to its id, prefixed for a
// running case with its lease: "\x00" + lease end (big-endian Unix
// nanoseconds) + id. Claim reads leases from the queue alone, without
// decoding the heads of the cases other workers hold. Ids never start
// with a zero byte, so a plain id is a queued case.
func queueValue(c *Case) []byte {
	if c.Status != StatusRunning {
		return []byte(c.ID)
	}
	v := make([]byte, 9, 9+len(c.ID))
	binary.BigEndian.PutUint64(v[1:], uint64(c.LeaseUntil.UnixNano()))
	return append(v, c.ID...)
}

// parseQueueValue splits a queue value into the case id and, for a
// running case, the end of its lease.
func parseQueueValue(v []byte) (id []byte, leaseUntil time.Time, running bool) {
	if len(v) >= 9 && v[0] == 0 {
		return v[9:], time.Unix(0, int64(binary.BigEndian.Uint64(v[1:9]))), true
	}
	return v, time.Time{}, false
}

// RecordInvestigation stores the outcome of an investigation: it updates
// the case r.ID (a queued or claimed one) or creates it, sets its status to
// done (failed when there is no analysis and an error; resolved when its
// alert already resolved) and releases its lease. It is the one write of a
// result: Complete calls it for a claimed case; a command that runs the
// engine outside the queue (k8flex demo) calls it itself.
func (s *Embedded) RecordInvestigation(ctx context.Context, r *investigate.Result) error {
	if r.ID == "" {
		return errors.New("record investigation: result has no id")
	}
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, r.ID, true)
		if err != nil && !errors.Is(err, ErrNotFound) {
			return err
		}
		c := &Case{}
		if old != nil {
			cp := *old
			c = &cp
		}
		applyResult(c, r, time.Now().UTC())
		if old == nil && c.Fingerprint != "" && c.Request != nil {
			key, _, _ := alertKey(c.Request)
			if id := tx.Bucket(bKeys).Get([]byte(key)); id != nil && string(id) != c.ID {
				c.Fingerprint = "" // the alert's own (queued) case keeps the alert key
			}
		}
		return putCase(tx, c, old)
	})
}

// Case returns the case id with all its fields (ErrNotFound if none).
func (s *Embedded) Case(ctx context.Context, id string) (*Case, error) {
	var c *Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		var err error
		c, err = getCase(tx, id, true)
		return err
	})
	return c, err
}

// CaseByThread returns the case whose Slack thread is channel/ts.
func (s *Embedded) CaseByThread(ctx context.Context, channel, ts string) (*Case, error) {
	var c *Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		id := tx.Bucket(bThreads).Get(threadKey(channel, ts))
		if id == nil {
			return fmt.Errorf("thread %s/%s: %w", channel, ts, ErrNotFound)
		}
		var err error
		c, err = getCase(tx, string(id), true)
		return err
	})
	return c, err
}

// SetThread records the Slack thread (channel, message ts) of case id.
func (s *Embedded) SetThread(ctx context.Context, id, channel, ts string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, id, false)
		if err != nil {
			return err
		}
		c := *old
		c.Channel, c.ThreadTS, c.UpdatedAt = channel, ts, time.Now().UTC()
		return putCaseHead(tx, &c, old)
	})
}

// LinkMessage records that the Slack message channel/ts (a reply in its
// thread, such as the analysis) belongs to case id, so that CaseByMessage
// finds the case after a restart. Linking a message again replaces its
// case. ErrNotFound when the case does not exist.
func (s *Embedded) LinkMessage(ctx context.Context, id, channel, ts string) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		if tx.Bucket(bCases).Get([]byte(id)) == nil {
			return fmt.Errorf("case %s: %w", id, ErrNotFound)
		}
		if err := tx.Bucket(bMessages).Put(threadKey(channel, ts), []byte(id)); err != nil {
			return fmt.Errorf("link message %s/%s to case %s: %w", channel, ts, id, err)
		}
		return nil
	})
}

// CaseByMessage returns the case the Slack message channel/ts belongs to:
// one linked with LinkMessage, else the root of its thread (SetThread).
// ErrNotFound for any other message.
func (s *Embedded) CaseByMessage(ctx context.Context, channel, ts string) (*Case, error) {
	var c *Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		k := threadKey(channel, ts)
		id := tx.Bucket(bMessages).Get(k)
		if id == nil {
			id = tx.Bucket(bThreads).Get(k)
		}
		if id == nil {
			return fmt.Errorf("message %s/%s: %w", channel, ts, ErrNotFound)
		}
		var err error
		c, err = getCase(tx, string(id), true)
		return err
	})
	return c, err
}

// FindSimilar returns up to topN validated cases whose cosine similarity to
// embedding is at least threshold, most similar first.
func (s *Embedded) FindSimilar(ctx context.Context, embedding []float32, threshold float64, topN int) ([]investigate.SimilarCase, error) {
	idx := s.idx.Load()
	if err := checkDims(embedding, idx.dims); err != nil {
		return nil, fmt.Errorf("find similar: %w", err)
	}
	if topN <= 0 {
		return nil, nil
	}
	hits := idx.search(embedding, threshold, topN)
	out := make([]investigate.SimilarCase, 0, len(hits))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		for _, h := range hits {
			c, err := getCase(tx, h.id, false)
			if errors.Is(err, ErrNotFound) {
				continue // removed concurrently
			}
			if err != nil {
				return err
			}
			if v := tx.Bucket(bBodies).Get([]byte(c.ID)); v != nil {
				var b struct {
					Analysis string `json:"analysis"`
				}
				if err := decodeBody(v, &b); err != nil {
					return fmt.Errorf("decode case %s body: %w", c.ID, err)
				}
				c.Analysis = b.Analysis
			}
			out = append(out, similarOf(c, h.score, s.cfg.WorkspaceURL))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("find similar: %w", err)
	}
	return out, nil
}

// PastFeedback returns up to limit verdicts on cases of alertName or of
// category c, cases of the same alert name first, most recent vote first.
func (s *Embedded) PastFeedback(ctx context.Context, c investigate.Category, alertName string, limit int) ([]investigate.PastFeedback, error) {
	// Only cases with votes can carry a verdict: walk the votes bucket
	// (keyed "case id \x00 user") instead of every case, so the cost grows
	// with the feedback given, not with the alerts queued in a storm.
	var rated []*Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		cur := tx.Bucket(bVotes).Cursor()
		last := ""
		for k, _ := cur.First(); k != nil; k, _ = cur.Next() {
			id, _, _ := bytes.Cut(k, []byte{0})
			if string(id) == last {
				continue
			}
			last = string(id)
			head, err := getCase(tx, last, false)
			if errors.Is(err, ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			if head.Verdict != VerdictNone && (head.AlertName == alertName || (c != "" && head.Category == c)) {
				rated = append(rated, head)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("past feedback: %w", err)
	}
	return pastFeedback(rated, alertName, limit), nil
}

func pastFeedback(rated []*Case, alertName string, limit int) []investigate.PastFeedback {
	slices.SortFunc(rated, func(a, b *Case) int {
		am, bm := a.AlertName == alertName, b.AlertName == alertName
		if am != bm {
			if am {
				return -1
			}
			return 1
		}
		return cmp.Or(b.VotedAt.Compare(a.VotedAt), cmp.Compare(a.ID, b.ID))
	})
	if limit > 0 && len(rated) > limit {
		rated = rated[:limit]
	}
	out := make([]investigate.PastFeedback, 0, len(rated))
	for _, k := range rated {
		out = append(out, investigate.PastFeedback{
			AlertName: k.AlertName, Category: k.Category, Correct: k.Verdict == VerdictCorrect,
			RootCause: k.RootCause, At: k.VotedAt,
		})
	}
	return out
}

// scanHeads calls fn with every case head, newest first, until fn returns false.
func (s *Embedded) scanHeads(ctx context.Context, fn func(c *Case) bool) error {
	return s.view(ctx, func(tx *bolt.Tx) error {
		cases := tx.Bucket(bCases)
		cur := tx.Bucket(bCreated).Cursor()
		for k, id := cur.Last(); k != nil; k, id = cur.Prev() {
			v := cases.Get(id)
			if v == nil {
				continue
			}
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode case %s: %w", id, err)
			}
			if !fn(&c) {
				return nil
			}
		}
		return nil
	})
}

// RecordFeedback records one person's vote (replacing their earlier vote
// on the case unless that one is newer), recounts the case and validates
// or invalidates it. A case becoming (or staying) validated stores
// embedding when one is given; an invalidated case leaves search.
func (s *Embedded) RecordFeedback(ctx context.Context, v Vote, embedding []float32) (CaseVerdict, error) {
	if err := validateVote(&v); err != nil {
		return CaseVerdict{}, err
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	if len(embedding) > 0 {
		if err := checkDims(embedding, s.Dimensions()); err != nil {
			return CaseVerdict{}, fmt.Errorf("record feedback: %w", err)
		}
	}
	var out CaseVerdict
	var withEmb bool
	err := s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, v.CaseID, false)
		if err != nil {
			return err
		}
		c := *old
		out, withEmb, err = applyVote(tx, &c, v, embedding)
		if err != nil {
			return err
		}
		return putHead(tx, &c)
	})
	if err != nil {
		return CaseVerdict{}, fmt.Errorf("record feedback on %s: %w", v.CaseID, err)
	}
	switch {
	case out.Validated && withEmb:
		s.idx.Load().set(v.CaseID, embedding)
	case !out.Validated:
		s.idx.Load().remove(v.CaseID)
	}
	return out, nil
}

// applyVote stores v, recounts c and updates its embedding; c's head must
// be written by the caller. withEmb reports that embedding was stored.
func applyVote(tx *bolt.Tx, c *Case, v Vote, embedding []float32) (out CaseVerdict, withEmb bool, err error) {
	votes := tx.Bucket(bVotes)
	vk := []byte(v.CaseID + "\x00" + v.User)
	var prev Vote
	if b := votes.Get(vk); b != nil {
		if err := json.Unmarshal(b, &prev); err != nil {
			return out, false, fmt.Errorf("decode vote: %w", err)
		}
	}
	switch {
	case v.Withdraw:
		if prev.User != "" && prev.Correct == v.Correct && !v.At.Before(prev.At) {
			if err := votes.Delete(vk); err != nil {
				return out, false, fmt.Errorf("delete vote: %w", err)
			}
		}
	case prev.User == "" || !v.At.Before(prev.At):
		b, err := json.Marshal(&v)
		if err != nil {
			return out, false, fmt.Errorf("encode vote: %w", err)
		}
		if err := votes.Put(vk, b); err != nil {
			return out, false, fmt.Errorf("put vote: %w", err)
		}
	}
	correct, incorrect := 0, 0
	var last time.Time
	cur := votes.Cursor()
	prefix := []byte(v.CaseID + "\x00")
	for k, b := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, b = cur.Next() {
		var vv Vote
		if err := json.Unmarshal(b, &vv); err != nil {
			return out, false, fmt.Errorf("decode vote: %w", err)
		}
		if vv.Correct {
			correct++
		} else {
			incorrect++
		}
		if vv.At.After(last) {
			last = vv.At
		}
	}
	was := c.Validated
	c.Correct, c.Incorrect, c.VotedAt = correct, incorrect, last
	c.Verdict, c.Validated = verdictOf(correct, incorrect)
	c.UpdatedAt = time.Now().UTC()
	emb := tx.Bucket(bEmb)
	switch {
	case c.Validated:
		if !was {
			c.ValidatedAt = v.At
		}
		if len(embedding) > 0 {
			if err := emb.Put([]byte(c.ID), encodeVector(embedding)); err != nil {
				return out, false, fmt.Errorf("put embedding: %w", err)
			}
			withEmb = true
		}
	default:
		c.ValidatedAt = time.Time{}
		if err := emb.Delete([]byte(c.ID)); err != nil {
			return out, false, fmt.Errorf("delete embedding: %w", err)
		}
	}
	return CaseVerdict{CaseID: c.ID, Correct: correct, Incorrect: incorrect, Validated: c.Validated,
		Verdict: c.Verdict, Changed: was != c.Validated}, withEmb, nil
}

// putHead rewrites only a case's head (its indexes are unchanged). The
// alert's labels are left out when the body's request holds the same
// ones (loadBody restores them): they are a third of a head.
func putHead(tx *bolt.Tx, c *Case) error {
	head := *c
	head.Analysis, head.Findings, head.Evidence, head.Request, head.Embedding = "", nil, investigate.Evidence{}, nil, nil
	if c.Request != nil && c.Request.Alert != nil && maps.Equal(c.Labels, c.Request.Alert.Labels) {
		head.Labels = nil
	}
	b, err := json.Marshal(&head)
	if err != nil {
		return fmt.Errorf("encode case %s: %w", c.ID, err)
	}
	return tx.Bucket(bCases).Put([]byte(c.ID), b)
}

// ListCases returns one page of the cases passing f, newest first.
func (s *Embedded) ListCases(ctx context.Context, f Filter) ([]Case, error) {
	limit, skip := f.limit(), f.Offset
	var out []Case
	err := s.view(ctx, func(tx *bolt.Tx) error {
		cases := tx.Bucket(bCases)
		cur := tx.Bucket(bCreated).Cursor()
		for k, id := cur.Last(); k != nil && len(out) < limit; k, id = cur.Prev() {
			v := cases.Get(id)
			if v == nil {
				continue
			}
			var c Case
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("decode case %s: %w", id, err)
			}
			if !f.Since.IsZero() && c.CreatedAt.Before(f.Since) {
				break // newest first: nothing older can match
			}
			q := f.Query
			f.Query = ""
			ok := f.matches(&c)
			f.Query = q
			if !ok {
				continue
			}
			if err := loadBody(tx, &c); err != nil {
				return err
			}
			if !matchesQuery(&c, q) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			c.Embedding = nil
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list cases: %w", err)
	}
	return out, nil
}

// Stats returns the accuracy of the cases created at or after since (all
// cases for the zero time), overall, by category and by alert name.
func (s *Embedded) Stats(ctx context.Context, since time.Time) (Stats, error) {
	st := newStats(since)
	err := s.scanHeads(ctx, func(c *Case) bool {
		if !since.IsZero() && c.CreatedAt.Before(since) {
			return false
		}
		st.add(c)
		return true
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	st.finish()
	return st, nil
}

func newStats(since time.Time) Stats {
	return Stats{Since: since, ByCategory: map[investigate.Category]Accuracy{}, ByAlert: map[string]Accuracy{}}
}

func (st *Stats) add(c *Case) {
	st.Overall.add(c)
	a := st.ByCategory[c.Category]
	a.add(c)
	st.ByCategory[c.Category] = a
	b := st.ByAlert[c.AlertName]
	b.add(c)
	st.ByAlert[c.AlertName] = b
	st.Votes += c.Correct + c.Incorrect
}

func (st *Stats) finish() {
	st.Overall.finish()
	for k, a := range st.ByCategory {
		a.finish()
		st.ByCategory[k] = a
	}
	for k, a := range st.ByAlert {
		a.finish()
		st.ByAlert[k] = a
	}
}

// Enqueue records every request as a queued case in one transaction: all
// or none. A firing alert whose Key already has a case is a Duplicate (no
// new case); a resolved alert marks its case resolved and queues nothing.
func (s *Embedded) Enqueue(ctx context.Context, reqs []investigate.Request) ([]investigate.Enqueued, error) {
	out := make([]investigate.Enqueued, len(reqs))
	now := time.Now().UTC()
	// batch: concurrent webhook requests share one commit (one fsync); the
	// function may run twice, so it recomputes everything from tx.
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		keys := tx.Bucket(bKeys)
		for i := range reqs {
			r := &reqs[i]
			key, _, _ := alertKey(r)
			var existing *Case
			if key != "" {
				if id := keys.Get([]byte(key)); id != nil {
					c, err := getCase(tx, string(id), false)
					if err != nil {
						return err
					}
					existing = c
				}
			}
			if r.Alert != nil && r.Alert.Status == investigate.StatusResolved {
				out[i] = investigate.Enqueued{Resolved: true}
				if existing == nil {
					continue
				}
				c := *existing
				resolve(&c, r.Alert, now)
				if err := putHead(tx, &c); err != nil {
					return err
				}
				out[i] = resultOf(&c, false, true)
				continue
			}
			if existing != nil {
				out[i] = resultOf(existing, true, false)
				continue
			}
			c := caseFromRequest(newID(), r, now)
			if err := putCase(tx, c, nil); err != nil {
				return err
			}
			out[i] = resultOf(c, false, false)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("enqueue %d requests: %w", len(reqs), err)
	}
	return out, nil
}

// resolve marks c's alert resolved; a finished case becomes resolved, an
// unfinished one becomes resolved when it finishes.
func resolve(c *Case, a *investigate.Alert, now time.Time) {
	if c.ResolvedAt.IsZero() {
		c.ResolvedAt = now
		if !a.EndsAt.IsZero() && !a.EndsAt.After(now) {
			c.ResolvedAt = a.EndsAt.UTC()
		}
	}
	if c.Status == StatusDone || c.Status == StatusFailed {
		c.Status = StatusResolved
	}
	c.UpdatedAt = now
}

func resultOf(c *Case, dup, resolved bool) investigate.Enqueued {
	return investigate.Enqueued{ID: c.ID, Duplicate: dup, Resolved: resolved,
		Channel: c.Channel, ThreadTS: c.ThreadTS, StartsAt: c.StartsAt, ResolvedAt: c.ResolvedAt}
}

// Claim leases up to n cases to worker for lease, oldest first: queued
// cases and running cases whose lease expired (their worker died). A case
// already claimed MaxAttempts times is marked failed instead.
func (s *Embedded) Claim(ctx context.Context, worker string, lease time.Duration, n int) ([]investigate.Claimed, error) {
	if n <= 0 {
		return nil, nil
	}
	var out []investigate.Claimed
	var abandoned []*Case
	now := time.Now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		cur := tx.Bucket(bQueue).Cursor()
		var todo []*Case
		for k, v := cur.First(); k != nil && len(todo) < n; k, v = cur.Next() {
			id, until, running := parseQueueValue(v)
			if running && until.After(now) {
				continue // held by a live worker: not even its head is read
			}
			c, err := getCase(tx, string(id), false)
			if err != nil {
				return err
			}
			if c.Status == StatusRunning && c.LeaseUntil.After(now) {
				continue
			}
			todo = append(todo, c)
		}
		for _, old := range todo {
			c := *old
			if c.Status == StatusRunning && c.Attempts >= s.maxTries {
				c.Status = StatusFailed
				c.Error = fmt.Sprintf("abandoned after %d attempts whose workers did not finish", c.Attempts)
				c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = "", time.Time{}, now
				if !c.ResolvedAt.IsZero() {
					c.Status = StatusResolved
				}
				if err := putCaseHead(tx, &c, old); err != nil {
					return err
				}
				abandoned = append(abandoned, &c)
				continue
			}
			c.Status, c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = StatusRunning, worker, now.Add(lease), now
			c.Attempts++
			if err := putCaseHead(tx, &c, old); err != nil {
				return err
			}
			if err := loadRequest(tx, &c); err != nil {
				return err
			}
			out = append(out, claimed(&c))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim: %w", err)
	}
	for _, c := range abandoned {
		s.log.Warn().Str("case", c.ID).Int("attempts", c.Attempts).Msg("case abandoned")
	}
	return out, nil
}

func claimed(c *Case) investigate.Claimed {
	cc := investigate.Claimed{ID: c.ID, Attempt: c.Attempts, Channel: c.Channel, ThreadTS: c.ThreadTS}
	if c.Request != nil {
		cc.Request = *c.Request
	}
	cc.Request.ID = c.ID
	return cc
}

// Complete records the result of claimed case id (as RecordInvestigation:
// the result and the end of the lease in one transaction) and ends its
// lease. A nil result only marks the case done.
func (s *Embedded) Complete(ctx context.Context, id string, r *investigate.Result) error {
	if r != nil {
		rr := *r
		rr.ID = id
		return s.RecordInvestigation(ctx, &rr)
	}
	return s.finish(ctx, id, func(c *Case) { c.Status = StatusDone })
}

// Fail marks case id failed with the (redacted) error and ends its lease.
func (s *Embedded) Fail(ctx context.Context, id string, cause error) error {
	msg := "unknown error"
	if cause != nil {
		msg = redact.String(cause.Error())
	}
	return s.finish(ctx, id, func(c *Case) { c.Status, c.Error = StatusFailed, msg })
}

// Release puts running case id back in the queue (graceful shutdown), so
// another worker or the next start picks it up.
func (s *Embedded) Release(ctx context.Context, id string) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, id, false)
		if err != nil {
			return err
		}
		if old.Status != StatusRunning {
			return nil
		}
		c := *old
		c.Status, c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = StatusQueued, "", time.Time{}, time.Now().UTC()
		if c.Attempts > 0 {
			c.Attempts-- // a released claim did not fail
		}
		return putCaseHead(tx, &c, old)
	})
}

// requeueRunning puts every running case back in the queue. It runs at
// open: the file lock guarantees that no other process holds them, so
// cases interrupted by a crash resume at once instead of after their
// lease. The attempt stays counted, so a case that keeps killing its
// worker is still failed after MaxAttempts.
func (s *Embedded) requeueRunning() (int, error) {
	n := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		var ids []string
		cur := tx.Bucket(bQueue).Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			// Old files hold plain ids for running cases too: every
			// head is checked, and rewritten in the current form.
			id, _, _ := parseQueueValue(v)
			ids = append(ids, string(id))
		}
		now := time.Now().UTC()
		for _, id := range ids {
			old, err := getCase(tx, id, false)
			if err != nil {
				return err
			}
			if old.Status != StatusRunning {
				continue
			}
			c := *old
			c.Status, c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = StatusQueued, "", time.Time{}, now
			if err := putCaseHead(tx, &c, old); err != nil {
				return err
			}
			n++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("requeue interrupted cases: %w", err)
	}
	return n, nil
}

// Renew extends worker's lease on running case id to lease from now (a
// heartbeat for long analyses). It returns ErrLeaseLost when worker no
// longer holds the lease, ErrNotFound for an unknown case.
func (s *Embedded) Renew(ctx context.Context, id, worker string, lease time.Duration) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, id, false)
		if err != nil {
			return err
		}
		now := time.Now().UTC()
		if old.Status != StatusRunning || old.LeaseOwner != worker || !old.LeaseUntil.After(now) {
			return fmt.Errorf("renew case %s for %s: %w", id, worker, ErrLeaseLost)
		}
		c := *old
		c.LeaseUntil, c.UpdatedAt = now.Add(lease), now
		return putCaseHead(tx, &c, old)
	})
}

func (s *Embedded) finish(ctx context.Context, id string, set func(c *Case)) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		old, err := getCase(tx, id, false)
		if err != nil {
			return err
		}
		c := *old
		set(&c)
		if !c.ResolvedAt.IsZero() {
			c.Status = StatusResolved
		}
		c.LeaseOwner, c.LeaseUntil, c.UpdatedAt = "", time.Time{}, time.Now().UTC()
		return putCaseHead(tx, &c, old)
	})
}

// QueueDepth returns how many cases wait to be claimed or are running.
func (s *Embedded) QueueDepth(ctx context.Context) (int, error) {
	n := 0
	err := s.view(ctx, func(tx *bolt.Tx) error {
		n = tx.Bucket(bQueue).Stats().KeyN
		return nil
	})
	return n, err
}

// Export writes every case (with its votes, and its embedding when
// validated) to w as JSONL, oldest first.
func (s *Embedded) Export(ctx context.Context, w io.Writer) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		cur := tx.Bucket(bCreated).Cursor()
		for k, id := cur.First(); k != nil; k, id = cur.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			c, err := getCase(tx, string(id), true)
			if err != nil {
				return err
			}
			rec := Record{Case: *c}
			vc := tx.Bucket(bVotes).Cursor()
			prefix := []byte(c.ID + "\x00")
			for vk, vb := vc.Seek(prefix); vk != nil && bytes.HasPrefix(vk, prefix); vk, vb = vc.Next() {
				var v Vote
				if err := json.Unmarshal(vb, &v); err != nil {
					return fmt.Errorf("decode vote: %w", err)
				}
				rec.Votes = append(rec.Votes, v)
			}
			if err := enc.Encode(&rec); err != nil {
				return fmt.Errorf("write case %s: %w", c.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("export: %w", err)
	}
	return bw.Flush()
}

// Import reads JSONL records (as Export writes them) and upserts each case
// with its votes, replacing a case of the same id. It returns how many
// cases it imported. Records are applied in batches; a bad record stops the
// import with an error naming its line (earlier batches stay imported).
func (s *Embedded) Import(ctx context.Context, r io.Reader) (int, error) {
	return importJSONL(ctx, r, s.Dimensions(), s.importRecords)
}

// ImportLegacyFeedback imports the original design's feedback.json: each
// record becomes a finished case with one vote. Re-importing is harmless.
func (s *Embedded) ImportLegacyFeedback(ctx context.Context, r io.Reader) (int, error) {
	return importLegacyFeedback(ctx, r, s.Dimensions(), s.importRecords)
}

func (s *Embedded) importRecords(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		votes := tx.Bucket(bVotes)
		for i := range recs {
			c := &recs[i].Case
			old, err := getCase(tx, c.ID, false)
			if err != nil && !errors.Is(err, ErrNotFound) {
				return err
			}
			if err := putCase(tx, c, old); err != nil {
				return err
			}
			prefix := []byte(c.ID + "\x00")
			var stale [][]byte
			cur := votes.Cursor()
			for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
				stale = append(stale, bytes.Clone(k))
			}
			for _, k := range stale {
				if err := votes.Delete(k); err != nil {
					return fmt.Errorf("delete vote: %w", err)
				}
			}
			for _, v := range recs[i].Votes {
				b, err := json.Marshal(&v)
				if err != nil {
					return fmt.Errorf("encode vote: %w", err)
				}
				if err := votes.Put([]byte(c.ID+"\x00"+v.User), b); err != nil {
					return fmt.Errorf("put vote: %w", err)
				}
			}
			if len(c.Embedding) > 0 {
				err = tx.Bucket(bEmb).Put([]byte(c.ID), encodeVector(c.Embedding))
			} else {
				err = tx.Bucket(bEmb).Delete([]byte(c.ID))
			}
			if err != nil {
				return fmt.Errorf("store embedding of %s: %w", c.ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for i := range recs {
		if c := &recs[i].Case; len(c.Embedding) > 0 {
			s.idx.Load().set(c.ID, c.Embedding)
		} else {
			s.idx.Load().remove(c.ID)
		}
	}
	return nil
}

// Reembed re-embeds every validated case with embed (texts from
// EmbeddingText, in batches) and records dims as the store's dimension, so
// a changed embedder can be adopted. Run it on a store opened with
// AllowDimensionChange; it replaces all embeddings in one transaction.
func (s *Embedded) Reembed(ctx context.Context, embed func(ctx context.Context, texts []string) ([][]float32, error), dims int) error {
	if dims <= 0 {
		return fmt.Errorf("reembed: dimensions must be positive (got %d)", dims)
	}
	var validated []*Case
	err := s.scanHeads(ctx, func(c *Case) bool {
		if c.Validated {
			validated = append(validated, c)
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	vecs, err := embedAll(ctx, embed, validated, dims)
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	s.wmu.Lock()
	defer s.wmu.Unlock()
	err = s.update(ctx, func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bEmb); err != nil {
			return fmt.Errorf("drop embeddings: %w", err)
		}
		emb, err := tx.CreateBucket(bEmb)
		if err != nil {
			return fmt.Errorf("create embeddings: %w", err)
		}
		for i, c := range validated {
			if err := emb.Put([]byte(c.ID), encodeVector(vecs[i])); err != nil {
				return fmt.Errorf("put embedding: %w", err)
			}
		}
		return tx.Bucket(bMeta).Put([]byte("dimensions"), []byte(strconv.Itoa(dims)))
	})
	if err != nil {
		return fmt.Errorf("reembed: %w", err)
	}
	idx := newVectorIndex(dims)
	for i, c := range validated {
		idx.set(c.ID, vecs[i])
	}
	s.idx.Store(idx)
	s.log.Info().Int("cases", len(validated)).Int("dimensions", dims).Msg("knowledge base re-embedded")
	return nil
}

// Ping reports whether the store is usable (for /ready).
func (s *Embedded) Ping(ctx context.Context) error {
	return s.view(ctx, func(*bolt.Tx) error { return nil })
}
