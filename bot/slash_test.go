package bot

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/investigate"
)

// TestSlashInvestigate: immediate ephemeral ack, a root message saying
// who asked, and the analysis natively streamed into the thread with the
// feedback buttons at the end.
func TestSlashInvestigate(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	kb := newFakeKB()
	inv := &fakeInvestigator{analysis: sampleAnalysis + "Log: <!channel> please look\n", kb: kb}
	startBot(t, fs, testConfig(fs), Deps{Queue: inv, Feedback: kb, Knowledge: kb})

	env, err := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0DAVE", ChannelID: testChannel, Text: "investigate deploy/api -n shop why is it slow?"})
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "ack", func() bool { _, ok := fs.AckFor(env); return ok })
	ack, _ := fs.AckFor(env)
	var payload ephemeralReply
	_ = json.Unmarshal(ack.Payload, &payload)
	if payload.ResponseType != "ephemeral" || !strings.Contains(payload.Text, "deployment/api -n shop") {
		t.Errorf("ack payload = %s, want an ephemeral note naming the target", ack.Payload)
	}
	eventually(t, 5*time.Second, "investigation requested", func() bool { return len(inv.requests()) == 1 })
	req := inv.requests()[0]
	if req.Target.Kind != investigate.KindDeployment || req.Target.Name != "api" || req.Target.Namespace != "shop" ||
		req.Question != "why is it slow?" || req.RequestedBy != "U0DAVE" || req.Source != investigate.SourceSlack ||
		req.ReplyTo != (investigate.ReplyTo{Channel: testChannel, User: "U0DAVE", Team: fakeslack.TeamID}) {
		t.Errorf("queued request = %+v, want the target, the question and where to reply", req)
	}
	eventually(t, 10*time.Second, "stream stopped", func() bool { return len(fs.Calls("chat.stopStream")) == 1 })
	root := fs.Messages()[0]
	if s := texts(t, root.Blocks); !strings.Contains(s, "Requested by*\n<@U0DAVE>") || !strings.Contains(s, "why is it slow?") {
		t.Errorf("root message does not say who asked and what:\n%s", s)
	}
	start := fs.Calls("chat.startStream")
	if len(start) != 1 || start[0].Args.Get("thread_ts") != root.TS || start[0].Args.Get("recipient_user_id") != "U0DAVE" ||
		start[0].Args.Get("recipient_team_id") != fakeslack.TeamID {
		t.Fatalf("chat.startStream calls = %+v", start)
	}
	var stream fakeslack.Message
	for _, m := range fs.Messages() {
		if m.ThreadTS == root.TS {
			stream = m
		}
	}
	if want := Escape(sampleAnalysis + "Log: <!channel> please look\n"); stream.Markdown != want {
		t.Errorf("streamed markdown differs:\n got %q\nwant %q", stream.Markdown, want)
	}
	if strings.Contains(stream.Markdown, "<!channel>") {
		t.Error("a mention was streamed unescaped")
	}
	if !strings.Contains(stream.Blocks, actionCorrect) || !strings.Contains(texts(t, stream.Blocks), "Analysis complete") {
		t.Errorf("stopStream carried no final blocks: %s", stream.Blocks)
	}
	for i := 1; i < len(fs.Calls("chat.appendStream")); i++ {
		a := fs.Calls("chat.appendStream")
		if gap := a[i].At.Sub(a[i-1].At); gap < testConfig(fs).StreamInterval {
			t.Errorf("appends %s apart", gap)
		}
	}
	// A ✅ reaction on the streamed reply (not updatable) is answered in the thread.
	if _, err := fs.PushEvent(map[string]any{"type": "reaction_added", "user": "U0DAVE", "reaction": "heavy_check_mark",
		"item": map[string]any{"type": "message", "channel": testChannel, "ts": stream.TS}}); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "verdict reply", func() bool {
		for _, m := range fs.Messages() {
			if m.ThreadTS == root.TS && strings.Contains(texts(t, m.Blocks), "Confirmed correct by <@U0DAVE>") {
				return true
			}
		}
		return false
	})
}

// TestSlashAccessControl refuses with an explanation and never starts
// an investigation the rules forbid.
func TestSlashAccessControl(t *testing.T) {
	for _, tt := range []struct {
		name      string
		user      string
		channel   string
		text      string
		ackWant   string // in the ack, when refused without a Slack call
		ephemWant string // in an ephemeral message, when refused after one
		allowed   bool
	}{
		{name: "channel not allowed", user: "U0OPS", channel: "C0RANDOM", text: "investigate pod/web-0 -n shop", ackWant: "this channel"},
		{name: "denied namespace", user: "U0OPS", channel: testChannel, text: "investigate pod/vault-0 -n kube-system", ackWant: "kube-system"},
		{name: "namespace not in allow list", user: "U0OPS", channel: testChannel, text: "investigate svc/db -n billing", ackWant: "slack.allowed_namespaces"},
		{name: "not in an allowed group", user: "U0GUEST", channel: testChannel, text: "investigate pod/web-0 -n shop", ephemWant: "user group"},
		{name: "group member allowed", user: "U0OPS", channel: testChannel, text: "investigate pod/web-0 -n shop", allowed: true},
		{name: "static user allowed", user: "U0LEAD", channel: testChannel, text: "investigate shop/web-0", allowed: true},
		{name: "bad target explained", user: "U0OPS", channel: testChannel, text: "investigate web-0", ackWant: "no target"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fs := fakeslack.New(fakeslack.Options{UserGroups: map[string][]string{"S0ONCALL": {"U0OPS"}}})
			t.Cleanup(fs.Close)
			cfg := testConfig(fs)
			cfg.AllowedChannels = []string{testChannel}
			cfg.AllowedUserGroups = []string{"S0ONCALL"}
			cfg.AllowedUsers = []string{"U0LEAD"}
			cfg.AllowedNamespaces = []string{"shop", "team-*"}
			cfg.DeniedNamespaces = []string{"kube-*"}
			inv := &fakeInvestigator{analysis: sampleAnalysis}
			startBot(t, fs, cfg, Deps{Queue: inv})
			env, err := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: tt.user, ChannelID: tt.channel, Text: tt.text})
			if err != nil {
				t.Fatal(err)
			}
			eventually(t, 5*time.Second, "ack", func() bool { _, ok := fs.AckFor(env); return ok })
			ack, _ := fs.AckFor(env)
			switch {
			case tt.ackWant != "":
				if !strings.Contains(string(ack.Payload), tt.ackWant) {
					t.Errorf("ack = %s, want it to explain %q", ack.Payload, tt.ackWant)
				}
			case tt.ephemWant != "":
				eventually(t, 5*time.Second, "refusal", func() bool {
					for _, c := range fs.Calls("chat.postEphemeral") {
						if c.Args.Get("user") == tt.user && strings.Contains(c.Args.Get("text"), tt.ephemWant) {
							return true
						}
					}
					return false
				})
			case tt.allowed:
				eventually(t, 5*time.Second, "investigation", func() bool { return len(inv.requests()) == 1 })
				return
			}
			time.Sleep(100 * time.Millisecond)
			if n := len(inv.requests()); n != 0 {
				t.Errorf("%d investigations started; want none", n)
			}
		})
	}
}

// TestSlashKBStatsHelp answers kb, stats and help to the asker only.
func TestSlashKBStatsHelp(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{})
	t.Cleanup(fs.Close)
	kb := newFakeKB()
	kb.add(CaseSummary{ID: "c1", AlertName: "KubePodOOM", Category: investigate.OOMKilled, Namespace: "shop", RootCause: "memory limit 128Mi too low for <!here> java"})
	kb.add(CaseSummary{ID: "c2", AlertName: "KubeNodeNotReady", Category: investigate.NodeNotReady})
	kb.verdicts["c1"] = Verdict{Correct: true}
	kb.verdicts["c2"] = Verdict{Correct: false}
	startBot(t, fs, testConfig(fs), Deps{Knowledge: kb, Feedback: kb})

	env, _ := fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0EVE", ChannelID: testChannel, Text: "help"})
	eventually(t, 5*time.Second, "help ack", func() bool {
		a, ok := fs.AckFor(env)
		return ok && strings.Contains(string(a.Payload), "/k8flex investigate")
	})

	_, _ = fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0EVE", ChannelID: testChannel, Text: "kb memory limit"})
	_, _ = fs.PushSlashCommand(fakeslack.SlashCommand{UserID: "U0EVE", ChannelID: testChannel, Text: "stats"})
	eventually(t, 5*time.Second, "kb and stats answers", func() bool { return len(fs.Calls("chat.postEphemeral")) == 2 })
	var all string
	for _, c := range fs.Calls("chat.postEphemeral") {
		if c.Args.Get("user") != "U0EVE" {
			t.Errorf("answer sent to %s", c.Args.Get("user"))
		}
		all += texts(t, c.Args.Get("blocks"))
	}
	for _, want := range []string{"KubePodOOM", "memory limit 128Mi", "&lt;!here&gt;", "accuracy *50%*", "`oom-killed` 100%", "`node-not-ready` 0%"} {
		if !strings.Contains(all, want) {
			t.Errorf("answers lack %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "<!here>") {
		t.Error("a stored root cause mentioned @here")
	}
}
