package kb

import (
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

func TestThreadLink(t *testing.T) {
	for _, tt := range []struct {
		name, workspace, channel, ts, want string
	}{
		{"permalink", "https://acme.slack.com/", "C024BE91L", "1704364800.123456", "https://acme.slack.com/archives/C024BE91L/p1704364800123456"},
		{"no workspace", "", "C024BE91L", "1704364800.123456", "slack://channel/C024BE91L/1704364800.123456"},
		{"no thread", "https://acme.slack.com", "C024BE91L", "", ""},
		{"no channel (legacy import)", "https://acme.slack.com", "", "1.2", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := ThreadLink(tt.workspace, tt.channel, tt.ts); got != tt.want {
				t.Fatalf("ThreadLink() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestVerdictOf(t *testing.T) {
	for _, tt := range []struct {
		name               string
		correct, incorrect int
		want               Verdict
		validated          bool
	}{
		{"no votes", 0, 0, VerdictNone, false},
		{"one yes", 1, 0, VerdictCorrect, true},
		{"tie is not validated", 2, 2, VerdictIncorrect, false},
		{"more no", 1, 3, VerdictIncorrect, false},
		{"more yes", 3, 2, VerdictCorrect, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v, ok := verdictOf(tt.correct, tt.incorrect)
			if v != tt.want || ok != tt.validated {
				t.Fatalf("verdictOf(%d, %d) = %q, %v", tt.correct, tt.incorrect, v, ok)
			}
		})
	}
}

func TestEmbeddingText(t *testing.T) {
	// Imported cases without their request: name, severity, category, summary.
	c := &Case{AlertName: "KubePodCrashLooping", Severity: "critical", Category: investigate.PodCrash, Summary: "web-0 restarts"}
	if got, want := EmbeddingText(c), "KubePodCrashLooping severity critical category pod-crash web-0 restarts"; got != want {
		t.Fatalf("EmbeddingText() = %q, want %q", got, want)
	}
	// Recorded cases embed exactly what the engine embeds for an incoming
	// alert, or recall would compare different texts.
	a := investigate.Alert{Status: "firing", Labels: map[string]string{"alertname": "KubePodCrashLooping",
		"severity": "critical", "namespace": "shop"}, Annotations: map[string]string{"summary": "web-0 restarts"}}
	req := &investigate.Request{Alert: &a}
	c.Request = req
	if got, want := EmbeddingText(c), investigate.EmbeddingText(req, investigate.PodCrash); got != want {
		t.Fatalf("EmbeddingText() = %q, want the engine's %q", got, want)
	}
}

// TestNewIDTimeOrdered: ids are UUIDv7 text, unique, and ids made in
// later milliseconds sort after earlier ones (what keeps the stores'
// id indexes appending at their end).
func TestNewIDTimeOrdered(t *testing.T) {
	seen := map[string]bool{}
	prev := newID()
	for i := range 2000 {
		if i%500 == 0 {
			time.Sleep(2 * time.Millisecond)
		}
		id := newID()
		if len(id) != 36 || id[14] != '7' || !strings.ContainsRune("89ab", rune(id[19])) {
			t.Fatalf("id %q is not a version 7 UUID", id)
		}
		if seen[id] {
			t.Fatalf("id %q made twice", id)
		}
		seen[id] = true
		if id[:13] < prev[:13] {
			t.Fatalf("id %q sorts before the earlier %q", id, prev)
		}
		prev = id
	}
}
