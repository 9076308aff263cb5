package server

import (
	"context"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// threadNotes counts events per case (alerts folded into an incident,
// repeated notifications of a firing alert, a resolved alert) and shows
// them on the case's Slack thread. Events are coalesced: each root message
// is updated at most once per interval, by one goroutine, however large
// the storm, so the notes never eat the chat.update budget the analyses
// stream with, and what waits is one map entry per case. A case without
// events for noteMemory is forgotten.
type threadNotes struct {
	// thread finds the case's Slack thread ("" until it has one).
	thread func(ctx context.Context, caseID string) (channel, ts string, err error)
	// note updates the thread's root message with the count.
	note     func(ctx context.Context, channel, ts string, repeats int, at time.Time) error
	interval time.Duration
	log      zerolog.Logger

	mu     sync.Mutex
	counts map[string]int       // case id -> events so far
	dirty  map[string]time.Time // case id -> time of its latest event not shown yet
	last   map[string]time.Time // case id -> when its latest event was added
}

// noteMemory is how long a case's count is kept after its last event.
const noteMemory = 24 * time.Hour

func newThreadNotes(interval time.Duration, log zerolog.Logger,
	thread func(context.Context, string) (string, string, error),
	note func(context.Context, string, string, int, time.Time) error) *threadNotes {
	return &threadNotes{thread: thread, note: note, interval: interval, log: log,
		counts: map[string]int{}, dirty: map[string]time.Time{}, last: map[string]time.Time{}}
}

// add records one more event of case id, at the present time. It never
// blocks on Slack.
func (f *threadNotes) add(id string) { f.addAt(id, time.Now()) }

// addAt records one more event of case id that happened at at.
func (f *threadNotes) addAt(id string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.counts[id]++
	f.dirty[id] = at
	f.last[id] = time.Now()
}

// run flushes the changed counts every interval until ctx is done, then
// once more.
func (f *threadNotes) run(ctx context.Context) {
	t := time.NewTicker(f.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			f.flush(fctx)
			cancel()
			return
		case <-t.C:
			f.flush(ctx)
		}
	}
}

func (f *threadNotes) flush(ctx context.Context) {
	f.mu.Lock()
	for id, at := range f.last {
		if _, pending := f.dirty[id]; !pending && time.Since(at) > noteMemory {
			delete(f.last, id)
			delete(f.counts, id)
		}
	}
	due := make(map[string]time.Time, len(f.dirty))
	for id, at := range f.dirty {
		due[id] = at
	}
	f.mu.Unlock()
	for id, at := range due {
		channel, ts, err := f.thread(ctx, id)
		if err != nil || ts == "" {
			continue // no thread yet: try again at the next flush
		}
		f.mu.Lock()
		n := f.counts[id]
		if f.dirty[id].Equal(at) {
			delete(f.dirty, id)
		}
		f.mu.Unlock()
		if err := f.note(ctx, channel, ts, n, at); err != nil {
			f.log.Warn().Str("case", id).Str("error", err.Error()).Msg("note on the case's Slack thread")
		}
	}
}
