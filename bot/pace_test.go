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

// finish waits for every reporter's thread to be final.
func finish(t *testing.T, timeout time.Duration, rs ...*Reporter) {
	t.Helper()
	deadline := time.After(timeout)
	for i, r := range rs {
		select {
		case <-r.Done():
		case <-deadline:
			t.Fatalf("reporter %d did not finish within %s", i, timeout)
		}
	}
}

// checkPaced reports the first violation of a token bucket (one call per
// every, burst at once) by the sorted call times, or "". tolerance
// absorbs the jitter between sending a call and its arrival.
func checkPaced(times []time.Time, every time.Duration, burst int, tolerance time.Duration) string {
	for i := range times {
		for j := i + 1; j < len(times); j++ {
			span := times[j].Sub(times[i])
			if allowed := burst + int((span+tolerance)/every); j-i+1 > allowed {
				return fmt.Sprintf("%d calls within %s (allowed %d at one per %s, burst %d)", j-i+1, span, allowed, every, burst)
			}
		}
	}
	return ""
}

// TestRateLimitedPostsAreNeverAbandoned: Slack answers the root message
// 429 six times in a row; the reporter posts it again after each
// Retry-After until Slack takes it, and the thread ends final.
func TestRateLimitedPostsAreNeverAbandoned(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	b := startBot(t, fs, testConfig(fs), Deps{})
	const rejections = 6
	for range rejections {
		fs.RateLimit("chat.postMessage", time.Second)
	}
	inv := testInvestigation("case-429", testAlert("KubePodCrashLooping"))
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatalf("Started after %d × 429: %v", rejections, err)
	}
	r.Chunk(ctx, sampleAnalysis)
	if err := r.Finished(ctx, testResult(inv, sampleAnalysis)); err != nil {
		t.Fatal(err)
	}
	finish(t, 20*time.Second, r)

	calls := fs.Calls("chat.postMessage")
	var prev time.Time
	limited := 0
	for _, c := range calls {
		if !prev.IsZero() && c.At.Sub(prev) < time.Second {
			t.Errorf("chat.postMessage %s after a 429 with Retry-After: 1", c.At.Sub(prev))
		}
		prev = time.Time{}
		if c.Status == 429 {
			limited++
			prev = c.At
		}
	}
	if limited != rejections {
		t.Errorf("%d posts answered 429, want %d", limited, rejections)
	}
	_, rootTS := r.Thread()
	if rootTS == "" {
		t.Fatal("the root message was never posted")
	}
	var final bool
	for _, m := range fs.Messages() {
		final = final || (m.ThreadTS == rootTS && strings.Contains(texts(t, m.Blocks), "Analysis complete"))
	}
	if !final {
		t.Error("the thread never showed the final analysis")
	}
}

// TestPostsArePacedPerChannel: twelve investigations in two channels
// post their messages at most one per PostInterval per channel (after a
// burst), judged on the times the fake Slack received them; a fake that
// enforces a looser limit hardly ever answers 429 (only when the
// machine's jitter bunches posts up); the channels do not wait for each
// other.
func TestPostsArePacedPerChannel(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	cfg.PostInterval, cfg.PostBurst = 200*time.Millisecond, 2
	fs.LimitPosts(150*time.Millisecond, 2)
	b := startBot(t, fs, cfg, Deps{})

	channels := []string{testChannel, "C0OTHER"}
	var rs []*Reporter
	var wg sync.WaitGroup
	for i := range 12 {
		inv := testInvestigation(fmt.Sprintf("case-%02d", i), testAlert(fmt.Sprintf("Alert%02d", i)))
		r := b.Reporter(channels[i%2])
		rs = append(rs, r)
		wg.Go(func() {
			ctx := context.Background()
			if err := r.Started(ctx, inv); err != nil {
				t.Errorf("Started: %v", err)
				return
			}
			r.Chunk(ctx, sampleAnalysis)
			_ = r.Finished(ctx, testResult(inv, sampleAnalysis))
		})
	}
	wg.Wait()
	finish(t, 30*time.Second, rs...)

	sent := map[string][]time.Time{}
	accepted, refused := map[string]int{}, map[string]int{}
	for _, c := range fs.Calls("chat.postMessage") {
		ch := c.Args.Get("channel")
		sent[ch] = append(sent[ch], c.At)
		if c.Status == 429 {
			refused[ch]++
		} else {
			accepted[ch]++
		}
	}
	for _, ch := range channels {
		if accepted[ch] != 12 {
			t.Errorf("%d posts accepted in %s, want 12 (6 roots and 6 analyses)", accepted[ch], ch)
		}
		// Unpaced, most of the 12 posts would be refused.
		if refused[ch] > 2 {
			t.Errorf("%d posts in %s answered 429: the bot posts faster than it paces", refused[ch], ch)
		}
		times := sent[ch]
		sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
		if v := checkPaced(times, cfg.PostInterval, cfg.PostBurst, 100*time.Millisecond); v != "" {
			t.Errorf("%s: %s", ch, v)
		}
		// 12 posts at one per 200 ms after a burst of 2 take about 2 s
		// (plus a second per 429's Retry-After): had the channels shared
		// one pace, each would take about 4.4 s.
		if span := times[len(times)-1].Sub(times[0]); span > 3200*time.Millisecond+time.Duration(refused[ch])*time.Second {
			t.Errorf("%s: 12 posts took %s; the other channel's posts held them up", ch, span)
		}
	}
}

// TestFinalUpdatesGoFirst: when the chat.update budget is short, an
// investigation that finishes gets its final update ahead of the
// intermediate updates of ten others still streaming.
func TestFinalUpdatesGoFirst(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	cfg.UpdatesPerWindow, cfg.UpdateWindow = 3, time.Second
	cfg.UpdateInterval = 20 * time.Millisecond
	cfg.PostInterval = time.Millisecond
	b := startBot(t, fs, cfg, Deps{})

	ctx := context.Background()
	stop := make(chan struct{})
	var streamers sync.WaitGroup
	var rs []*Reporter
	start := func(i int) (*Reporter, func(string)) {
		inv := testInvestigation(fmt.Sprintf("case-%02d", i), testAlert(fmt.Sprintf("Alert%02d", i)))
		r := b.Reporter("")
		rs = append(rs, r)
		if err := r.Started(ctx, inv); err != nil {
			t.Fatal(err)
		}
		return r, func(text string) { _ = r.Finished(ctx, testResult(inv, text)) }
	}
	for i := range 10 {
		r, done := start(i)
		streamers.Go(func() {
			var text strings.Builder
			for n := 0; ; n++ {
				select {
				case <-stop:
					done(text.String())
					return
				case <-time.After(10 * time.Millisecond):
				}
				line := fmt.Sprintf("streamer %d line %d\n", i, n)
				text.WriteString(line)
				r.Chunk(ctx, line)
			}
		})
	}
	last, done := start(10)
	last.Chunk(ctx, "## Root cause\nstill looking\n")
	// Let the streamers use up the budget and queue for it.
	time.Sleep(1500 * time.Millisecond)
	finishedAt := time.Now()
	done(sampleAnalysis)
	select {
	case <-last.Done():
	case <-time.After(20 * time.Second):
		t.Fatal("the finished investigation's thread did not become final")
	}
	close(stop)
	streamers.Wait()
	finish(t, 60*time.Second, rs...)

	_, rootTS := last.Thread()
	var page string
	for _, m := range fs.Messages() {
		if m.ThreadTS == rootTS {
			page = m.TS
		}
	}
	ahead := 0
	var final bool
	for _, c := range fs.Calls("chat.update") {
		if c.At.Before(finishedAt) || c.Status != 200 {
			continue
		}
		if c.Args.Get("ts") == page {
			final = true
			break
		}
		if c.Args.Get("ts") != rootTS {
			ahead++
		}
	}
	if !final {
		t.Fatal("no final update of the finished analysis")
	}
	// The updates admitted just before the finish (at most one window's
	// budget) may still reach Slack after it; no other may.
	if ahead > cfg.UpdatesPerWindow {
		t.Errorf("%d intermediate updates of other investigations went before the final one", ahead)
	}
}
