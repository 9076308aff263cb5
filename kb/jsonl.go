package kb

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"strings"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// Record is one line of the JSONL export: a case (with its embedding when
// validated) and every vote on it.
type Record struct {
	Case  Case   `json:"case"`
	Votes []Vote `json:"votes,omitempty"`
}

// maxRecordBytes bounds one JSONL line on import.
const maxRecordBytes = 64 << 20

// readRecords decodes JSONL records from r, calling fn for each.
func readRecords(r io.Reader, fn func(rec *Record) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxRecordBytes)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var rec Record
		if err := json.Unmarshal(b, &rec); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if rec.Case.ID == "" {
			return fmt.Errorf("line %d: case has no id", line)
		}
		if err := fn(&rec); err != nil {
			return fmt.Errorf("line %d (case %s): %w", line, rec.Case.ID, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("line %d: %w", line+1, err)
	}
	return nil
}

// normalizeRecord makes a record's counts, verdict and embedding agree
// with its votes (one person's latest vote counting once) and checks the
// embedding's dimension.
func normalizeRecord(rec *Record, dims int) error {
	latest := map[string]Vote{}
	for _, v := range rec.Votes {
		v.CaseID = rec.Case.ID
		if err := validateVote(&v); err != nil {
			return err
		}
		if p, ok := latest[v.User]; !ok || !v.At.Before(p.At) {
			latest[v.User] = v
		}
	}
	rec.Votes = rec.Votes[:0]
	c := &rec.Case
	c.Correct, c.Incorrect, c.VotedAt = 0, 0, time.Time{}
	for _, v := range latest {
		rec.Votes = append(rec.Votes, v)
		if v.Correct {
			c.Correct++
		} else {
			c.Incorrect++
		}
		if v.At.After(c.VotedAt) {
			c.VotedAt = v.At
		}
	}
	c.Verdict, c.Validated = verdictOf(c.Correct, c.Incorrect)
	if !c.Validated {
		c.Embedding, c.ValidatedAt = nil, time.Time{}
	} else if c.ValidatedAt.IsZero() {
		c.ValidatedAt = c.VotedAt
	}
	if len(c.Embedding) > 0 {
		if err := checkDims(c.Embedding, dims); err != nil {
			return err
		}
	}
	if c.Status == "" {
		c.Status = StatusDone
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = time.Now().UTC()
	}
	if c.UpdatedAt.IsZero() {
		c.UpdatedAt = c.CreatedAt
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	if c.Request != nil {
		c.Request.ID = c.ID
		if c.Fingerprint == "" {
			_, c.Fingerprint, c.StartsAt = alertKey(c.Request)
		}
	}
	return nil
}

// legacyFeedback is one record of the original design's /data/feedback.json.
type legacyFeedback struct {
	Timestamp   time.Time `json:"timestamp"`
	AlertName   string    `json:"alert_name"`
	Category    string    `json:"category"`
	IsCorrect   bool      `json:"is_correct"`
	Analysis    string    `json:"analysis"`
	SlackThread string    `json:"slack_thread"`
}

// legacyRecords converts feedback.json (a JSON array of records, or records
// one after another) into import records. Each becomes a done case with one
// vote by user "legacy"; its id is derived from the record, so importing
// the same file twice changes nothing.
func legacyRecords(r io.Reader) ([]Record, error) {
	br := bufio.NewReader(r)
	var items []legacyFeedback
	first, err := peekNonSpace(br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	dec := json.NewDecoder(br)
	if first == '[' {
		if err := dec.Decode(&items); err != nil {
			return nil, fmt.Errorf("decode feedback array: %w", err)
		}
	} else {
		for {
			var it legacyFeedback
			err := dec.Decode(&it)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("decode feedback record %d: %w", len(items)+1, err)
			}
			items = append(items, it)
		}
	}
	out := make([]Record, 0, len(items))
	for i, it := range items {
		if it.AlertName == "" {
			return nil, fmt.Errorf("feedback record %d: no alert_name", i+1)
		}
		at := it.Timestamp.UTC()
		if at.IsZero() {
			at = time.Now().UTC()
		}
		h := fnv.New64a()
		fmt.Fprintf(h, "%s\x00%s\x00%s", it.SlackThread, it.AlertName, at.Format(time.RFC3339Nano))
		id := fmt.Sprintf("legacy-%016x", h.Sum64())
		cat, _ := investigate.ParseCategory(it.Category)
		rc := investigate.RootCauseLine(it.Analysis)
		if rc == "" {
			rc, _, _ = strings.Cut(strings.TrimSpace(it.Analysis), "\n")
		}
		c := Case{
			ID: id, AlertName: it.AlertName, Category: cat, Analysis: it.Analysis, RootCause: rc,
			ThreadTS: it.SlackThread, Status: StatusDone, CreatedAt: at, UpdatedAt: at, Analyzer: "legacy",
		}
		out = append(out, Record{Case: c, Votes: []Vote{{CaseID: id, User: "legacy", Correct: it.IsCorrect, Source: SourceLegacy, At: at}}})
	}
	return out, nil
}

func peekNonSpace(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\r' && b != '\t' {
			return b, br.UnreadByte()
		}
	}
}

// importJSONL reads Export's records and applies them in batches of 500
// with apply (a backend's upsert); it returns how many were imported.
func importJSONL(ctx context.Context, r io.Reader, dims int, apply func(context.Context, []Record) error) (int, error) {
	n := 0
	var batch []Record
	flush := func() error {
		if err := apply(ctx, batch); err != nil {
			return err
		}
		n += len(batch)
		batch = batch[:0]
		return nil
	}
	err := readRecords(r, func(rec *Record) error {
		if err := normalizeRecord(rec, dims); err != nil {
			return err
		}
		batch = append(batch, *rec)
		if len(batch) == 500 {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return n, fmt.Errorf("import: %w", err)
	}
	return n, nil
}

// importLegacyFeedback converts the original design's feedback.json
// records and applies them with apply in one batch.
func importLegacyFeedback(ctx context.Context, r io.Reader, dims int, apply func(context.Context, []Record) error) (int, error) {
	recs, err := legacyRecords(r)
	if err != nil {
		return 0, fmt.Errorf("import legacy feedback: %w", err)
	}
	for i := range recs {
		if err := normalizeRecord(&recs[i], dims); err != nil {
			return 0, fmt.Errorf("import legacy feedback: %w", err)
		}
	}
	if err := apply(ctx, recs); err != nil {
		return 0, fmt.Errorf("import legacy feedback: %w", err)
	}
	return len(recs), nil
}
