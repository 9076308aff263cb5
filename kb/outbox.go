package kb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	bolt "go.etcd.io/bbolt"
)

// SlackEffect is one message of a case's Slack thread as it must end up:
// the Slack outbox. Effects are recorded with the case before they are
// sent and removed once Slack took them, so a thread left unfinished by a
// shutdown or a crash is finished by the next process.
type SlackEffect struct {
	CaseID string `json:"case_id"`
	// Key names the message within the case's thread ("root", "page/0" …);
	// a later PutSlackEffects of the same key supersedes the earlier one
	// (only the latest text is ever sent).
	Key      string `json:"key"`
	Channel  string `json:"channel"`
	ThreadTS string `json:"thread_ts,omitempty"`
	// TS is the message's ts; empty for a message still to be posted (as
	// a reply in ThreadTS).
	TS     string `json:"ts,omitempty"`
	Blocks string `json:"blocks"` // Block Kit JSON
	Text   string `json:"text"`   // notification fallback
	// Version grows with every PutSlackEffects of the key (set by the
	// store); SlackEffectDone removes only the version delivered.
	Version int64 `json:"version"`
	// Since is when the key was first recorded undelivered.
	Since      time.Time `json:"since"`
	LeaseOwner string    `json:"lease_owner,omitempty"`
	LeaseUntil time.Time `json:"lease_until,omitzero"`
}

var bOutbox = []byte("outbox") // case id \x00 key -> SlackEffect (JSON)

// RootKey is the key of a case's thread root. A root effect without a ts
// is the thread still to be posted (at the channel's top level); the
// case's other effects without a ts or thread ts wait for it: they are
// not claimed until SlackEffectDone of the root gives them its ts as
// their thread.
const RootKey = "root"

func outboxKey(caseID, key string) []byte { return []byte(caseID + "\x00" + key) }

func checkEffect(e SlackEffect) error {
	if e.CaseID == "" || e.Key == "" || e.Channel == "" {
		return fmt.Errorf("slack effect %s/%s: case, key and channel are required", e.CaseID, e.Key)
	}
	return nil
}

// waiting reports whether e waits for its thread's root to be posted.
func (e SlackEffect) waiting() bool { return e.TS == "" && e.ThreadTS == "" && e.Key != RootKey }

// heldEffect is who holds an effect of the embedded store, until when.
type heldEffect struct {
	owner string
	until time.Time
}

// The embedded store serves one process, so who holds which effect lives
// in memory (Embedded.held): at open every effect is free, renewing and
// releasing write nothing, and a claim decodes only what it takes.

func (s *Embedded) holdLocked(k []byte, owner string, until time.Time) {
	if s.held == nil {
		s.held = map[string]heldEffect{}
	}
	s.held[string(k)] = heldEffect{owner: owner, until: until}
}

// PutSlackEffects records effects (replacing earlier versions of the
// same case and key), held by owner for lease: the process that records
// them is sending them. It returns them with their versions.
func (s *Embedded) PutSlackEffects(ctx context.Context, owner string, lease time.Duration, effects []SlackEffect) ([]SlackEffect, error) {
	out := make([]SlackEffect, len(effects))
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	now := time.Now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		for i, e := range effects {
			if err := checkEffect(e); err != nil {
				return err
			}
			if tx.Bucket(bCases).Get([]byte(e.CaseID)) == nil {
				return fmt.Errorf("case %s: %w", e.CaseID, ErrNotFound)
			}
			e.Version, e.Since = 1, now
			if v := b.Get(outboxKey(e.CaseID, e.Key)); v != nil {
				var old SlackEffect
				if err := json.Unmarshal(v, &old); err != nil {
					return fmt.Errorf("decode slack effect %s/%s: %w", e.CaseID, e.Key, err)
				}
				e.Version, e.Since = old.Version+1, old.Since
				if e.TS == "" {
					e.TS = old.TS
				}
			}
			e.LeaseOwner, e.LeaseUntil = "", time.Time{}
			js, err := json.Marshal(e)
			if err != nil {
				return err
			}
			if err := b.Put(outboxKey(e.CaseID, e.Key), js); err != nil {
				return fmt.Errorf("record slack effect %s/%s: %w", e.CaseID, e.Key, err)
			}
			e.LeaseOwner, e.LeaseUntil = owner, now.Add(lease)
			out[i] = e
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, e := range out {
		s.holdLocked(outboxKey(e.CaseID, e.Key), owner, e.LeaseUntil)
	}
	return out, nil
}

// ClaimSlackEffects returns up to n effects nobody holds (never held,
// released, or the hold passed), oldest case first, now held by owner
// for lease; effects waiting for their thread's root are left.
func (s *Embedded) ClaimSlackEffects(ctx context.Context, owner string, lease time.Duration, n int) ([]SlackEffect, error) {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	now := time.Now().UTC()
	var out []SlackEffect
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bOutbox).Cursor()
		for k, v := c.First(); k != nil && len(out) < n; k, v = c.Next() {
			if h, ok := s.held[string(k)]; ok && h.until.After(now) {
				continue
			}
			var e SlackEffect
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode slack effect %q: %w", k, err)
			}
			if e.waiting() {
				continue
			}
			e.LeaseOwner, e.LeaseUntil = owner, now.Add(lease)
			out = append(out, e)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim slack effects: %w", err)
	}
	for _, e := range out {
		s.holdLocked(outboxKey(e.CaseID, e.Key), owner, e.LeaseUntil)
	}
	return out, nil
}

// SlackEffectDone records that version of the case's key was delivered:
// the effect is removed, unless a newer version was recorded meanwhile;
// then ts (the message a post created) is kept for it, so it updates
// that message instead of posting another. The ts of a posted root
// becomes the thread of the case's effects waiting for it.
func (s *Embedded) SlackEffectDone(ctx context.Context, caseID, key string, version int64, ts string) error {
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	k := outboxKey(caseID, key)
	removed := false
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		v := b.Get(k)
		if v == nil {
			return nil
		}
		var e SlackEffect
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode slack effect %s/%s: %w", caseID, key, err)
		}
		if key == RootKey && ts != "" {
			if err := threadEmbedded(b, caseID, ts); err != nil {
				return err
			}
		}
		if e.Version == version {
			removed = true
			return b.Delete(k)
		}
		if e.TS != "" || ts == "" {
			return nil
		}
		e.TS = ts
		js, err := json.Marshal(e)
		if err != nil {
			return err
		}
		return b.Put(k, js)
	})
	if err == nil && removed {
		delete(s.held, string(k))
	}
	return err
}

// threadEmbedded gives the case's effects waiting for their thread the
// root's ts.
func threadEmbedded(b *bolt.Bucket, caseID, ts string) error {
	prefix := []byte(caseID + "\x00")
	c := b.Cursor()
	type put struct{ k, v []byte }
	var puts []put
	for k, v := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, v = c.Next() {
		var e SlackEffect
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("decode slack effect %q: %w", k, err)
		}
		if !e.waiting() {
			continue
		}
		e.ThreadTS = ts
		js, err := json.Marshal(e)
		if err != nil {
			return err
		}
		puts = append(puts, put{slices.Clone(k), js})
	}
	for _, p := range puts {
		if err := b.Put(p.k, p.v); err != nil {
			return fmt.Errorf("thread slack effect %q: %w", p.k, err)
		}
	}
	return nil
}

// RenewSlackEffects extends owner's hold on its effects to lease from now.
func (s *Embedded) RenewSlackEffects(ctx context.Context, owner string, lease time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	until := time.Now().UTC().Add(lease)
	for k, h := range s.held {
		if h.owner == owner {
			s.held[k] = heldEffect{owner: owner, until: until}
		}
	}
	return nil
}

// ReleaseSlackEffects lets anyone claim owner's effects at once (a
// graceful shutdown hands them to the next process).
func (s *Embedded) ReleaseSlackEffects(ctx context.Context, owner string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	for k, h := range s.held {
		if h.owner == owner {
			delete(s.held, k)
		}
	}
	return nil
}

// SlackOutbox returns how many effects wait and about since when the
// oldest does (zero when none): it reads the effects of the oldest
// cases, not all.
func (s *Embedded) SlackOutbox(ctx context.Context) (depth int, oldest time.Time, err error) {
	err = s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bOutbox)
		depth = b.Stats().KeyN
		c := b.Cursor()
		// Case ids are time-ordered: the oldest effects are among the
		// first (approximately: a case's effects wait from its end).
		seen := 0
		for k, v := c.First(); k != nil && seen < 64; k, v = c.Next() {
			seen++
			var e struct {
				Since time.Time `json:"since"`
			}
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("decode slack effect %q: %w", k, err)
			}
			if oldest.IsZero() || e.Since.Before(oldest) {
				oldest = e.Since
			}
		}
		return nil
	})
	return depth, oldest, err
}

const effectCols = "case_id, key, channel, thread_ts, ts, blocks, text, version, since, lease_owner"

func scanEffect(row pgx.Row) (SlackEffect, error) {
	var e SlackEffect
	if err := row.Scan(&e.CaseID, &e.Key, &e.Channel, &e.ThreadTS, &e.TS, &e.Blocks, &e.Text, &e.Version, &e.Since,
		&e.LeaseOwner); err != nil {
		return e, err
	}
	e.Since = e.Since.UTC()
	return e, nil
}

// On PostgreSQL a process holds its effects by name (slack_outbox's
// lease_owner) and renews one row, its hold in slack_outbox_holders;
// effects of a process whose hold passed are free.

// hold records (or extends) owner's hold to lease from now and returns
// its end.
func (s *Postgres) hold(ctx context.Context, owner string, lease time.Duration) (time.Time, error) {
	var until time.Time
	err := s.pool.QueryRow(ctx, `INSERT INTO slack_outbox_holders (owner, until) VALUES ($1, now() + $2 * interval '1 microsecond')
 ON CONFLICT (owner) DO UPDATE SET until = EXCLUDED.until RETURNING until`, owner, lease.Microseconds()).Scan(&until)
	if err != nil {
		return time.Time{}, fmt.Errorf("hold slack effects: %w", err)
	}
	return until.UTC(), nil
}

// PutSlackEffects records effects (replacing earlier versions of the
// same case and key), held by owner for lease: the process that records
// them is sending them. It returns them with their versions.
func (s *Postgres) PutSlackEffects(ctx context.Context, owner string, lease time.Duration, effects []SlackEffect) ([]SlackEffect, error) {
	until, err := s.hold(ctx, owner, lease)
	if err != nil {
		return nil, err
	}
	out := make([]SlackEffect, 0, len(effects))
	for _, e := range effects {
		if err := checkEffect(e); err != nil {
			return nil, err
		}
		got, err := scanEffect(s.pool.QueryRow(ctx, `INSERT INTO slack_outbox (case_id, key, channel, thread_ts, ts, blocks, text,
 version, since, lease_owner) VALUES ($1, $2, $3, $4, $5, $6, $7, 1, now(), $8)
 ON CONFLICT (case_id, key) DO UPDATE SET channel = EXCLUDED.channel, thread_ts = EXCLUDED.thread_ts,
 ts = CASE WHEN EXCLUDED.ts = '' THEN slack_outbox.ts ELSE EXCLUDED.ts END, blocks = EXCLUDED.blocks, text = EXCLUDED.text,
 version = slack_outbox.version + 1, lease_owner = EXCLUDED.lease_owner
 RETURNING `+effectCols, e.CaseID, e.Key, e.Channel, e.ThreadTS, e.TS, e.Blocks, e.Text, owner))
		if pe, ok := errors.AsType[*pgconn.PgError](err); ok && pe.Code == "23503" { // foreign_key_violation
			return nil, fmt.Errorf("case %s: %w", e.CaseID, ErrNotFound)
		}
		if err != nil {
			return nil, fmt.Errorf("record slack effect %s/%s: %w", e.CaseID, e.Key, err)
		}
		got.LeaseUntil = until
		out = append(out, got)
	}
	return out, nil
}

// ClaimSlackEffects returns up to n effects nobody holds (never held,
// released, or their holder's hold passed), oldest first, now held by
// owner for lease; effects waiting for their thread's root are left.
// Replicas never claim the same effect.
func (s *Postgres) ClaimSlackEffects(ctx context.Context, owner string, lease time.Duration, n int) ([]SlackEffect, error) {
	until, err := s.hold(ctx, owner, lease)
	if err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, `UPDATE slack_outbox o SET lease_owner = $1
 FROM (SELECT f.case_id, f.key FROM slack_outbox f LEFT JOIN slack_outbox_holders h ON h.owner = f.lease_owner
 WHERE (f.lease_owner = '' OR h.owner IS NULL OR h.until <= now())
 AND NOT (f.ts = '' AND f.thread_ts = '' AND f.key <> $3)
 ORDER BY f.since LIMIT $2 FOR UPDATE OF f SKIP LOCKED) c
 WHERE o.case_id = c.case_id AND o.key = c.key RETURNING `+prefixed("o.", effectCols), owner, n, RootKey)
	if err != nil {
		return nil, fmt.Errorf("claim slack effects: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SlackEffect, error) { return scanEffect(r) })
	if err != nil {
		return nil, fmt.Errorf("claim slack effects: %w", err)
	}
	for i := range out {
		out[i].LeaseUntil = until
	}
	slices.SortFunc(out, func(a, b SlackEffect) int { return a.Since.Compare(b.Since) })
	return out, nil
}

// SlackEffectDone records that version of the case's key was delivered:
// the effect is removed, unless a newer version was recorded meanwhile;
// then ts (the message a post created) is kept for it, so it updates
// that message instead of posting another. The ts of a posted root
// becomes the thread of the case's effects waiting for it.
func (s *Postgres) SlackEffectDone(ctx context.Context, caseID, key string, version int64, ts string) error {
	if key == RootKey && ts != "" {
		if _, err := s.pool.Exec(ctx, `UPDATE slack_outbox SET thread_ts = $2 WHERE case_id = $1 AND ts = '' AND thread_ts = '' AND key <> $3`,
			caseID, ts, RootKey); err != nil {
			return fmt.Errorf("slack effect %s/%s done: thread the waiting effects: %w", caseID, key, err)
		}
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM slack_outbox WHERE case_id = $1 AND key = $2 AND version = $3`, caseID, key, version)
	if err != nil {
		return fmt.Errorf("slack effect %s/%s done: %w", caseID, key, err)
	}
	if tag.RowsAffected() == 0 && ts != "" {
		if _, err := s.pool.Exec(ctx, `UPDATE slack_outbox SET ts = $3 WHERE case_id = $1 AND key = $2 AND ts = ''`, caseID, key, ts); err != nil {
			return fmt.Errorf("slack effect %s/%s done: %w", caseID, key, err)
		}
	}
	return nil
}

// RenewSlackEffects extends owner's hold on its effects to lease from
// now: one row, however many effects it holds.
func (s *Postgres) RenewSlackEffects(ctx context.Context, owner string, lease time.Duration) error {
	_, err := s.hold(ctx, owner, lease)
	return err
}

// ReleaseSlackEffects lets anyone claim owner's effects at once (a
// graceful shutdown hands them to the next process).
func (s *Postgres) ReleaseSlackEffects(ctx context.Context, owner string) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM slack_outbox_holders WHERE owner = $1`, owner); err != nil {
		return fmt.Errorf("release slack effects: %w", err)
	}
	return nil
}

// SlackOutbox returns how many effects wait and since when the oldest
// does (zero when none).
func (s *Postgres) SlackOutbox(ctx context.Context) (depth int, oldest time.Time, err error) {
	var o *time.Time
	if err := s.pool.QueryRow(ctx, `SELECT count(*), min(since) FROM slack_outbox`).Scan(&depth, &o); err != nil {
		return 0, time.Time{}, fmt.Errorf("read slack outbox: %w", err)
	}
	if o != nil {
		oldest = o.UTC()
	}
	return depth, oldest, nil
}

// prefixed qualifies each of the comma-separated columns with p.
func prefixed(p, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = p + c
	}
	return strings.Join(parts, ", ")
}
