package kb

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// Both stores implement OpenIncidents with this contract:
//
// OpenIncidents answers, for each i, which case leads the incident named
// keys[i], caseIDs[i] proposing itself: the case recorded for the key when
// that was less than window ago (by the store's clock), else the proposer,
// which is then recorded as the leader from now. opened[i] is when
// leaders[i] was recorded. Proposals are decided in order (a repeated key
// gets the answer of its first proposal), in one transaction on the
// embedded store and one round trip on PostgreSQL. Concurrent calls from
// any number of processes sharing the store agree on one leader per key.
// Incidents older than window are forgotten as new ones are opened.

// pruneBatch bounds how many expired incidents one OpenIncidents forgets.
const pruneBatch = 64

// incidentKey is the stored form of a fold key: fixed length, and free of
// the NUL bytes fold keys use as separators (PostgreSQL text refuses them).
func incidentKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:16])
}

// OpenIncidents implements the contract above for the embedded store.
func (s *Embedded) OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error) {
	if err := checkProposals(keys, caseIDs, window); err != nil {
		return nil, nil, err
	}
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		leaders, opened = make([]string, len(keys)), make([]time.Time, len(keys))
		now := time.Now()
		inc, at := tx.Bucket(bIncidents), tx.Bucket(bIncidentsAt)
		if err := pruneIncidents(inc, at, now.Add(-window)); err != nil {
			return err
		}
		for i, key := range keys {
			hk := []byte(incidentKey(key))
			if v := inc.Get(hk); len(v) > 8 {
				t := time.Unix(0, int64(binary.BigEndian.Uint64(v[:8])))
				if now.Sub(t) < window {
					leaders[i], opened[i] = string(v[8:]), t
					continue
				}
				if err := at.Delete(incidentAtKey(t, hk)); err != nil {
					return err
				}
			}
			v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(caseIDs[i])), uint64(now.UnixNano()))
			if err := inc.Put(hk, append(v, caseIDs[i]...)); err != nil {
				return err
			}
			if err := at.Put(incidentAtKey(now, hk), nil); err != nil {
				return err
			}
			leaders[i], opened[i] = caseIDs[i], now
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("open incidents: %w", err)
	}
	return leaders, opened, nil
}

func checkProposals(keys, caseIDs []string, window time.Duration) error {
	switch {
	case window <= 0:
		return fmt.Errorf("open incidents: window must be positive, got %s", window)
	case len(keys) != len(caseIDs):
		return fmt.Errorf("open incidents: %d keys for %d cases", len(keys), len(caseIDs))
	}
	return nil
}

// incidentAtKey orders incidents by the time they were opened.
func incidentAtKey(t time.Time, hk []byte) []byte {
	return append(binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(hk)), uint64(t.UnixNano())), hk...)
}

// pruneIncidents forgets up to pruneBatch incidents opened before cutoff.
func pruneIncidents(inc, at *bolt.Bucket, cutoff time.Time) error {
	var old [][]byte
	c := at.Cursor()
	for k, _ := c.First(); k != nil && len(old) < pruneBatch; k, _ = c.Next() {
		if len(k) < 8 || int64(binary.BigEndian.Uint64(k[:8])) >= cutoff.UnixNano() {
			break
		}
		old = append(old, append([]byte(nil), k...))
	}
	for _, k := range old {
		if err := at.Delete(k); err != nil {
			return err
		}
		// The incident may have been opened again since; keep that one.
		if v := inc.Get(k[8:]); len(v) > 8 && string(v[:8]) == string(k[:8]) {
			if err := inc.Delete(k[8:]); err != nil {
				return err
			}
		}
	}
	return nil
}

// openIncidentSQL takes the key, or replaces an expired leader; otherwise
// it reads the leader in place. When a concurrent transaction inserted the
// key after the statement's snapshot, neither part returns a row.
const openIncidentSQL = `WITH ins AS (
  INSERT INTO fold_incidents AS i (key, case_id, opened_at) VALUES ($1, $2, clock_timestamp())
  ON CONFLICT (key) DO UPDATE SET case_id = EXCLUDED.case_id, opened_at = EXCLUDED.opened_at
  WHERE i.opened_at <= clock_timestamp() - $3 * interval '1 microsecond'
  RETURNING case_id, opened_at)
SELECT case_id, opened_at FROM ins
UNION ALL
SELECT case_id, opened_at FROM fold_incidents WHERE key = $1 AND NOT EXISTS (SELECT 1 FROM ins)`

// OpenIncidents implements the contract above for PostgreSQL: the
// proposals go in one pipelined batch, in key order, and the server's clock decides the
// window, as it does leases. A proposal that raced a concurrent insert of
// its key is asked again on its own (it then sees that leader).
func (s *Postgres) OpenIncidents(ctx context.Context, keys, caseIDs []string, window time.Duration) (leaders []string, opened []time.Time, err error) {
	if err := checkProposals(keys, caseIDs, window); err != nil {
		return nil, nil, err
	}
	if s.opens.Add(1)%64 == 0 {
		if _, err := s.pool.Exec(ctx, `DELETE FROM fold_incidents WHERE opened_at < clock_timestamp() - $1 * interval '1 microsecond'`,
			window.Microseconds()); err != nil {
			s.log.Warn().Err(err).Msg("forget expired fold incidents")
		}
	}
	leaders, opened = make([]string, len(keys)), make([]time.Time, len(keys))
	// The batch runs as one implicit transaction: rows are locked in key
	// order, so that two replicas' batches cannot deadlock.
	hashed := make([]string, len(keys))
	order := make([]int, len(keys))
	for i, k := range keys {
		hashed[i], order[i] = incidentKey(k), i
	}
	slices.SortStableFunc(order, func(a, b int) int { return strings.Compare(hashed[a], hashed[b]) })
	var b pgx.Batch
	for _, i := range order {
		b.Queue(openIncidentSQL, hashed[i], caseIDs[i], window.Microseconds()).QueryRow(func(row pgx.Row) error {
			err := row.Scan(&leaders[i], &opened[i])
			if errors.Is(err, pgx.ErrNoRows) {
				return nil // asked again below
			}
			return err
		})
	}
	if err := s.pool.SendBatch(ctx, &b).Close(); err != nil {
		return nil, nil, fmt.Errorf("open incidents: %w", err)
	}
	for i := range keys {
		for try := 0; leaders[i] == "" && try < 3; try++ {
			err := s.pool.QueryRow(ctx, openIncidentSQL, hashed[i], caseIDs[i], window.Microseconds()).Scan(&leaders[i], &opened[i])
			if err != nil && !errors.Is(err, pgx.ErrNoRows) {
				return nil, nil, fmt.Errorf("open incident: %w", err)
			}
		}
		if leaders[i] == "" {
			return nil, nil, fmt.Errorf("open incident: no leader for a key after 3 tries")
		}
	}
	return leaders, opened, nil
}
