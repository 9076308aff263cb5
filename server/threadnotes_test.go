package server

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

func TestThreadNotesCoalesce(t *testing.T) {
	var mu sync.Mutex
	notes := map[string][]int{}
	hasThread := map[string]bool{"inc-1": true}
	f := newThreadNotes(time.Hour, zerolog.Nop(),
		func(_ context.Context, id string) (string, string, error) {
			mu.Lock()
			defer mu.Unlock()
			if !hasThread[id] {
				return "", "", nil
			}
			return "C1", "ts-" + id, nil
		},
		func(_ context.Context, _, ts string, n int, _ time.Time) error {
			mu.Lock()
			defer mu.Unlock()
			notes[ts] = append(notes[ts], n)
			return nil
		})
	ctx := context.Background()
	for range 100 {
		f.add("inc-1")
	}
	f.add("inc-2") // its thread is not posted yet
	f.flush(ctx)
	f.flush(ctx) // nothing changed: no second update
	if got := notes["ts-inc-1"]; len(got) != 1 || got[0] != 100 {
		t.Fatalf("inc-1 notes = %v, want one update with 100", got)
	}
	if len(notes["ts-inc-2"]) != 0 {
		t.Fatalf("inc-2 noted before it had a thread")
	}
	mu.Lock()
	hasThread["inc-2"] = true
	mu.Unlock()
	f.add("inc-1")
	f.flush(ctx)
	if got := notes["ts-inc-2"]; len(got) != 1 || got[0] != 1 {
		t.Fatalf("inc-2 notes = %v, want its pending count once it has a thread", got)
	}
	if got := notes["ts-inc-1"]; len(got) != 2 || got[1] != 101 {
		t.Fatalf("inc-1 notes = %v, want a second update with 101", got)
	}
}

// A resolve keeps the time it happened; a case idle for noteMemory is
// forgotten (its next event counts from one), one with a pending event is
// not.
func TestThreadNotesResolvedAndForgotten(t *testing.T) {
	var got []time.Time
	var counts []int
	f := newThreadNotes(time.Hour, zerolog.Nop(),
		func(_ context.Context, id string) (string, string, error) { return "C1", "ts-" + id, nil },
		func(_ context.Context, _, _ string, n int, at time.Time) error {
			got, counts = append(got, at), append(counts, n)
			return nil
		})
	ctx := context.Background()
	resolvedAt := time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)
	f.addAt("case-1", resolvedAt)
	f.flush(ctx)
	if len(got) != 1 || !got[0].Equal(resolvedAt) {
		t.Fatalf("noted at %v, want once at %s", got, resolvedAt)
	}

	f.mu.Lock()
	f.last["case-1"] = time.Now().Add(-noteMemory - time.Minute)
	f.mu.Unlock()
	f.add("case-2")
	f.mu.Lock()
	f.last["case-2"] = time.Now().Add(-noteMemory - time.Minute) // idle, but its event is not shown yet
	f.mu.Unlock()
	f.flush(ctx)
	f.mu.Lock()
	_, kept1 := f.counts["case-1"]
	f.mu.Unlock()
	if kept1 {
		t.Error("case-1 is still remembered after noteMemory without events")
	}
	if len(counts) != 2 || counts[1] != 1 {
		t.Fatalf("counts noted %v, want case-2's pending event shown", counts)
	}
	f.add("case-1")
	f.flush(ctx)
	if counts[len(counts)-1] != 1 {
		t.Errorf("case-1 counted %d after being forgotten, want 1", counts[len(counts)-1])
	}
}
