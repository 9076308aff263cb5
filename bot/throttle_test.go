package bot

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

// scale shrinks Slack's real intervals so the throttling proof runs in
// seconds: 3 s per message → 150 ms, 50 chat.update per minute → 50 per
// 3 s, 50 chunks/s → 1000 chunks/s. Every rate keeps its ratio.
const scale = 20

// TestThrottleTenConcurrentInvestigations is issue 5's "done when": a
// 20 kB analysis streamed at 50 chunks/s (scaled) by each of 10
// concurrent investigations gives at most one update per interval per
// message and never more than 50 chat.update calls in any window, judged
// on the times the fake Slack received the calls.
func TestThrottleTenConcurrentInvestigations(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	cfg.UpdateInterval = 3 * time.Second / scale
	cfg.UpdatesPerWindow = 50
	cfg.UpdateWindow = time.Minute / scale
	chunkEvery := time.Second / 50 / scale
	b := startBot(t, fs, cfg, Deps{})

	analysis := bigAnalysis(20 << 10)
	const investigations = 10
	var wg sync.WaitGroup
	reporters := make([]*Reporter, investigations)
	for i := range investigations {
		inv := testInvestigation(fmt.Sprintf("case-%02d", i), testAlert(fmt.Sprintf("Alert%02d", i)))
		r := b.Reporter("")
		reporters[i] = r
		wg.Go(func() {
			ctx := context.Background()
			if err := r.Started(ctx, inv); err != nil {
				t.Errorf("Started: %v", err)
				return
			}
			chunks := chunksOf(analysis, 10) // 2000 chunks: 40 s at 50 chunks/s, 2 s scaled
			start := time.Now()
			for sent := 0; sent < len(chunks); {
				due := min(len(chunks), int(time.Since(start)/chunkEvery)+1)
				for ; sent < due; sent++ {
					r.Chunk(ctx, chunks[sent])
				}
				time.Sleep(chunkEvery)
			}
			_ = r.Finished(ctx, testResult(inv, analysis))
		})
	}
	wg.Wait()
	for _, r := range reporters {
		select {
		case <-r.Done():
		case <-time.After(60 * time.Second):
			t.Fatal("a reporter did not finish")
		}
	}

	all := fs.Calls("chat.update")
	if len(all) <= cfg.UpdatesPerWindow {
		t.Fatalf("only %d chat.update calls; the test does not exercise the app-wide limit of %d", len(all), cfg.UpdatesPerWindow)
	}
	// Per message: at most one update per interval.
	byTS := map[string][]time.Time{}
	for _, c := range all {
		byTS[c.Args.Get("ts")] = append(byTS[c.Args.Get("ts")], c.At)
	}
	for ts, times := range byTS {
		for i := 1; i < len(times); i++ {
			if gap := times[i].Sub(times[i-1]); gap < cfg.UpdateInterval {
				t.Errorf("message %s updated twice within %s (want ≥ %s)", ts, gap, cfg.UpdateInterval)
			}
		}
	}
	// Across the app: never more than 50 in any window.
	times := make([]time.Time, 0, len(all))
	for _, c := range all {
		times = append(times, c.At)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	for i := 0; i+cfg.UpdatesPerWindow < len(times); i++ {
		if span := times[i+cfg.UpdatesPerWindow].Sub(times[i]); span < cfg.UpdateWindow {
			t.Fatalf("%d chat.update calls within %s (limit %d per %s)", cfg.UpdatesPerWindow+1, span, cfg.UpdatesPerWindow, cfg.UpdateWindow)
		}
	}
	t.Logf("%d chat.update calls for %d messages over %s", len(all), len(byTS), times[len(times)-1].Sub(times[0]))

	// Coalescing lost nothing: every thread ends with the whole analysis,
	// split over messages within Slack's limits, the last with buttons.
	for i, r := range reporters {
		_, rootTS := r.Thread()
		var body strings.Builder
		var last fakeslack.Message
		for _, m := range fs.Messages() {
			if m.ThreadTS == rootTS {
				checkLimits(t, fmt.Sprintf("investigation %d message %s", i, m.TS), m.Blocks, MaxMessageBlocks)
				body.WriteString(texts(t, m.Blocks))
				last = m
			}
		}
		if !strings.Contains(body.String(), "line 0000 ") || !strings.Contains(body.String(), lastLine(analysis)) {
			t.Errorf("investigation %d: the thread does not hold the whole analysis", i)
		}
		if !strings.Contains(last.Blocks, actionCorrect) {
			t.Errorf("investigation %d: the last message has no feedback buttons", i)
		}
	}
}

// bigAnalysis is about n bytes of markdown analysis in numbered lines.
func bigAnalysis(n int) string {
	var b strings.Builder
	b.WriteString("## Root cause\nThe pod runs out of memory under load.\n## Evidence\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "- line %04d container app OOMKilled, exit code 137, limit 256Mi <@U0EVIL>\n", i)
	}
	return b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	l := strings.TrimPrefix(lines[len(lines)-1], "- ")
	return l[:20]
}

// TestRetryAfterPausesUpdates: a 429 with Retry-After stops every
// chat.update until it has passed, and the update is retried.
func TestRetryAfterPausesUpdates(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	b := startBot(t, fs, cfg, Deps{})
	fs.RateLimit("chat.update", time.Second)
	inv := testInvestigation("case-rl", testAlert("KubePodCrashLooping"))
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	r.Chunk(ctx, sampleAnalysis)
	_ = r.Finished(ctx, testResult(inv, sampleAnalysis))
	select {
	case <-r.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("reporter did not finish")
	}
	calls := fs.Calls("chat.update")
	var limited time.Time
	for _, c := range calls {
		if c.Status == 429 {
			limited = c.At
			continue
		}
		if !limited.IsZero() && c.At.Sub(limited) < time.Second {
			t.Errorf("chat.update %s after a 429 with Retry-After: 1", c.At.Sub(limited))
		}
	}
	if limited.IsZero() {
		t.Fatal("the injected 429 was never hit")
	}
	_, rootTS := r.Thread()
	for _, m := range fs.Messages() {
		if m.ThreadTS == rootTS && !strings.Contains(texts(t, m.Blocks), "Analysis complete") {
			t.Errorf("the analysis never got its final update after the 429")
		}
	}
}

// TestUrgentCallsGoFirst: while the only slot is taken, five ordinary
// calls and then one urgent call wait; the urgent call gets the next slot.
func TestUrgentCallsGoFirst(t *testing.T) {
	l := newWindowLimiter(1, 20*time.Millisecond)
	ctx := context.Background()
	hold, err := l.acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	order := make(chan string, 6)
	var wg sync.WaitGroup
	call := func(name string, urgent bool) {
		wg.Go(func() {
			release, err := l.acquire(ctx, urgent)
			if err != nil {
				t.Error(err)
				return
			}
			order <- name
			release()
		})
	}
	for i := range 5 {
		call(fmt.Sprintf("ordinary %d", i), false)
	}
	call("urgent", true)
	eventually(t, 5*time.Second, "the urgent call waiting", func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return l.urgent == 1
	})
	hold()
	wg.Wait()
	close(order)
	if first := <-order; first != "urgent" {
		t.Errorf("the first call after the slot freed was %q, want the urgent one", first)
	}
}

// TestWindowLimiterReplay: calls another process made (the previous one,
// a replica) fill the window as if this one had made them; while the
// window has no call left for every message streaming, the interval of
// intermediate updates stretches until enough have aged out.
func TestWindowLimiterReplay(t *testing.T) {
	const limit, window = 5, 500 * time.Millisecond
	l := newWindowLimiter(limit, window)
	base := 10 * time.Millisecond
	l.streaming(2)
	if got := l.interval(base); got != base {
		t.Fatalf("interval with a free window = %s, want %s", got, base)
	}
	now := time.Now()
	l.replay([]time.Time{now.Add(-100 * time.Millisecond), now.Add(-300 * time.Millisecond), now.Add(-200 * time.Millisecond), now.Add(-50 * time.Millisecond)})
	// 1 call left for 2 streams: the oldest must age out (in 200 ms).
	if got := l.interval(base); got < 150*time.Millisecond || got > 200*time.Millisecond {
		t.Errorf("interval with 1 call left for 2 streams = %s, want about 200ms", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	release, err := l.acquire(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	release()
	// The window is full: the next call waits for the oldest replayed one.
	start := time.Now()
	release, err = l.acquire(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	release()
	if waited := time.Since(start); waited < 150*time.Millisecond {
		t.Errorf("a call went %s after the replayed calls filled the window, want ≥ 200ms", waited)
	}
}
