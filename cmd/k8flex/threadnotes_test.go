package main

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
