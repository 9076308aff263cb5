package bot

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/k8flex/k8flex/internal/fakeslack"
)

// TestAccessPolicyEveryTargetKind runs /k8flex investigate for each target
// kind under each access policy and checks the investigation starts
// exactly when the policy allows it, and that a refusal names the setting
// that refused it. The expectations are written out per policy, not
// derived from the code under test.
func TestAccessPolicyEveryTargetKind(t *testing.T) {
	fs := fakeslack.New(fakeslack.Options{UserGroups: map[string][]string{"S0ONCALL": {"U0OPS"}}})
	defer fs.Close()

	// Each target kind, in the namespace NS (replaced per column).
	kinds := []struct{ kind, text string }{
		{"pod", "pod/web-0 -n NS"},
		{"pod (NS/NAME)", "NS/web-0"},
		{"deployment", "deploy/api -n NS"},
		{"statefulset", "sts/db --namespace NS"},
		{"daemonset", "ds/agent -n=NS"},
		{"job", "job/backup -n NS"},
		{"service", "svc/api -n NS"},
		{"namespace", "ns/NS"},
	}
	// The columns: a target in each of these namespaces, a namespaced
	// target without -n (namespace "default"), and a node.
	namespaces := []string{"shop", "billing", "kube-system"}
	type want struct {
		shop, billing, kubeSystem, dflt, node bool
		// refusedBy is the setting a refusal names.
		refusedBy string
	}
	all := want{true, true, true, true, true, ""}
	for _, tt := range []struct {
		name    string
		policy  func(*Config)
		user    string // default U0OPS
		channel string // default testChannel
		want    want
	}{
		{name: "no policy", policy: func(*Config) {}, want: all},
		{name: "allowed namespaces", policy: func(c *Config) { c.AllowedNamespaces = []string{"shop", "team-*"} },
			want: want{shop: true, refusedBy: "slack.allowed_namespaces"}},
		{name: "allowed namespace pattern", policy: func(c *Config) { c.AllowedNamespaces = []string{"s*"} },
			want: want{shop: true, refusedBy: "slack.allowed_namespaces"}},
		{name: "every namespace allowed by *", policy: func(c *Config) { c.AllowedNamespaces = []string{"*"} }, want: all},
		{name: "denied namespaces", policy: func(c *Config) { c.DeniedNamespaces = []string{"kube-*"} },
			want: want{shop: true, billing: true, dflt: true, refusedBy: "slack.denied_namespaces"}},
		{name: "* allowed, some denied", policy: func(c *Config) {
			c.AllowedNamespaces, c.DeniedNamespaces = []string{"*"}, []string{"kube-system"}
		}, want: want{shop: true, billing: true, dflt: true, refusedBy: "slack.denied_namespaces"}},
		{name: "allowed namespaces and cluster targets", policy: func(c *Config) {
			c.AllowedNamespaces, c.AllowClusterTargets = []string{"shop"}, true
		}, want: want{shop: true, node: true, refusedBy: "slack.allowed_namespaces"}},
		{name: "denied namespaces and cluster targets", policy: func(c *Config) {
			c.DeniedNamespaces, c.AllowClusterTargets = []string{"kube-*"}, true
		}, want: want{shop: true, billing: true, dflt: true, node: true, refusedBy: "slack.denied_namespaces"}},
		{name: "cluster targets without a namespace policy", policy: func(c *Config) { c.AllowClusterTargets = true }, want: all},
		{name: "channel not allowed", channel: "C0RANDOM", policy: func(c *Config) { c.AllowedChannels = []string{testChannel} },
			want: want{refusedBy: "slack.allowed_channels"}},
		{name: "channel allowed", policy: func(c *Config) { c.AllowedChannels = []string{testChannel} }, want: all},
		{name: "user not allowed", user: "U0GUEST", policy: func(c *Config) { c.AllowedUsers = []string{"U0LEAD"} },
			want: want{refusedBy: "slack.allowed_users"}},
		{name: "user allowed", user: "U0LEAD", policy: func(c *Config) { c.AllowedUsers = []string{"U0LEAD"} }, want: all},
		{name: "user not in an allowed group", user: "U0GUEST", policy: func(c *Config) { c.AllowedUserGroups = []string{"S0ONCALL"} },
			want: want{refusedBy: "slack.allowed_user_groups"}},
		{name: "user in an allowed group", policy: func(c *Config) { c.AllowedUserGroups = []string{"S0ONCALL"} }, want: all},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig(fs)
			tt.policy(&cfg)
			inv := &fakeInvestigator{analysis: "done\n"}
			b, err := New(cfg, Deps{Queue: inv}, zerologNop())
			if err != nil {
				t.Fatal(err)
			}
			user, channel := tt.user, tt.channel
			if user == "" {
				user = "U0OPS"
			}
			if channel == "" {
				channel = testChannel
			}
			type tcase struct {
				label, text string
				allowed     bool
			}
			var cases []tcase
			for _, k := range kinds {
				for _, ns := range namespaces {
					allowed := map[string]bool{"shop": tt.want.shop, "billing": tt.want.billing, "kube-system": tt.want.kubeSystem}[ns]
					cases = append(cases, tcase{k.kind + " in " + ns, strings.ReplaceAll(k.text, "NS", ns), allowed})
				}
			}
			for _, text := range []string{"pod/web-0", "deploy/api", "svc/api"} {
				cases = append(cases, tcase{text + " (default namespace)", text, tt.want.dflt})
			}
			for _, text := range []string{"node/worker-1", "no/worker-1", "nodes/worker-1 why NotReady?"} {
				cases = append(cases, tcase{text, text, tt.want.node})
			}
			for _, c := range cases {
				before := len(inv.requests())
				ephemerals := len(fs.Calls("chat.postEphemeral"))
				ack, job := b.slashCommand(slack.SlashCommand{UserID: user, ChannelID: channel, TeamID: fakeslack.TeamID,
					Text: "investigate " + c.text})
				refusal := ""
				if ack != nil && !strings.HasPrefix(ack.Text, "🔍") {
					refusal = ack.Text
				}
				if job != nil {
					job(context.Background())
					if calls := fs.Calls("chat.postEphemeral"); len(calls) > ephemerals {
						refusal = calls[len(calls)-1].Args.Get("text")
					}
				}
				started := len(inv.requests()) > before
				switch {
				case c.allowed && !started:
					t.Errorf("%s: refused (%q), want allowed", c.label, refusal)
				case !c.allowed && started:
					t.Errorf("%s: investigation started, want refused by %s", c.label, tt.want.refusedBy)
				case !c.allowed && !strings.Contains(refusal, tt.want.refusedBy):
					t.Errorf("%s: refusal %q does not name %s", c.label, refusal, tt.want.refusedBy)
				case !c.allowed && !strings.Contains(refusal, "🚫"):
					t.Errorf("%s: refusal %q is not marked as one", c.label, refusal)
				}
			}
		})
	}
}

// TestClusterTargetRefusalExplains: a node refused under a namespace
// policy is told why and which setting allows it, in an ephemeral ack.
func TestClusterTargetRefusalExplains(t *testing.T) {
	cfg := DefaultConfig()
	cfg.BotToken, cfg.AppToken, cfg.Channel = "xoxb-x", "xapp-x", testChannel
	cfg.AllowedNamespaces = []string{"shop"}
	b, err := New(cfg, Deps{Queue: &fakeInvestigator{}}, zerologNop())
	if err != nil {
		t.Fatal(err)
	}
	ack, job := b.slashCommand(slack.SlashCommand{UserID: "U0OPS", ChannelID: testChannel, Text: "investigate node/worker-1"})
	if job != nil || ack == nil {
		t.Fatalf("node investigation not refused in the ack: %+v", ack)
	}
	js, _ := json.Marshal(ack)
	for _, want := range []string{`"response_type":"ephemeral"`, "node/worker-1", "cluster-scoped", "slack.allow_cluster_targets"} {
		if !strings.Contains(string(js), want) {
			t.Errorf("refusal %s lacks %q", js, want)
		}
	}
}
