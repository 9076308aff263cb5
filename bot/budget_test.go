package bot

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

// streamUnderBudget streams an analysis into each of n threads at once,
// under a chat.update budget of limit per window that the fake Slack
// enforces too, and returns the intermediate updates of the analyses,
// how many calls Slack answered 429, and the reporters.
func streamUnderBudget(t *testing.T, n, limit int, window time.Duration) (intermediate []fakeslack.Call, limited int, texts map[string]string) {
	t.Helper()
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.LimitUpdates(limit, window)
	cfg := testConfig(fs)
	cfg.UpdatesPerWindow, cfg.UpdateWindow = limit, window
	cfg.UpdateInterval = 50 * time.Millisecond
	cfg.PostInterval = time.Millisecond
	b := startBot(t, fs, cfg, Deps{})
	ctx := context.Background()
	var rs []*Reporter
	var wg sync.WaitGroup
	texts = map[string]string{}
	for i := range n {
		inv := testInvestigation(fmt.Sprintf("case-%02d", i), testAlert(fmt.Sprintf("Alert%02d", i)))
		r := b.Reporter("")
		rs = append(rs, r)
		if err := r.Started(ctx, inv); err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for l := range 40 {
			fmt.Fprintf(&text, "case %02d line %02d\n", i, l)
		}
		_, root := r.Thread()
		texts[root] = text.String()
		wg.Go(func() {
			for _, line := range strings.SplitAfter(text.String(), "\n") {
				r.Chunk(ctx, line)
				time.Sleep(25 * time.Millisecond) // 40 lines in 1 s
			}
			_ = r.Finished(ctx, testResult(inv, text.String()))
		})
	}
	wg.Wait()
	finish(t, 60*time.Second, rs...)
	// Every thread ends with its whole analysis, final.
	for root, want := range texts {
		var got fakeslack.Message
		for _, m := range fs.Messages() {
			if m.ThreadTS == root {
				got = m
			}
		}
		if tx := textsOf(t, got.Blocks); !strings.Contains(tx, "line 39") || !strings.Contains(tx, strings.SplitN(want, "\n", 2)[0]) || !strings.Contains(got.Blocks, actionCorrect) {
			t.Errorf("thread %s does not end with its whole, final analysis: %q", root, tx)
		}
	}
	roots := map[string]bool{}
	for root := range texts {
		roots[root] = true
	}
	for _, c := range fs.Calls("chat.update") {
		if c.Status == 429 {
			limited++
			continue
		}
		if !roots[c.Args.Get("ts")] && !strings.Contains(c.Args.Get("blocks"), actionCorrect) {
			intermediate = append(intermediate, c)
		}
	}
	return intermediate, limited, texts
}

func textsOf(t *testing.T, blocks string) string {
	if blocks == "" {
		return ""
	}
	return texts(t, blocks)
}

// TestShortBudgetStreamsLess: eight analyses stream at once. With an
// ample chat.update budget each message is updated about every
// UpdateInterval; with a budget of 12 per 2 s (enforced by the fake
// Slack as well) streaming degrades to far fewer updates (each carrying
// the text so far), no call is
// answered 429, and every thread still ends with its whole final text.
func TestShortBudgetStreamsLess(t *testing.T) {
	const n = 8
	ample, ampleLimited, _ := streamUnderBudget(t, n, 10000, time.Second)
	short, shortLimited, _ := streamUnderBudget(t, n, 12, 2*time.Second)
	if ampleLimited+shortLimited != 0 {
		t.Errorf("%d and %d updates answered 429; the bot must stay within the budget", ampleLimited, shortLimited)
	}
	if len(ample) < 3*n {
		t.Fatalf("only %d intermediate updates with an ample budget: the test streams too little", len(ample))
	}
	if len(short)*3 > len(ample) {
		t.Errorf("%d intermediate updates under the short budget, %d with an ample one; want far fewer", len(short), len(ample))
	}
	t.Logf("intermediate updates: %d with an ample budget, %d under 12 per 2 s", len(ample), len(short))
}

// previousBudget is the budget a previous process left in the store.
type previousBudget struct{ scopes []BudgetScope }

func (p previousBudget) SaveBudget(context.Context, []BudgetScope) error { return nil }
func (p previousBudget) OthersBudget(context.Context, time.Time) ([]BudgetScope, error) {
	return p.scopes, nil
}

// A process killed with -9 saved its posts up to a second before it died:
// the next one counts the saved posts at their times and one more, now,
// for the post its last second may have taken with it. Without saved
// posts in a channel, nothing is held back there.
func TestRestartCountsTheUnsavedPost(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	cfg := testConfig(fs)
	cfg.PostInterval, cfg.PostBurst = time.Second, 3
	now := time.Now()
	prev := previousBudget{scopes: []BudgetScope{{Owner: "old", Scope: scopePost(testChannel),
		Calls: []time.Time{now.Add(-1500 * time.Millisecond), now.Add(-1200 * time.Millisecond)}}}}
	b := startBot(t, fs, cfg, Deps{Budget: prev})
	if err := b.budget.wait(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Two saved posts 1.2–1.5 s ago leave ≥ 2 of the 3 tokens after their
	// refill; the unsaved one counted now leaves fewer than 2.
	if tokens := b.posts.channel(testChannel).lim.Tokens(); tokens >= 2 {
		t.Errorf("%.2f post tokens left in %s after a restart: the previous process's unsaved last second is not counted", tokens, testChannel)
	}
	if tokens := b.posts.channel("C0QUIET").lim.Tokens(); tokens < 3 {
		t.Errorf("%.2f post tokens in a channel the previous process never posted in; want the full burst", tokens)
	}
}
