package main

// `k8flex serve` reporting to the fake Slack (internal/fakeslack, which
// speaks Socket Mode): started in-process through run(), as main does.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/kb"
)

// Buttons of the final analysis message (bot/render.go).
const (
	buttonCorrect   = "k8flex_verdict_correct"
	buttonIncorrect = "k8flex_verdict_incorrect"
)

// waitSocket waits until the fake Slack accepted n Socket Mode connections.
func waitSocket(t testing.TB, fs *fakeslack.Server, n int) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for fs.Connections() < n {
		select {
		case <-fs.Changed():
		case <-deadline:
			t.Fatalf("%d socket mode connections, want %d", fs.Connections(), n)
		}
	}
}

// finalThread waits until the fake Slack shows a thread in slackChannel
// whose analysis reply is final (it carries the verdict buttons) and
// returns the root and that reply.
func finalThread(t *testing.T, fs *fakeslack.Server, timeout time.Duration) (root, analysis fakeslack.Message) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		roots := map[string]fakeslack.Message{}
		for _, m := range fs.Messages() {
			if m.Channel != slackChannel {
				continue
			}
			if m.ThreadTS == "" {
				roots[m.TS] = m
			} else if r, ok := roots[m.ThreadTS]; ok && strings.Contains(m.Blocks, buttonCorrect) {
				return r, m
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no final analysis thread in Slack within %s; messages: %+v", timeout, fs.Messages())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitReply waits for a reply in thread whose text or blocks contain want.
func waitReply(t *testing.T, fs *fakeslack.Server, thread, want string) {
	t.Helper()
	waitSlack(t, fmt.Sprintf("a reply saying %q in thread %s", want, thread), func() bool {
		for _, m := range fs.Messages() {
			if m.ThreadTS == thread && strings.Contains(unescapeJSON(m.Blocks)+m.Text, want) {
				return true
			}
		}
		return false
	})
}

// waitShown waits until message ts in slackChannel shows want.
func waitShown(t *testing.T, fs *fakeslack.Server, ts, want string) {
	t.Helper()
	waitSlack(t, fmt.Sprintf("message %s showing %q", ts, want), func() bool {
		m, _ := fs.Message(slackChannel, ts)
		return strings.Contains(unescapeJSON(m.Blocks)+m.Text, want)
	})
}

// waitSlack polls cond for 10 seconds.
func waitSlack(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// unescapeJSON undoes the \u003c-style escapes encoding/json writes for
// <, > and &.
func unescapeJSON(s string) string {
	return strings.NewReplacer(`\u003c`, "<", `\u003e`, ">", `\u0026`, "&").Replace(s)
}

// acker returns a function that waits until serve acknowledged the
// envelope a fake Slack push returned: ack(fs.PushReaction(…)).
func acker(t *testing.T, fs *fakeslack.Server) func(env string, err error) {
	return func(env string, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		deadline := time.After(5 * time.Second)
		for {
			if _, ok := fs.AckFor(env); ok {
				return
			}
			select {
			case <-fs.Changed():
			case <-deadline:
				t.Fatalf("envelope %s was not acknowledged", env)
			}
		}
	}
}

// voteLogged waits for serve's log line of user's vote (msg is "recorded ✅
// feedback", "withdrew ❌ feedback" …) on case id.
func voteLogged(t *testing.T, s *inProcServe, id, user, msg, source string) {
	t.Helper()
	s.waitLog(t, 10*time.Second, msg+" by "+user, func(l logLine) bool {
		return l.Message == msg && l.Case == id && l.User == user && (source == "" || l.Source == source)
	})
}

// exportRecord runs `k8flex kb export` (serve must have stopped) and
// returns the one case's record.
func exportRecord(t *testing.T, cfgPath string) kb.Record {
	t.Helper()
	var out, errOut syncBuffer
	if code := run(context.Background(), []string{"kb", "export", "--config", cfgPath}, &out, &errOut); code != 0 {
		t.Fatalf("k8flex kb export exited with %d:\n%s", code, errOut.String())
	}
	var recs []kb.Record
	dec := json.NewDecoder(bytes.NewReader(out.Bytes()))
	for dec.More() {
		var r kb.Record
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("decode export: %v", err)
		}
		recs = append(recs, r)
	}
	if len(recs) != 1 {
		t.Fatalf("%d cases exported, want 1", len(recs))
	}
	return recs[0]
}

// votesOf maps each user with a standing vote to "✅/source" or "❌/source".
func votesOf(r kb.Record) map[string]string {
	out := map[string]string{}
	for _, v := range r.Votes {
		mark := "❌"
		if v.Correct {
			mark = "✅"
		}
		out[v.User] = mark + "/" + string(v.Source)
	}
	return out
}

func sameVotes(got, want map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// TestServeSlackVotes: an alert's thread in Slack collects verdicts as
// ✅/❌ reactions (on the analysis and on the root message) and as button
// clicks; removing a reaction withdraws its vote. Each is logged, counted
// in k8flex_feedback_total and recorded in the knowledge base, also for a
// thread posted by the process before a restart.
func TestServeSlackVotes(t *testing.T) {
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) { testServeSlackVotes(t, backend) })
	}
}

func testServeSlackVotes(t *testing.T, backend string) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-e2e", Workers: 1, Slack: fs, SlackYAML: "  update_interval: 100ms\n"}
	cfg.useStore(t, backend, dir, "slack")
	cfgPath := cfg.write(t, dir)

	srv := startInProcess(t, cfgPath)
	waitSocket(t, fs, 1)
	a := scenarioAlert(t)
	postAlerts(t, srv.URL, cfg.Token, investigate.Alert{Status: investigate.StatusFiring, Labels: a.Labels,
		Annotations: a.Annotations, StartsAt: time.Now().UTC().Truncate(time.Second)})
	done := srv.waitLog(t, 30*time.Second, "finished investigation", func(l logLine) bool {
		return l.Message == "investigation finished"
	})
	id := done.Investigation
	root, analysis := finalThread(t, fs, 20*time.Second)

	const check, cross = "white_check_mark", "x"
	ack := acker(t, fs)
	// The buttons give way to the first verdict: click first.
	ack(fs.ClickButton("U0CAROL", slackChannel, analysis.TS, buttonIncorrect))
	voteLogged(t, srv, id, "U0CAROL", "recorded ❌ feedback", "button")
	waitShown(t, fs, analysis.TS, "Marked incorrect by <@U0CAROL>")
	ack(fs.PushReaction("U0ALICE", check, slackChannel, analysis.TS, true))
	voteLogged(t, srv, id, "U0ALICE", "recorded ✅ feedback", "reaction")
	ack(fs.PushReaction("U0BOB", check, slackChannel, analysis.TS, true))
	voteLogged(t, srv, id, "U0BOB", "recorded ✅ feedback", "reaction")
	ack(fs.PushReaction("U0BOB", check, slackChannel, analysis.TS, false))
	voteLogged(t, srv, id, "U0BOB", "withdrew ✅ feedback", "")
	// A reaction that is no verdict, and one on a message K8flex did not
	// post, record nothing (the counts below would show it).
	ack(fs.PushReaction("U0DAN", "tada", slackChannel, analysis.TS, true))
	ack(fs.PushReaction("U0DAN", cross, slackChannel, "1600000000.000001", true))
	ack(fs.PushReaction("U0FRED", cross, slackChannel, root.TS, true))
	voteLogged(t, srv, id, "U0FRED", "recorded ❌ feedback", "reaction")
	for series, want := range map[string]float64{
		`k8flex_feedback_total{source="reaction",verdict="correct"}`:   2,
		`k8flex_feedback_total{source="reaction",verdict="incorrect"}`: 1,
		`k8flex_feedback_total{source="button",verdict="incorrect"}`:   1,
	} {
		if got := metric(t, srv.URL, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	srv.stop(t)
	rec := exportRecord(t, cfgPath)
	want := map[string]string{"U0ALICE": "✅/reaction", "U0CAROL": "❌/button", "U0FRED": "❌/reaction"}
	if got := votesOf(rec); rec.Case.ID != id || !sameVotes(got, want) {
		t.Errorf("case %s has votes %v, want %v on case %s", rec.Case.ID, got, want, id)
	}
	if rec.Case.Validated {
		t.Errorf("case validated with 1 ✅ against 2 ❌")
	}

	// After a restart the thread posted before still collects verdicts:
	// the messages' cases come from the knowledge base.
	srv = startInProcess(t, cfgPath)
	waitSocket(t, fs, 2)
	ack(fs.PushReaction("U0DAVE", check, slackChannel, analysis.TS, true))
	voteLogged(t, srv, id, "U0DAVE", "recorded ✅ feedback", "reaction")
	ack(fs.PushReaction("U0ERIN", "heavy_check_mark", slackChannel, root.TS, true))
	voteLogged(t, srv, id, "U0ERIN", "recorded ✅ feedback", "reaction")
	ack(fs.PushReaction("U0FRED", cross, slackChannel, root.TS, false))
	voteLogged(t, srv, id, "U0FRED", "withdrew ❌ feedback", "")
	// The verdicts on a thread posted before the restart are told in it.
	waitReply(t, fs, root.TS, "Confirmed correct by <@U0DAVE>")
	if got := metric(t, srv.URL, `k8flex_feedback_total{source="reaction",verdict="correct"}`); got != 2 {
		t.Errorf("reaction ✅ after the restart counted %v times, want 2", got)
	}
	srv.stop(t)
	rec = exportRecord(t, cfgPath)
	want = map[string]string{"U0ALICE": "✅/reaction", "U0CAROL": "❌/button", "U0DAVE": "✅/reaction", "U0ERIN": "✅/reaction"}
	if got := votesOf(rec); !sameVotes(got, want) {
		t.Errorf("after the restart the case has votes %v, want %v", got, want)
	}
	if !rec.Case.Validated || rec.Case.Correct != 3 || rec.Case.Incorrect != 1 {
		t.Errorf("case validated=%v with %d ✅ and %d ❌; want validated with 3 and 1",
			rec.Case.Validated, rec.Case.Correct, rec.Case.Incorrect)
	}
}

// TestServeSlackWithinLimits: with the fake Slack enforcing one post per
// second per channel (bursts of 3, 429 with Retry-After beyond) and
// answering 30% of chat.update with 429, 20 alerts get 20 threads, all
// final; no message is abandoned and the posts never exceed the
// per-channel rate.
func TestServeSlackWithinLimits(t *testing.T) {
	const (
		alerts = 20
		every  = time.Second
		burst  = 3
	)
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.LimitPosts(every, burst)
	fs.RejectUpdates(0.3)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-limits", Workers: 4, DataDir: filepath.Join(dir, "data"), Slack: fs}
	srv := startInProcess(t, cfg.write(t, dir))
	waitSocket(t, fs, 1)

	a := scenarioAlert(t)
	batch := distinctAlerts(a, "PacedAlert", alerts)
	postAlerts(t, srv.URL, cfg.Token, batch...)

	// 40 posts at one per second take about 40 s.
	deadline := time.Now().Add(3 * time.Minute)
	var threads, final int
	for {
		threads, final = finalThreads(t, fs)
		if final == alerts || time.Now().After(deadline) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if threads != alerts || final != alerts {
		t.Fatalf("%d threads, %d final; want %d and %d", threads, final, alerts, alerts)
	}

	var sent []time.Time
	posts429 := 0
	for _, c := range fs.Calls("chat.postMessage") {
		if c.Args.Get("channel") != slackChannel {
			continue
		}
		sent = append(sent, c.At)
		if c.Status == 429 {
			posts429++
		}
	}
	// Every call, answered or refused, counts against the rate: the bot
	// paces itself rather than leaning on Slack's 429s. Half a second of
	// tolerance absorbs the machine's jitter between sending a post and
	// its arrival; unpaced, the 40 posts arrive within a second or two.
	for i := range sent {
		for j := i + 1; j < len(sent); j++ {
			span := sent[j].Sub(sent[i])
			if allowed := burst + int((span+500*time.Millisecond)/every); j-i+1 > allowed {
				t.Fatalf("%d chat.postMessage calls in %s within %s (Slack allows %d: one per %s, bursts of %d)",
					j-i+1, slackChannel, span, allowed, every, burst)
			}
		}
	}
	var updates429 int
	for _, c := range fs.Calls("chat.update") {
		if c.Status == 429 {
			updates429++
		}
	}
	if updates429 == 0 {
		t.Error("no chat.update was answered 429: the test does not exercise the retries")
	}
	if n := metric(t, srv.URL, `k8flex_slack_retries_total{method="chat.update",reason="rate_limited"}`); n < 1 {
		t.Errorf("k8flex_slack_retries_total of rate-limited updates = %v with %d answered 429", n, updates429)
	}
	t.Logf("%d chat.postMessage calls (%d answered 429) over %s, %d chat.update answered 429",
		len(sent), posts429, sent[len(sent)-1].Sub(sent[0]), updates429)
}

// finalThreads counts the root messages in slackChannel and those whose
// thread is final: the root shows the outcome and the analysis reply
// carries the verdict buttons.
func finalThreads(t testing.TB, fs *fakeslack.Server) (threads, final int) {
	t.Helper()
	msgs := fs.Messages()
	done := map[string]bool{}
	for _, m := range msgs {
		if m.ThreadTS != "" && strings.Contains(m.Blocks, buttonCorrect) {
			done[m.ThreadTS] = true
		}
	}
	for _, m := range msgs {
		if m.Channel != slackChannel || m.ThreadTS != "" {
			continue
		}
		threads++
		if done[m.TS] && !strings.Contains(m.Blocks, "in progress") {
			final++
		}
	}
	return threads, final
}

// getJSON fetches url and decodes its JSON answer.
func getJSON(t *testing.T, url string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	return resp.StatusCode, body
}

// TestServeSlackUnreachable: with Slack not answering at start-up, serve
// starts anyway and stays ready (alerts are accepted and recorded), says
// Slack is unreachable (not that a token was rejected) in its log,
// /health and k8flex_slack_connected, keeps trying with back-off, and
// connects once Slack answers.
func TestServeSlackUnreachable(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	fs.SetUnreachable(true)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-down", Workers: 1, DataDir: filepath.Join(dir, "data"), Slack: fs}
	srv := startInProcess(t, cfg.write(t, dir))

	srv.waitLog(t, 10*time.Second, "two attempts to reach Slack", func(l logLine) bool {
		return strings.Contains(l.Message, "Slack unreachable; trying again")
	})
	if code, body := getJSON(t, srv.URL+"/ready"); code != http.StatusOK {
		t.Errorf("/ready = %d %v while Slack is down; want 200 (intake works)", code, body)
	}
	if code, body := getJSON(t, srv.URL+"/health"); code != http.StatusOK || body["slack"] != "disconnected" {
		t.Errorf("/health = %d %v, want 200 with slack disconnected", code, body)
	}
	if v := metric(t, srv.URL, "k8flex_slack_connected"); v != 0 {
		t.Errorf("k8flex_slack_connected = %v while Slack is down, want 0", v)
	}
	a := scenarioAlert(t)
	postAlerts(t, srv.URL, cfg.Token, investigate.Alert{Status: investigate.StatusFiring, Labels: a.Labels,
		Annotations: a.Annotations, StartsAt: time.Now().UTC().Truncate(time.Second)})
	srv.waitLog(t, 10*time.Second, "the alert recorded", func(l logLine) bool { return l.Message == "alert recorded" })

	fs.SetUnreachable(false)
	waitSocket(t, fs, 1)
	waitSlack(t, "k8flex_slack_connected 1", func() bool { return metric(t, srv.URL, "k8flex_slack_connected") == 1 })
	if _, body := getJSON(t, srv.URL+"/health"); body["slack"] != "connected" {
		t.Errorf("/health = %v once Slack answers, want slack connected", body)
	}
	if log := srv.stderr.String(); strings.Contains(log, "rejected") {
		t.Errorf("serve said a token was rejected while Slack was only unreachable:\n%s", tailString(log, 20))
	}
}

// TestServeSlackRejected: a bot token Slack refuses (invalid_auth) stops
// serve at once, saying so.
func TestServeSlackRejected(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{BotToken: "xoxb-the-right-one"})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-rejected", Workers: 1, DataDir: filepath.Join(dir, "data"), Slack: fs}
	cfgPath := cfg.write(t, dir)
	// The configuration names the fake's token; swap in one it refuses.
	b, err := os.ReadFile(cfgPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cfgPath, bytes.Replace(b, []byte("xoxb-the-right-one"), []byte("xoxb-revoked"), 1), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	code := run(ctx, []string{"serve", "--config", cfgPath, "--listen", "127.0.0.1:0", "--scenario", e2eScenario}, &stdout, &stderr)
	if code == 0 || ctx.Err() != nil {
		t.Fatalf("serve with a rejected token exited %d after %s, want a failure at once:\n%s", code, time.Since(start), stderr.String())
	}
	out := stderr.String()
	if !strings.Contains(out, "slack.bot_token rejected by Slack") || strings.Contains(out, "unreachable") {
		t.Errorf("serve's error does not say the bot token was rejected (or says unreachable):\n%s", out)
	}
	if strings.Contains(out, "xoxb-revoked") {
		t.Error("the token reached the log")
	}
}

// TestServeSlackOutboxAfterRestart: threads whose final updates were
// still waiting for Slack's budget when serve stopped are finished by
// the next start, from the outbox in the knowledge base, without posting
// any message twice.
func TestServeSlackOutboxAfterRestart(t *testing.T) {
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) { testServeSlackOutboxAfterRestart(t, backend) })
	}
}

func testServeSlackOutboxAfterRestart(t *testing.T, backend string) {
	const alerts = 3
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-outbox", Workers: 2, Slack: fs,
		// One chat.update an hour: the final updates cannot all be sent.
		SlackYAML: "  update_interval: 100ms\n  updates_per_window: 1\n  update_window: 1h\n"}
	cfg.useStore(t, backend, dir, "outbox")
	srv := startInProcess(t, cfg.write(t, dir))
	waitSocket(t, fs, 1)
	a := scenarioAlert(t)
	batch := distinctAlerts(a, "OutboxAlert", alerts)
	postAlerts(t, srv.URL, cfg.Token, batch...)
	waitSlack(t, "every analysis posted in its thread", func() bool {
		roots, replies := 0, 0
		for _, m := range fs.Messages() {
			if m.ThreadTS == "" {
				roots++
			} else {
				replies++
			}
		}
		return roots == alerts && replies == alerts
	})
	srv.waitLog(t, 20*time.Second, "all investigations finished", func(l logLine) bool {
		n := 0
		for _, l := range parseLogLines(srv.stderr.Bytes()) {
			if l.Message == "investigation finished" {
				n++
			}
		}
		return n == alerts
	})
	waitSlack(t, "the final threads in the outbox", func() bool { return metric(t, srv.URL, "k8flex_slack_outbox_depth") > 0 })
	srv.stop(t)
	_, before := finalThreads(t, fs)
	if before == alerts {
		t.Fatalf("all %d threads were final before the restart: the test does not exercise the outbox", alerts)
	}
	posts := len(fs.Messages())

	cfg.SlackYAML = "  update_interval: 100ms\n"
	srv = startInProcess(t, cfg.write(t, dir))
	waitSocket(t, fs, 2)
	waitSlack(t, "every thread final after the restart", func() bool {
		_, final := finalThreads(t, fs)
		return final == alerts
	})
	srv.waitLog(t, 5*time.Second, "a delivery from the outbox", func(l logLine) bool {
		return l.Message == "delivered from the slack outbox"
	})
	waitSlack(t, "an empty outbox", func() bool { return metric(t, srv.URL, "k8flex_slack_outbox_depth") == 0 })
	if age := metric(t, srv.URL, "k8flex_slack_outbox_oldest_seconds"); age != 0 {
		t.Errorf("k8flex_slack_outbox_oldest_seconds = %v with an empty outbox, want 0", age)
	}
	if n := len(fs.Messages()); n != posts {
		t.Errorf("%d messages after the restart, %d before: a message was posted twice", n, posts)
	}
	t.Logf("%d of %d threads final before the restart, all after", before, alerts)
}

// TestServeSlackOutage: Slack goes down while alerts arrive. The webhook
// stays ready and records them, the investigations run, and once Slack
// answers again every thread appears — root and analysis, final — from
// the same process, each message posted once. (The scale is 50
// alerts in a 5-minute outage on Slack's 1 post/s; here posts are paced
// at 50 ms so the test stays short; the recovery time at Slack's pace is
// measured by BenchmarkSlackRecovery.)
func TestServeSlackOutage(t *testing.T) {
	const alerts = 12
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-outage", Workers: 4, DataDir: filepath.Join(dir, "data"), Slack: fs,
		SlackYAML: "  post_interval: 50ms\n  update_interval: 100ms\n"}
	srv := startInProcess(t, cfg.write(t, dir))
	waitSocket(t, fs, 1)

	fs.SetUnreachable(true)
	a := scenarioAlert(t)
	for _, al := range distinctAlerts(a, "OutageAlert", alerts) {
		postAlerts(t, srv.URL, cfg.Token, al)
		if code, body := getJSON(t, srv.URL+"/ready"); code != http.StatusOK {
			t.Fatalf("/ready = %d %v while Slack is down; want 200", code, body)
		}
	}
	srv.waitLog(t, 60*time.Second, "all investigations finished", func(logLine) bool {
		n := 0
		for _, l := range parseLogLines(srv.stderr.Bytes()) {
			if l.Message == "investigation finished" {
				n++
			}
		}
		return n == alerts
	})
	if n := len(fs.Messages()); n != 0 {
		t.Fatalf("%d messages reached Slack while it was unreachable", n)
	}
	if d := metric(t, srv.URL, "k8flex_slack_outbox_depth"); d < alerts {
		t.Errorf("k8flex_slack_outbox_depth = %v during the outage, want at least %d (every thread waits)", d, alerts)
	}
	if code, body := getJSON(t, srv.URL+"/ready"); code != http.StatusOK {
		t.Fatalf("/ready = %d %v while Slack is down; want 200", code, body)
	}

	fs.SetUnreachable(false)
	recovered := time.Now()
	deadline := recovered.Add(2 * time.Minute)
	var threads, final int
	for {
		threads, final = finalThreads(t, fs)
		if final == alerts || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if threads != alerts || final != alerts {
		t.Fatalf("%d threads, %d final after Slack came back; want %d and %d", threads, final, alerts, alerts)
	}
	// An effect superseded or retried during the outage may still wait
	// out the sender's back-off (up to 10 s) after the threads are final:
	// the outbox empties within the same deadline, not at once.
	for metric(t, srv.URL, "k8flex_slack_outbox_depth") != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("the slack outbox still holds %v effects 2 minutes after Slack came back", metric(t, srv.URL, "k8flex_slack_outbox_depth"))
		}
		time.Sleep(100 * time.Millisecond)
	}
	roots, replies := 0, 0
	for _, m := range fs.Messages() {
		if m.ThreadTS == "" {
			roots++
		} else {
			replies++
		}
	}
	if roots != alerts || replies != alerts {
		t.Errorf("%d roots and %d replies posted; want %d each (nothing twice)", roots, replies, alerts)
	}
	// Every root and analysis was posted by the delivery (counted once),
	// after attempts Slack did not answer (counted as retries).
	if n := metric(t, srv.URL, `k8flex_slack_deliveries_total{method="chat.postMessage",outcome="delivered"}`); n != 2*alerts {
		t.Errorf("k8flex_slack_deliveries_total of posts = %v, want %d (a root and an analysis per alert)", n, 2*alerts)
	}
	if n := metric(t, srv.URL, `k8flex_slack_retries_total{method="chat.postMessage",reason="unreachable"}`); n < alerts {
		t.Errorf("k8flex_slack_retries_total of unanswered posts = %v, want at least %d", n, alerts)
	}
	if n := metric(t, srv.URL, `k8flex_slack_deliveries_total{method="chat.postMessage",outcome="refused"}`); n != 0 {
		t.Errorf("%v posts refused, want 0", n)
	}
	t.Logf("%d threads final %s after Slack came back", alerts, time.Since(recovered).Round(100*time.Millisecond))
}

// TestServeSlackSlashAndHome: `/k8flex investigate` through the fake
// Slack streams an analysis into a thread of the asker's channel; a target
// that does not parse is answered with its reason and the usage, nothing
// internal; a ✅ on the slash thread makes the case knowledge, and the App
// Home lists it.
func TestServeSlackSlashAndHome(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slack-slash", Workers: 1, Slack: fs, SlackYAML: "  update_interval: 100ms\n",
		DataDir: filepath.Join(dir, "data")}
	srv := startInProcess(t, cfg.write(t, dir))
	waitSocket(t, fs, 1)
	ack := acker(t, fs)

	// A target that does not parse: the reason and the usage, in the ack.
	env, err := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0ERIN", ChannelID: slackChannel, Text: "investigate pod/Not_A_Name -n storefront"})
	ack(env, err)
	a, _ := fs.AckFor(env)
	if got := unescapeJSON(string(a.Payload)); !strings.Contains(got, "is not a valid Kubernetes name") || !strings.Contains(got, "Usage") {
		t.Errorf("answer to a bad target: %s", got)
	}

	env, err = fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0ERIN", ChannelID: slackChannel,
		Text: "investigate pod/checkout-66d9c8b7f4-8vbnq -n storefront why does it restart?"})
	ack(env, err)
	if a, _ := fs.AckFor(env); !strings.Contains(string(a.Payload), "Investigating") {
		t.Errorf("answer to /k8flex investigate: %s", a.Payload)
	}
	done := srv.waitLog(t, 30*time.Second, "finished slash investigation", func(l logLine) bool {
		return l.Message == "investigation finished"
	})
	root, analysis := finalThread(t, fs, 20*time.Second)
	if !strings.Contains(root.Blocks+root.Text, "checkout-66d9c8b7f4-8vbnq") {
		t.Errorf("the slash thread does not name its target: %s %s", root.Text, root.Blocks)
	}

	// The button carries its case. (A reaction on a slash thread can miss
	// its case today: the thread's messages are linked when posted, before
	// the engine records a slash case; slash requests going through the
	// queue, which records the case first, closes that.)
	ack(fs.ClickButton("U0ERIN", slackChannel, analysis.TS, buttonCorrect))
	voteLogged(t, srv, done.Investigation, "U0ERIN", "recorded ✅ feedback", "button")

	ack(fs.PushEvent(map[string]any{"type": "app_home_opened", "user": "U0ERIN", "tab": "home", "channel": "D1"}))
	waitSlack(t, "the App Home listing the confirmed case", func() bool {
		for _, c := range fs.Calls("views.publish") {
			if c.Args.Get("user_id") == "U0ERIN" && strings.Contains(c.Args.Get("view"), "checkout-66d9c8b7f4-8vbnq") {
				return true
			}
		}
		return false
	})
}

// restartBurst runs serve against the fake Slack at Slack's limits (one
// post per second per channel in bursts of 3; limit chat.update per
// window app-wide, serve configured to the same budget). A first batch
// of alerts spends the budget; serve stops once their threads are final
// and starts again at once, and a second batch arrives. It returns the
// calls the fake answered 429 after the restart, by method, and the time
// from the restart until every thread was final.
func restartBurst(tb testing.TB, backend string, alerts, limit int, window time.Duration) (limited map[string]int, took time.Duration) {
	tb.Helper()
	fs := fakeslack.New(fakeslack.Options{})
	tb.Cleanup(fs.Close)
	fs.LimitPosts(time.Second, 3)
	fs.LimitUpdates(limit, window)
	dir := tb.TempDir()
	cfg := serveConfig{Token: "slack-restart", Workers: 4, Slack: fs,
		SlackYAML: fmt.Sprintf("  updates_per_window: %d\n  update_window: %s\n", limit, window)}
	cfg.useStore(tb, backend, dir, "budget")
	cfgPath := cfg.write(tb, dir)
	a := scenarioAlert(tb)
	waitFinal := func(n int) {
		tb.Helper()
		deadline := time.Now().Add(3 * time.Minute)
		for {
			if _, final := finalThreads(tb, fs); final == n {
				return
			}
			if time.Now().After(deadline) {
				threads, final := finalThreads(tb, fs)
				tb.Fatalf("%d threads, %d final; want %d final", threads, final, n)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}

	srv := startInProcess(tb, cfgPath)
	waitSocket(tb, fs, 1)
	postAlerts(tb, srv.URL, cfg.Token, distinctAlerts(a, "BeforeRestart", alerts)...)
	waitFinal(alerts)
	srv.stop(tb)

	restarted := time.Now()
	srv = startInProcess(tb, cfgPath)
	tb.Cleanup(func() { srv.stop(tb) })
	waitSocket(tb, fs, 2)
	postAlerts(tb, srv.URL, cfg.Token, distinctAlerts(a, "AfterRestart", alerts)...)
	waitFinal(2 * alerts)
	took = time.Since(restarted)
	limited = map[string]int{}
	for _, c := range fs.Calls() {
		if c.Status == http.StatusTooManyRequests && !c.At.Before(restarted) {
			limited[c.Method]++
		}
	}
	return limited, took
}

// TestServeSlackBudgetAfterRestart: serve spends Slack's budget (posts
// in one channel, chat.update app-wide), stops and starts again at once
// while Slack's window still holds its calls. The new process counts
// them: after the restart Slack answers no chat.update 429 (without the
// saved budget the first update of the second batch is, and pauses every
// update for its Retry-After). A post may be answered 429 once: the fake
// counts arrivals, serve its admissions, one second apart at most.
func TestServeSlackBudgetAfterRestart(t *testing.T) {
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) {
			const alerts, limit, window = 4, 4, 20 * time.Second
			limited, took := restartBurst(t, backend, alerts, limit, window)
			if limited["chat.update"] != 0 || limited["chat.postMessage"] > 1 {
				t.Errorf("Slack answered %v calls 429 after the restart; want no update and at most 1 post", limited)
			}
			t.Logf("after the restart: 429s %v; every thread final %s after it", limited, took.Round(100*time.Millisecond))
		})
	}
}

// TestServeSlashInvestigate: a /k8flex investigate goes through the same
// durable queue and worker pool as alerts: it is answered in the asker's
// channel (not the alert channel), stored once as a case with its thread,
// and counted in the metrics like any investigation.
func TestServeSlashInvestigate(t *testing.T) {
	for _, backend := range []string{"embedded", "postgres"} {
		t.Run(backend, func(t *testing.T) { testServeSlashInvestigate(t, backend) })
	}
}

func testServeSlashInvestigate(t *testing.T, backend string) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	dir := t.TempDir()
	cfg := serveConfig{Token: "slash-e2e", Workers: 1, Slack: fs, SlackYAML: "  update_interval: 100ms\n"}
	cfg.useStore(t, backend, dir, "slash")
	cfgPath := cfg.write(t, dir)
	srv := startInProcess(t, cfgPath)
	waitSocket(t, fs, 1)

	const asker, askerChannel = "U0DAVE", "C0ASKER"
	a := scenarioAlert(t)
	target := "pod/" + a.Labels["pod"] + " -n " + a.Labels["namespace"]
	acker(t, fs)(fs.PushSlashCommand(fakeslack.SlashCommand{UserID: asker, ChannelID: askerChannel, Text: "investigate " + target + " why?"}))
	done := srv.waitLog(t, 30*time.Second, "finished investigation", func(l logLine) bool {
		return l.Message == "investigation finished"
	})
	var root fakeslack.Message
	waitSlack(t, "a thread with a final analysis in the asker's channel", func() bool {
		roots := map[string]fakeslack.Message{}
		for _, m := range fs.Messages() {
			if m.Channel == slackChannel {
				t.Fatalf("the slash investigation was reported in the alert channel: %+v", m)
			}
			if m.Channel != askerChannel {
				continue
			}
			if m.ThreadTS == "" {
				roots[m.TS] = m
			} else if r, ok := roots[m.ThreadTS]; ok && strings.Contains(m.Blocks+m.Markdown, "Root cause") {
				root = r
				return true
			}
		}
		return false
	})
	for series, want := range map[string]float64{
		`k8flex_stage_duration_seconds_count{stage="analyze"}`: 1,
		`k8flex_stage_duration_seconds_count{stage="record"}`:  1, // the worker's one write
		`k8flex_queue_depth`: 0,
	} {
		if got := metric(t, srv.URL, series); got != want {
			t.Errorf("%s = %v, want %v", series, got, want)
		}
	}
	srv.stop(t)

	rec := exportRecord(t, cfgPath)
	c := rec.Case
	if c.ID != done.Investigation || c.Status != kb.StatusDone || c.Analysis == "" || c.Request == nil ||
		c.Request.Source != investigate.SourceSlack || c.Request.RequestedBy != asker || c.Request.ReplyTo.Channel != askerChannel {
		t.Fatalf("stored case %s (investigation %s): status %s, request %+v", c.ID, done.Investigation, c.Status, c.Request)
	}
	if c.Channel != askerChannel || c.ThreadTS != root.TS {
		t.Errorf("case thread %s/%s, want the asker's %s/%s", c.Channel, c.ThreadTS, askerChannel, root.TS)
	}
}
