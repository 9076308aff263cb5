package kb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// SlackBudget is how one process spent one scope of Slack's rate budget
// (a Web API method, or a method in one channel): the calls it made in
// the scope's current window and the pause Slack asked for. A process
// that starts, and its replicas on one PostgreSQL, count these calls
// against their own budget, so a restart does not begin from a full
// budget while Slack's window still holds the previous process's calls.
type SlackBudget struct {
	Owner string `json:"owner"`
	Scope string `json:"scope"`
	// Calls are the times of the calls in the window, oldest first.
	Calls []time.Time `json:"calls"`
	// PauseUntil is the end of the Retry-After Slack asked for (zero:
	// none).
	PauseUntil time.Time `json:"pause_until,omitzero"`
	// Updated is when the owner last recorded the scope (set by the
	// store).
	Updated time.Time `json:"updated"`
}

var bBudget = []byte("slack_budget") // owner \x00 scope -> SlackBudget (JSON)

// budgetKeep is how long a scope nobody records any more is kept.
const budgetKeep = time.Hour

func budgetKey(owner, scope string) []byte { return []byte(owner + "\x00" + scope) }

func checkBudget(owner string, b SlackBudget) error {
	if owner == "" || b.Scope == "" {
		return fmt.Errorf("slack budget %s/%s: owner and scope are required", owner, b.Scope)
	}
	return nil
}

// PutSlackBudget records owner's spending of the given scopes (replacing
// what it recorded of them before) and forgets scopes nobody recorded
// for an hour.
func (s *Embedded) PutSlackBudget(ctx context.Context, owner string, scopes []SlackBudget) error {
	now := time.Now().UTC()
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bBudget)
		if err != nil {
			return err
		}
		var stale [][]byte
		_ = b.ForEach(func(k, v []byte) error {
			var e struct {
				Updated time.Time `json:"updated"`
			}
			if json.Unmarshal(v, &e) == nil && now.Sub(e.Updated) > budgetKeep {
				stale = append(stale, slices.Clone(k))
			}
			return nil
		})
		for _, k := range stale {
			if err := b.Delete(k); err != nil {
				return err
			}
		}
		for _, sc := range scopes {
			if err := checkBudget(owner, sc); err != nil {
				return err
			}
			sc.Owner, sc.Updated = owner, now
			js, err := json.Marshal(sc)
			if err != nil {
				return err
			}
			if err := b.Put(budgetKey(owner, sc.Scope), js); err != nil {
				return fmt.Errorf("record slack budget %s: %w", sc.Scope, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record slack budget: %w", err)
	}
	return nil
}

// SlackBudgets returns every owner's scopes recorded since since, each
// with only its calls and pause after since.
func (s *Embedded) SlackBudgets(ctx context.Context, since time.Time) ([]SlackBudget, error) {
	var out []SlackBudget
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bBudget)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			var sc SlackBudget
			if err := json.Unmarshal(v, &sc); err != nil {
				return fmt.Errorf("decode slack budget %q: %w", strings.ReplaceAll(string(k), "\x00", "/"), err)
			}
			if sc, ok := trimBudget(sc, since); ok {
				out = append(out, sc)
			}
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("read slack budget: %w", err)
	}
	return out, nil
}

// trimBudget keeps the calls and pause of sc after since; false when
// nothing is left or sc was recorded before since.
func trimBudget(sc SlackBudget, since time.Time) (SlackBudget, bool) {
	if sc.Updated.Before(since) && !sc.PauseUntil.After(since) {
		return sc, false
	}
	i := 0
	for i < len(sc.Calls) && !sc.Calls[i].After(since) {
		i++
	}
	sc.Calls = sc.Calls[i:]
	for j := range sc.Calls {
		sc.Calls[j] = sc.Calls[j].UTC()
	}
	if !sc.PauseUntil.After(since) {
		sc.PauseUntil = time.Time{}
	}
	sc.PauseUntil, sc.Updated = sc.PauseUntil.UTC(), sc.Updated.UTC()
	return sc, len(sc.Calls) > 0 || !sc.PauseUntil.IsZero()
}

// PutSlackBudget records owner's spending of the given scopes (replacing
// what it recorded of them before) and forgets scopes nobody recorded
// for an hour.
func (s *Postgres) PutSlackBudget(ctx context.Context, owner string, scopes []SlackBudget) error {
	batch := &pgx.Batch{}
	batch.Queue(`DELETE FROM slack_budget WHERE updated < now() - $1 * interval '1 microsecond'`, budgetKeep.Microseconds())
	for _, sc := range scopes {
		if err := checkBudget(owner, sc); err != nil {
			return err
		}
		var pause *time.Time
		if !sc.PauseUntil.IsZero() {
			pause = &sc.PauseUntil
		}
		calls := sc.Calls
		if calls == nil {
			calls = []time.Time{}
		}
		batch.Queue(`INSERT INTO slack_budget (owner, scope, calls, pause_until, updated) VALUES ($1, $2, $3, $4, now())
 ON CONFLICT (owner, scope) DO UPDATE SET calls = EXCLUDED.calls, pause_until = EXCLUDED.pause_until, updated = now()`,
			owner, sc.Scope, calls, pause)
	}
	if err := s.pool.SendBatch(ctx, batch).Close(); err != nil {
		return fmt.Errorf("record slack budget: %w", err)
	}
	return nil
}

// SlackBudgets returns every owner's scopes recorded since since, each
// with only its calls and pause after since.
func (s *Postgres) SlackBudgets(ctx context.Context, since time.Time) ([]SlackBudget, error) {
	rows, err := s.pool.Query(ctx, `SELECT owner, scope, calls, pause_until, updated FROM slack_budget
 WHERE updated > $1 OR pause_until > $1 ORDER BY owner, scope`, since)
	if err != nil {
		return nil, fmt.Errorf("read slack budget: %w", err)
	}
	all, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (SlackBudget, error) {
		var sc SlackBudget
		var pause *time.Time
		err := r.Scan(&sc.Owner, &sc.Scope, &sc.Calls, &pause, &sc.Updated)
		if pause != nil {
			sc.PauseUntil = *pause
		}
		return sc, err
	})
	if err != nil {
		return nil, fmt.Errorf("read slack budget: %w", err)
	}
	var out []SlackBudget
	for _, sc := range all {
		if sc, ok := trimBudget(sc, since); ok {
			out = append(out, sc)
		}
	}
	return out, nil
}
