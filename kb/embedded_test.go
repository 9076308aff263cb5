package kb

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

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
