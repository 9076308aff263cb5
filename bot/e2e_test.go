package bot

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

const sampleAnalysis = "## Root cause\n" +
	"ConfigMap **shop/app-settings** mounted by pod web-0 does not exist.\n\n" +
	"## Evidence\n" +
	"- Event: `MountVolume.SetUp failed for volume \"settings\"`\n" +
	"- Container exit code 1 after 2s\n\n" +
	"## Impact\n" +
	"The shop front end is down.\n\n" +
	"## Recommended actions\n" +
	"1. Restore the ConfigMap:\n" +
	"```\nkubectl -n shop apply -f app-settings.yaml\n```\n\n" +
	"## Prevention\n" +
	"Ship the ConfigMap with the Deployment.\n"

// TestEndToEndAlertThread follows one alert through Slack: root message,
// streamed updates, the final message with buttons, a ✅ reaction that
// validates the case, and the App Home republished showing it.
func TestEndToEndAlertThread(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	kb := newFakeKB()
	cfg := testConfig(fs)
	cfg.UpdateInterval = 100 * time.Millisecond
	b := startBot(t, fs, cfg, Deps{Feedback: kb, Knowledge: kb})

	inv := testInvestigation("case-1", testAlert("KubePodCrashLooping"))
	kb.add(CaseSummary{ID: "case-1", AlertName: "KubePodCrashLooping", Category: "pod-crash", Namespace: "shop",
		RootCause: "ConfigMap shop/app-settings mounted by pod web-0 does not exist.", CreatedAt: time.Now()})
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatalf("Started: %v", err)
	}
	_, rootTS := r.Thread()
	root, ok := fs.Message(testChannel, rootTS)
	if !ok {
		t.Fatalf("root message %s not posted", rootTS)
	}
	rt := texts(t, root.Blocks)
	for _, want := range []string{"KubePodCrashLooping", "shop", "pod/web-0", "Pod shop/web-0 is crash looping",
		"pod-crash", "rules, 90%", "<https://runbooks.example/KubePodCrashLooping|Runbook>",
		"<http://prometheus.example/graph?g0.expr=up&amp;g0.tab=1|Prometheus graph>", "Analysis in progress"} {
		if !strings.Contains(rt, want) {
			t.Errorf("root message lacks %q:\n%s", want, rt)
		}
	}

	// Stream the analysis in small chunks over ~0.6 s.
	start := time.Now()
	for _, c := range chunksOf(sampleAnalysis, 8) {
		r.Chunk(ctx, c)
		time.Sleep(time.Duration(600/len(chunksOf(sampleAnalysis, 8))) * time.Millisecond)
	}
	if err := r.Finished(ctx, testResult(inv, sampleAnalysis)); err != nil {
		t.Fatalf("Finished: %v", err)
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("reporter did not finish")
	}
	streamed := time.Since(start)

	// The analysis reply: in the thread, updated several times, at least
	// UpdateInterval apart, final with buttons and the similar case.
	var reply fakeslack.Message
	for _, m := range fs.Messages() {
		if m.ThreadTS == rootTS {
			reply = m
		}
	}
	if reply.TS == "" {
		t.Fatal("no analysis reply in the thread")
	}
	updates := updatesOf(fs, reply.TS)
	if len(updates) < 2 {
		t.Errorf("the analysis was updated %d times while streaming for %s; want several", len(updates), streamed)
	}
	if max := int(streamed/cfg.UpdateInterval) + 2; len(updates) > max {
		t.Errorf("%d updates in %s exceed one per %s", len(updates), streamed, cfg.UpdateInterval)
	}
	for i := 1; i < len(updates); i++ {
		if gap := updates[i].At.Sub(updates[i-1].At); gap < cfg.UpdateInterval {
			t.Errorf("updates %d and %d only %s apart (want ≥ %s)", i-1, i, gap, cfg.UpdateInterval)
		}
	}
	ft := texts(t, reply.Blocks)
	for _, want := range []string{"Analysis complete", "*Root cause*", "*shop/app-settings*", "• Event: `MountVolume.SetUp failed",
		"kubectl -n shop apply", "Similar past cases", "<https://slack.example/archives/C0ALERTS/p1690000000000100|KubePodCrashLooping>",
		"builtin", "rules-v1", "1200 in / 340 out tokens"} {
		if !strings.Contains(ft, want) {
			t.Errorf("final message lacks %q:\n%s", want, ft)
		}
	}
	if !strings.Contains(reply.Blocks, actionCorrect) || !strings.Contains(reply.Blocks, actionIncorrect) {
		t.Errorf("final message has no ✅/❌ buttons: %s", reply.Blocks)
	}
	checkLimits(t, "final message", reply.Blocks, MaxMessageBlocks)
	eventually(t, 5*time.Second, "root status shows the root cause", func() bool {
		m, _ := fs.Message(testChannel, rootTS)
		return strings.Contains(texts(t, m.Blocks), "Root cause:* ConfigMap shop/app-settings")
	})

	// A ✅ reaction on the analysis validates the case.
	env, err := fs.PushEvent(map[string]any{"type": "reaction_added", "user": "U0ALICE", "reaction": "white_check_mark",
		"item_user": fakeslack.BotUserID, "item": map[string]any{"type": "message", "channel": testChannel, "ts": reply.TS},
		"event_ts": "1700000100.000100"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ack of the reaction envelope", func() bool { _, ok := fs.AckFor(env); return ok })
	eventually(t, 5*time.Second, "feedback recorded", func() bool { return len(kb.feedback()) == 1 })
	if v := kb.feedback()[0]; v.CaseRef != "case-1" || !v.Correct || v.User != "U0ALICE" || v.Source != SourceReaction {
		t.Errorf("feedback = %+v, want case-1 correct by U0ALICE from a reaction", v)
	}
	eventually(t, 5*time.Second, "verdict shown on the final message", func() bool {
		m, _ := fs.Message(testChannel, reply.TS)
		s := texts(t, m.Blocks)
		return strings.Contains(s, "Confirmed correct by <@U0ALICE>") && !strings.Contains(m.Blocks, actionCorrect)
	})
	eventually(t, 5*time.Second, "App Home republished with the validated case", func() bool {
		for _, c := range fs.Calls("views.publish") {
			if c.Args.Get("user_id") == "U0ALICE" {
				view := c.Args.Get("view")
				var v struct {
					Blocks json.RawMessage `json:"blocks"`
				}
				_ = json.Unmarshal([]byte(view), &v)
				s := texts(t, string(v.Blocks))
				if strings.Contains(s, "KubePodCrashLooping") && strings.Contains(s, "1* confirmed") {
					checkLimits(t, "home view", string(v.Blocks), MaxHomeViewBlocks)
					return true
				}
			}
		}
		return false
	})
	// A reaction that is not a verdict, or on someone else's message, is ignored.
	if _, err := fs.PushEvent(map[string]any{"type": "reaction_added", "user": "U0ALICE", "reaction": "eyes",
		"item": map[string]any{"type": "message", "channel": testChannel, "ts": reply.TS}}); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.PushEvent(map[string]any{"type": "reaction_added", "user": "U0ALICE", "reaction": "x",
		"item": map[string]any{"type": "message", "channel": testChannel, "ts": "1600000000.000001"}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "both acks", func() bool { return len(fs.Acks()) >= 3 })
	time.Sleep(100 * time.Millisecond)
	if n := len(kb.feedback()); n != 1 {
		t.Errorf("feedback recorded %d times; unrelated reactions must be ignored", n)
	}
	// Removing the ✅ withdraws it, and the message says so.
	if _, err := fs.PushEvent(map[string]any{"type": "reaction_removed", "user": "U0ALICE", "reaction": "white_check_mark",
		"item": map[string]any{"type": "message", "channel": testChannel, "ts": reply.TS}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "feedback withdrawn", func() bool { return len(kb.feedback()) == 2 })
	if v := kb.feedback()[1]; v.CaseRef != "case-1" || !v.Correct || !v.Withdrawn || v.User != "U0ALICE" {
		t.Errorf("withdrawal = %+v, want U0ALICE withdrawing a ✅ on case-1", v)
	}
	eventually(t, 5*time.Second, "withdrawal shown on the final message", func() bool {
		m, _ := fs.Message(testChannel, reply.TS)
		return strings.Contains(texts(t, m.Blocks), "<@U0ALICE> withdrew their ✅")
	})
}

func chunksOf(s string, n int) []string {
	var out []string
	for len(s) > n {
		out = append(out, s[:n])
		s = s[n:]
	}
	return append(out, s)
}

func updatesOf(fs *fakeslack.Server, ts string) []fakeslack.Call {
	var out []fakeslack.Call
	for _, c := range fs.Calls("chat.update") {
		if c.Args.Get("ts") == ts && c.Status == 200 {
			out = append(out, c)
		}
	}
	return out
}

// TestButtonClick records a ❌ click, shows who gave it on the message
// and confirms to the clicker only.
func TestButtonClick(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	kb := newFakeKB()
	b := startBot(t, fs, testConfig(fs), Deps{Feedback: kb, Knowledge: kb})
	kb.add(CaseSummary{ID: "case-2", AlertName: "KubeNodeNotReady", Category: "node-not-ready"})
	inv := testInvestigation("case-2", testAlert("KubeNodeNotReady"))
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	r.Chunk(ctx, sampleAnalysis)
	_ = r.Finished(ctx, testResult(inv, sampleAnalysis))
	<-r.Done()
	_, rootTS := r.Thread()
	var final fakeslack.Message
	for _, m := range fs.Messages() {
		if m.ThreadTS == rootTS {
			final = m
		}
	}
	var blocks json.RawMessage = json.RawMessage(final.Blocks)
	env, err := fs.PushInteractive(map[string]any{
		"type": "block_actions", "trigger_id": "trig-1", "user": map[string]any{"id": "U0BOB", "name": "bob"},
		"team":      map[string]any{"id": fakeslack.TeamID},
		"channel":   map[string]any{"id": testChannel},
		"container": map[string]any{"type": "message", "message_ts": final.TS, "channel_id": testChannel, "thread_ts": rootTS},
		"message":   map[string]any{"ts": final.TS, "blocks": blocks},
		"actions":   []any{map[string]any{"action_id": actionIncorrect, "block_id": blockFeedback, "value": "case-2", "type": "button"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ack", func() bool { _, ok := fs.AckFor(env); return ok })
	eventually(t, 5*time.Second, "feedback", func() bool { return len(kb.feedback()) == 1 })
	if v := kb.feedback()[0]; v.CaseRef != "case-2" || v.Correct || v.User != "U0BOB" || v.Source != SourceButton {
		t.Errorf("feedback = %+v", v)
	}
	eventually(t, 5*time.Second, "verdict on the message", func() bool {
		m, _ := fs.Message(testChannel, final.TS)
		return strings.Contains(texts(t, m.Blocks), "Marked incorrect by <@U0BOB>") && !strings.Contains(m.Blocks, actionIncorrect)
	})
	eventually(t, 5*time.Second, "ephemeral confirmation", func() bool {
		for _, c := range fs.Calls("chat.postEphemeral") {
			if c.Args.Get("user") == "U0BOB" && c.Args.Get("channel") == testChannel && strings.Contains(c.Args.Get("text"), "marked incorrect") {
				return true
			}
		}
		return false
	})
}

// TestReconnect drops the websocket; the bot reconnects and keeps
// handling envelopes.
func TestReconnect(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{PingInterval: 100 * time.Millisecond})
	t.Cleanup(fs.Close)
	kb := newFakeKB()
	b := startBot(t, fs, testConfig(fs), Deps{Feedback: kb, Knowledge: kb})
	eventually(t, 5*time.Second, "Connected() after the first connection", b.Connected)
	fs.DropConnections()
	eventually(t, 10*time.Second, "second connection", func() bool { return fs.Connections() >= 2 })
	eventually(t, 5*time.Second, "Connected() after reconnecting", b.Connected)
	var env string
	eventually(t, 5*time.Second, "push after reconnect", func() bool {
		var err error
		env, err = fs.PushEvent(map[string]any{"type": "app_home_opened", "user": "U0CAROL", "tab": "home", "channel": "D1"})
		return err == nil
	})
	eventually(t, 5*time.Second, "ack after reconnect", func() bool { _, ok := fs.AckFor(env); return ok })
	eventually(t, 5*time.Second, "home published", func() bool {
		for _, c := range fs.Calls("views.publish") {
			if c.Args.Get("user_id") == "U0CAROL" {
				return true
			}
		}
		return false
	})
}

// TestBadTokens fails start-up with an error naming the config key.
func TestBadTokens(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	for _, tt := range []struct {
		name     string
		bot, app string
		want     string
	}{
		{"bot token rejected", "xoxb-wrong", fs.AppToken(), "slack.bot_token"},
		{"app token rejected", fs.BotToken(), "xapp-wrong", "slack.app_token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(fs)
			cfg.BotToken, cfg.AppToken = tt.bot, tt.app
			b, err := New(cfg, Deps{}, zerolog.Nop())
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			err = b.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrRejected) {
				t.Fatalf("Run = %v, want ErrRejected naming %s", err, tt.want)
			}
			if errors.Is(err, ErrUnreachable) {
				t.Errorf("Run = %v: a rejected token is not Slack being unreachable", err)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("Run took %s to give up on a rejected token; it must not retry", d)
			}
		})
	}
}

// TestUnreachableAtStart: while Slack does not answer, Run keeps trying
// auth.test with back-off and says Slack is unreachable (not that the
// token was rejected); once Slack answers, the bot connects.
func TestUnreachableAtStart(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.SetUnreachable(true)
	var logs syncLog
	b, err := New(testConfig(fs), Deps{}, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.CheckAuth(context.Background()); !errors.Is(err, ErrUnreachable) || errors.Is(err, ErrRejected) {
		t.Errorf("CheckAuth while Slack is down = %v, want ErrUnreachable", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- b.Run(ctx) }()
	// One check above, then Run's: at once, after 0.5 s, after 1 s.
	eventually(t, 10*time.Second, "three auth.test attempts by Run", func() bool { return len(fs.Calls("auth.test")) >= 4 })
	if b.Connected() {
		t.Error("Connected() while Slack is down")
	}
	fs.SetUnreachable(false)
	eventually(t, 10*time.Second, "Connected() once Slack answers", b.Connected)
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("Run = %v", err)
	}
	out := logs.String()
	if !strings.Contains(out, "Slack unreachable") || strings.Contains(out, "rejected") {
		t.Errorf("the log does not say Slack was unreachable (or says rejected):\n%s", out)
	}
	calls := fs.Calls("auth.test")
	for i, want := range []time.Duration{450 * time.Millisecond, 900 * time.Millisecond} {
		if gap := calls[i+2].At.Sub(calls[i+1].At); gap < want {
			t.Errorf("auth.test attempt %d came %s after the one before; want back-off (≥ %s)", i+2, gap, want)
		}
	}
}

// syncLog is a log sink safe for concurrent use.
type syncLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestThreadUpdates: the intake marks a thread resolved and notes
// repeated notifications on its root message.
func TestThreadUpdates(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	b := startBot(t, fs, testConfig(fs), Deps{})
	a := testAlert("KubePodCrashLooping")
	inv := testInvestigation("case-3", a)
	r := b.Reporter("")
	ctx := context.Background()
	if err := r.Started(ctx, inv); err != nil {
		t.Fatal(err)
	}
	_ = r.Finished(ctx, testResult(inv, sampleAnalysis))
	<-r.Done()
	_, rootTS := r.Thread()
	if err := b.NoteDuplicate(ctx, testChannel, rootTS, nil, 2, time.Date(2026, 1, 2, 12, 4, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := b.NoteFolded(ctx, testChannel, rootTS, 37); err != nil {
		t.Fatal(err)
	}
	if err := b.MarkResolved(ctx, testChannel, rootTS, nil, a.StartsAt.Add(12*time.Minute)); err != nil {
		t.Fatal(err)
	}
	// The notes are recorded with the case and delivered like its thread.
	want := []string{"Resolved* after 12m", "Notified again 2× (last 12:04 UTC)", "37 more alerts of this incident folded in",
		"Root cause:* ConfigMap shop/app-settings"}
	s := ""
	eventually(t, 10*time.Second, "the notes on the root", func() bool {
		m, _ := fs.Message(testChannel, rootTS)
		s = texts(t, m.Blocks)
		for _, w := range want {
			if !strings.Contains(s, w) {
				return false
			}
		}
		return true
	})
	// A thread this process never saw: rebuilt from the investigation.
	// (the fake has no such message, so Slack's error comes back)
	if err := b.MarkResolved(ctx, testChannel, "1600000000.000009", inv, time.Now()); err == nil || !strings.Contains(err.Error(), "message_not_found") {
		t.Errorf("MarkResolved on a missing message = %v", err)
	}
	c := fs.Calls("chat.update")
	if last := c[len(c)-1]; last.Args.Get("ts") != "1600000000.000009" || !strings.Contains(texts(t, last.Args.Get("blocks")), "KubePodCrashLooping") {
		t.Errorf("unknown thread not rebuilt from the investigation: %+v", last.Args)
	}
}
