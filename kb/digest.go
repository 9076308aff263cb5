package kb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	bolt "go.etcd.io/bbolt"
)

// SlackDigest is a storm digest: one Slack message per channel and group
// that counts the alerts of a storm (by workload, with a few of their
// targets) instead of a thread per alert. Both stores keep it with this
// contract:
//
// AddToSlackDigest counts case m.CaseID in the digest of (channel,
// group) and returns the digest as it is then. A case is counted once,
// however often it is added (an investigation made again after a crash).
// A digest not added to for window is over: the next add starts a new
// one (no ts, counts from zero, m's case carrying it). SlackDigestPosted
// records the ts of the digest's message. Concurrent adds from any number
// of processes sharing the store are each counted once.
type SlackDigest struct {
	Channel string `json:"channel"`
	Group   string `json:"group"`
	// CaseID is the case whose Slack effects carry the digest message:
	// its first member.
	CaseID string `json:"case_id"`
	// TS is the digest message once posted ("" before).
	TS string `json:"ts,omitempty"`
	// Alerts counts the members; ByWorkload counts them by
	// SlackDigestMember.Workload.
	Alerts     int            `json:"alerts"`
	ByWorkload map[string]int `json:"by_workload"`
	// Samples are the targets of the first DigestSamples members.
	Samples []string  `json:"samples"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
}

// SlackDigestMember is one alert (its case) counted in a digest.
type SlackDigestMember struct {
	CaseID string
	// Workload is what the alert is counted under ("Deployment/checkout",
	// a container name …); empty counts under "".
	Workload string
	// Target names the alert's object for the samples ("pod shop/web-1").
	Target string
}

// DigestSamples is how many member targets a digest keeps by name.
const DigestSamples = 5

var (
	bDigests       = []byte("digests")        // channel \x00 group -> SlackDigest (JSON)
	bDigestMembers = []byte("digest_members") // channel \x00 group \x00 case id -> nil
)

func checkDigest(channel, group string, window time.Duration, m SlackDigestMember) error {
	if channel == "" || group == "" || m.CaseID == "" || window <= 0 {
		return errors.New("slack digest: channel, group, case and a positive window are required")
	}
	return nil
}

// count adds m to d (a member not counted before).
func (d *SlackDigest) count(m SlackDigestMember) {
	if d.ByWorkload == nil {
		d.ByWorkload = map[string]int{}
	}
	d.Alerts++
	d.ByWorkload[m.Workload]++
	if len(d.Samples) < DigestSamples && m.Target != "" {
		d.Samples = append(d.Samples, m.Target)
	}
}

// fresh starts a digest carried by m's case.
func freshDigest(channel, group string, m SlackDigestMember, now time.Time) SlackDigest {
	return SlackDigest{Channel: channel, Group: group, CaseID: m.CaseID, ByWorkload: map[string]int{}, Samples: []string{},
		Started: now, Updated: now}
}

func digestKey(channel, group string) []byte { return []byte(channel + "\x00" + group) }

// AddToSlackDigest implements the SlackDigest contract for the embedded
// store, in one transaction.
func (s *Embedded) AddToSlackDigest(ctx context.Context, channel, group string, window time.Duration, m SlackDigestMember) (SlackDigest, error) {
	if err := checkDigest(channel, group, window, m); err != nil {
		return SlackDigest{}, err
	}
	var out SlackDigest
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b, members := tx.Bucket(bDigests), tx.Bucket(bDigestMembers)
		k := digestKey(channel, group)
		now := time.Now().UTC()
		d := freshDigest(channel, group, m, now)
		if v := b.Get(k); v != nil {
			var old SlackDigest
			if err := json.Unmarshal(v, &old); err != nil {
				return fmt.Errorf("decode slack digest %s/%s: %w", channel, group, err)
			}
			if now.Sub(old.Updated) < window {
				d = old
			} else if err := deletePrefix(members, []byte(channel+"\x00"+group+"\x00")); err != nil {
				return err
			}
		}
		mk := []byte(channel + "\x00" + group + "\x00" + m.CaseID)
		if members.Get(mk) == nil {
			if err := members.Put(mk, nil); err != nil {
				return err
			}
			d.count(m)
		}
		d.Updated = now
		js, err := json.Marshal(d)
		if err != nil {
			return err
		}
		out = d
		return b.Put(k, js)
	})
	if err != nil {
		return SlackDigest{}, fmt.Errorf("add to slack digest %s/%s: %w", channel, group, err)
	}
	return out, nil
}

func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && len(k) >= len(prefix) && string(k[:len(prefix)]) == string(prefix); k, _ = c.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// SlackDigestPosted records the ts of the digest's message.
func (s *Embedded) SlackDigestPosted(ctx context.Context, channel, group, ts string) error {
	err := s.update(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bDigests)
		k := digestKey(channel, group)
		v := b.Get(k)
		if v == nil {
			return ErrNotFound
		}
		var d SlackDigest
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode slack digest %s/%s: %w", channel, group, err)
		}
		d.TS = ts
		js, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return b.Put(k, js)
	})
	if err != nil {
		return fmt.Errorf("slack digest %s/%s posted: %w", channel, group, err)
	}
	return nil
}

// AddToSlackDigest implements the SlackDigest contract for PostgreSQL,
// in one transaction that locks the digest's row.
func (s *Postgres) AddToSlackDigest(ctx context.Context, channel, group string, window time.Duration, m SlackDigestMember) (SlackDigest, error) {
	if err := checkDigest(channel, group, window, m); err != nil {
		return SlackDigest{}, err
	}
	var out SlackDigest
	grp := incidentKey(group) // groups may hold NUL bytes, which text refuses
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO slack_digests (channel, grp, case_id, started, updated) VALUES ($1, $2, $3, now(), now())
 ON CONFLICT (channel, grp) DO NOTHING`, channel, grp, m.CaseID); err != nil {
			return err
		}
		var d SlackDigest
		var byWorkload, samples []byte
		var over bool
		if err := tx.QueryRow(ctx, `SELECT case_id, ts, alerts, by_workload, samples, started, updated,
 alerts > 0 AND now() - updated >= $3 * interval '1 microsecond'
 FROM slack_digests WHERE channel = $1 AND grp = $2 FOR UPDATE`, channel, grp, window.Microseconds()).
			Scan(&d.CaseID, &d.TS, &d.Alerts, &byWorkload, &samples, &d.Started, &d.Updated, &over); err != nil {
			return err
		}
		d.Channel, d.Group = channel, group
		if err := json.Unmarshal(byWorkload, &d.ByWorkload); err != nil {
			return fmt.Errorf("decode by_workload: %w", err)
		}
		if err := json.Unmarshal(samples, &d.Samples); err != nil {
			return fmt.Errorf("decode samples: %w", err)
		}
		if over {
			if _, err := tx.Exec(ctx, `DELETE FROM slack_digest_members WHERE channel = $1 AND grp = $2`, channel, grp); err != nil {
				return err
			}
			d = freshDigest(channel, group, m, time.Now())
			if err := tx.QueryRow(ctx, `SELECT now()`).Scan(&d.Started); err != nil {
				return err
			}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO slack_digest_members (channel, grp, case_id) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`,
			channel, grp, m.CaseID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			d.count(m)
		}
		if byWorkload, err = json.Marshal(d.ByWorkload); err != nil {
			return err
		}
		if samples, err = json.Marshal(d.Samples); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `UPDATE slack_digests SET case_id = $3, ts = $4, alerts = $5, by_workload = $6, samples = $7,
 started = $8, updated = now() WHERE channel = $1 AND grp = $2 RETURNING updated`,
			channel, grp, d.CaseID, d.TS, d.Alerts, byWorkload, samples, d.Started).Scan(&d.Updated); err != nil {
			return err
		}
		d.Started, d.Updated = d.Started.UTC(), d.Updated.UTC()
		out = d
		return nil
	})
	if err != nil {
		return SlackDigest{}, fmt.Errorf("add to slack digest %s/%s: %w", channel, group, err)
	}
	return out, nil
}

// SlackDigestPosted records the ts of the digest's message.
func (s *Postgres) SlackDigestPosted(ctx context.Context, channel, group, ts string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE slack_digests SET ts = $3 WHERE channel = $1 AND grp = $2`, channel, incidentKey(group), ts)
	if err != nil {
		return fmt.Errorf("slack digest %s/%s posted: %w", channel, group, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("slack digest %s/%s posted: %w", channel, group, ErrNotFound)
	}
	return nil
}
