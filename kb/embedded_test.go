package kb

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"
	bolt "go.etcd.io/bbolt"

	"github.com/k8flex/k8flex/investigate"
)

func openTestEmbedded(t *testing.T, dims int) *Embedded {
	t.Helper()
	s, err := OpenEmbedded(filepath.Join(t.TempDir(), "kb.db"), EmbeddedConfig{Dimensions: dims, WorkspaceURL: "https://acme.slack.com"}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func embeddedHarness() harness {
	return harness{open: func(t *testing.T, dims int) (backend, func(int, bool) (backend, error)) {
		path := filepath.Join(t.TempDir(), "kb.db")
		s, err := OpenEmbedded(path, EmbeddedConfig{Dimensions: dims}, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s, func(dims int, allow bool) (backend, error) {
			return OpenEmbedded(path, EmbeddedConfig{Dimensions: dims, AllowDimensionChange: allow}, zerolog.Nop())
		}
	}}
}

func TestEmbeddedConformance(t *testing.T) {
	runConformance(t, embeddedHarness())
}

func TestEmbeddedSecondProcessRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := OpenEmbedded(path, EmbeddedConfig{Dimensions: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = OpenEmbedded(path, EmbeddedConfig{Dimensions: 4, OpenTimeout: 50 * time.Millisecond}, zerolog.Nop())
	if err == nil {
		t.Fatal("a second open of a locked store succeeded")
	}
}

func TestEmbeddedConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  EmbeddedConfig
		want string
	}{
		{"ok", EmbeddedConfig{Dimensions: 384}, ""},
		{"no dimensions", EmbeddedConfig{}, "kb.dimensions"},
		{"negative attempts", EmbeddedConfig{Dimensions: 3, MaxAttempts: -1}, "kb.max_attempts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Fatalf("Validate() = %v, want error naming %q", err, tt.want)
			}
		})
	}
}

// TestEmbeddedRestartResumesRunningCases: cases a crashed process was
// running are claimable as soon as the store is opened again (the file
// lock proves no other process holds them), not one lease later.
func TestEmbeddedRestartResumesRunningCases(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := OpenEmbedded(path, EmbeddedConfig{Dimensions: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	a := investigate.Alert{Status: "firing", Labels: map[string]string{"alertname": "KubePodCrashLooping", "namespace": "shop", "pod": "web-0"},
		StartsAt: time.Date(2026, 11, 27, 1, 0, 0, 0, time.UTC), Fingerprint: "f1"}
	if _, err := s.Enqueue(ctx, []investigate.Request{{Alert: &a}}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "dead-worker", time.Hour, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	_ = s.Close() // the process dies holding an hour-long lease

	s, err = OpenEmbedded(path, EmbeddedConfig{Dimensions: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Claim(ctx, "new-worker", time.Minute, 1)
	if err != nil || len(again) != 1 || again[0].ID != claimed[0].ID {
		t.Fatalf("after restart, claim = %v, %v; want the interrupted case %s", again, err, claimed[0].ID)
	}
	if again[0].Attempt != 2 {
		t.Errorf("attempt %d, want 2: the interrupted claim still counts", again[0].Attempt)
	}
}

// TestEmbeddedOpensQueueOfEarlierFormat: files written before the queue
// carried leases hold a plain case id for running cases too. Opening one
// requeues the running case (its head says running) and rewrites the
// entry, so it is claimed again at once.
func TestEmbeddedOpensQueueOfEarlierFormat(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := OpenEmbedded(path, EmbeddedConfig{Dimensions: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(ctx, []investigate.Request{alertReq("Old", "fp-old", time.Now().Truncate(time.Millisecond), nil)}); err != nil {
		t.Fatal(err)
	}
	claimed, err := s.Claim(ctx, "old-worker", time.Hour, 1)
	if err != nil || len(claimed) != 1 {
		t.Fatalf("claim: %v %v", claimed, err)
	}
	// Rewrite the entry as the earlier format stored it: the id alone.
	err = s.db.Update(func(tx *bolt.Tx) error {
		q := tx.Bucket(bQueue)
		k, v := q.Cursor().First()
		if _, _, running := parseQueueValue(v); !running {
			t.Errorf("queue entry of a running case %q carries no lease", v)
		}
		return q.Put(bytes.Clone(k), []byte(claimed[0].ID))
	})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Close()

	s, err = OpenEmbedded(path, EmbeddedConfig{Dimensions: 4}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	again, err := s.Claim(ctx, "new-worker", time.Minute, 1)
	if err != nil || len(again) != 1 || again[0].ID != claimed[0].ID || again[0].Request.AlertName() != "Old" {
		t.Fatalf("claim after reopening = %+v, %v; want case %s with its request", again, err, claimed[0].ID)
	}
	if other, err := s.Claim(ctx, "other-worker", time.Minute, 1); err != nil || len(other) != 0 {
		t.Fatalf("a second claim took the leased case: %+v, %v", other, err)
	}
}

// TestEmbeddedClaimSkipsLeasedCasesByQueueEntry: a claim steps over the
// cases other workers hold (read from the queue entry's lease) and takes
// the queued ones behind them, with their requests.
func TestEmbeddedClaimSkipsLeasedCasesByQueueEntry(t *testing.T) {
	ctx := context.Background()
	s := openTestEmbedded(t, 4)
	starts := time.Now().Truncate(time.Millisecond)
	var reqs []investigate.Request
	for i := range 10 {
		reqs = append(reqs, alertReq(fmt.Sprintf("A%d", i), fmt.Sprintf("fp-%d", i), starts, nil))
	}
	if _, err := s.Enqueue(ctx, reqs); err != nil {
		t.Fatal(err)
	}
	held, err := s.Claim(ctx, "w1", time.Hour, 6)
	if err != nil || len(held) != 6 {
		t.Fatalf("first claim: %d, %v", len(held), err)
	}
	rest, err := s.Claim(ctx, "w2", time.Hour, 10)
	if err != nil || len(rest) != 4 {
		t.Fatalf("second claim: %d cases, %v; want the 4 not held", len(rest), err)
	}
	seen := map[string]bool{}
	for _, c := range append(held, rest...) {
		if seen[c.ID] {
			t.Fatalf("case %s claimed twice", c.ID)
		}
		seen[c.ID] = true
		if c.Request.Alert == nil || c.Request.ID != c.ID {
			t.Fatalf("claimed case %s without its request: %+v", c.ID, c.Request)
		}
	}
	if d, _ := s.QueueDepth(ctx); d != 10 {
		t.Fatalf("queue depth %d, want 10 running", d)
	}
}

// The embedded store serves one process: after a restart (also after a
// crash, without a release) the Slack effects the previous process held
// are free for the new one at once.
func TestEmbeddedRestartFreesSlackEffects(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kb.db")
	s, err := OpenEmbedded(path, EmbeddedConfig{Dimensions: testDims}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	id := recordCase(t, s, "KubePodCrashLooping", "restart-1", investigate.PodCrash, "bad image")
	e := SlackEffect{CaseID: id, Key: "root", Channel: "C1", TS: "1.000001", Blocks: "[]", Text: "done"}
	if _, err := s.PutSlackEffects(ctx, "before", time.Hour, []SlackEffect{e}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s, err = OpenEmbedded(path, EmbeddedConfig{Dimensions: testDims}, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if d, oldest, err := s.SlackOutbox(ctx); err != nil || d != 1 || oldest.IsZero() {
		t.Fatalf("outbox after the restart = %d since %s, %v; want the effect", d, oldest, err)
	}
	got, err := s.ClaimSlackEffects(ctx, "after", time.Minute, 10)
	if err != nil || len(got) != 1 || got[0].Key != "root" || got[0].Version != 1 {
		t.Fatalf("claimed %+v, %v after the restart; want the root effect", got, err)
	}
}
