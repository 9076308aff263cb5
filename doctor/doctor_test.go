package doctor_test

import (
	"bytes"
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/doctor"
	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/fakeslack"
)

func run(t *testing.T, checks []doctor.Check) (doctor.Summary, string) {
	t.Helper()
	var out bytes.Buffer
	s := doctor.Run(context.Background(), &out, 10*time.Second, checks)
	return s, out.String()
}

func result(t *testing.T, s doctor.Summary, name string) doctor.Checked {
	t.Helper()
	for _, c := range s.Checks {
		if c.Name == name {
			return c
		}
	}
	t.Fatalf("no check %q in %+v", name, s.Checks)
	return doctor.Checked{}
}

// TestBotScopesMatchManifest keeps the scopes doctor requires equal to
// the Slack app manifest's (and the fake Slack's default).
func TestBotScopesMatchManifest(t *testing.T) {
	b, err := os.ReadFile("../app-manifest.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		OAuth struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(slices.Values(m.OAuth.Scopes.Bot))
	if !slices.Equal(got, doctor.BotScopes) || !slices.Equal(got, fakeslack.DefaultScopes) {
		t.Errorf("manifest bot scopes %v; doctor.BotScopes %v; fakeslack.DefaultScopes %v", got, doctor.BotScopes, fakeslack.DefaultScopes)
	}
}

// TestSlackChecks runs the Slack checks against the fake Slack: a good
// set-up passes, and each mistake fails its own check with its fix.
func TestSlackChecks(t *testing.T) {
	for _, tt := range []struct {
		name    string
		opts    fakeslack.Options
		cfg     func(s *fakeslack.Server) doctor.SlackConfig
		check   string
		status  doctor.Status
		detail  string
		fix     string
		allPass bool
	}{
		{name: "all good", allPass: true},
		{name: "wrong bot token", cfg: func(s *fakeslack.Server) doctor.SlackConfig {
			return doctor.SlackConfig{APIURL: s.APIURL(), BotToken: "xoxb-revoked", AppToken: s.AppToken(), Channel: "C0ALERTS"}
		}, check: "slack: bot token", status: doctor.Fail, detail: "invalid_auth", fix: "slack.bot_token"},
		{name: "user token as bot token", cfg: func(s *fakeslack.Server) doctor.SlackConfig {
			return doctor.SlackConfig{APIURL: s.APIURL(), BotToken: "xoxp-123", AppToken: s.AppToken(), Channel: "C0ALERTS"}
		}, check: "slack: bot token", status: doctor.Fail, detail: "xoxb-", fix: "Bot User OAuth Token"},
		{name: "missing scope", opts: fakeslack.Options{Scopes: []string{"channels:read", "chat:write", "commands", "files:write", "groups:read", "usergroups:read"}},
			check: "slack: bot scopes", status: doctor.Fail, detail: "reactions:read", fix: "reinstall the app"},
		{name: "missing files:write (charts)", opts: fakeslack.Options{Scopes: []string{"channels:read", "chat:write", "commands", "groups:read", "reactions:read", "usergroups:read"}},
			check: "slack: bot scopes", status: doctor.Fail, detail: "files:write", fix: "reinstall the app"},
		{name: "bot not in channel", opts: fakeslack.Options{NotMember: []string{"C0ALERTS"}},
			check: "slack: bot in the alert channel", status: doctor.Fail, detail: "not a member", fix: "/invite @k8flex"},
		{name: "unknown channel", opts: fakeslack.Options{Channels: []string{"C0OTHER"}},
			check: "slack: bot in the alert channel", status: doctor.Fail, detail: "not found", fix: "channel's id"},
		{name: "wrong app token", cfg: func(s *fakeslack.Server) doctor.SlackConfig {
			return doctor.SlackConfig{APIURL: s.APIURL(), BotToken: s.BotToken(), AppToken: "xapp-wrong", Channel: "C0ALERTS"}
		}, check: "slack: Socket Mode connects", status: doctor.Fail, detail: "invalid_auth", fix: "connections:write"},
		{name: "no app token", cfg: func(s *fakeslack.Server) doctor.SlackConfig {
			return doctor.SlackConfig{APIURL: s.APIURL(), BotToken: s.BotToken(), Channel: "C0ALERTS"}
		}, check: "slack: Socket Mode connects", status: doctor.Fail, detail: "slack.app_token is not", fix: "App-Level Tokens"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := fakeslack.New(tt.opts)
			t.Cleanup(s.Close)
			cfg := doctor.SlackConfig{APIURL: s.APIURL(), BotToken: s.BotToken(), AppToken: s.AppToken(), Channel: "C0ALERTS"}
			if tt.cfg != nil {
				cfg = tt.cfg(s)
			}
			sum, out := run(t, doctor.Slack(cfg))
			if tt.allPass {
				if sum.Passed != 4 || sum.Failed+sum.Warned+sum.Skip != 0 {
					t.Fatalf("want 4 passed:\n%s", out)
				}
				if s.Connections() != 1 {
					t.Errorf("%d Socket Mode connections, want 1", s.Connections())
				}
				return
			}
			r := result(t, sum, tt.check)
			if r.Status != tt.status || !strings.Contains(r.Detail, tt.detail) || !strings.Contains(r.Fix, tt.fix) {
				t.Errorf("%s = %s %q fix %q; want %s mentioning %q, fix mentioning %q\n%s", tt.check, r.Status, r.Detail, r.Fix,
					tt.status, tt.detail, tt.fix, out)
			}
			if sum.Failed == 0 || !strings.Contains(out, "fix: ") {
				t.Errorf("the checklist shows no failure with its fix:\n%s", out)
			}
			for _, secret := range []string{cfg.BotToken, cfg.AppToken} {
				if secret != "" && strings.Contains(out, secret) {
					t.Errorf("the checklist prints a token")
				}
			}
		})
	}
	t.Run("no slack", func(t *testing.T) {
		sum, out := run(t, doctor.Slack(doctor.SlackConfig{}))
		if sum.Skip != 4 {
			t.Errorf("without tokens every Slack check is skipped:\n%s", out)
		}
	})
}

// TestKubeChecks asks a real API server's authorizer as three
// ServiceAccounts: one bound to the shipped read-only ClusterRole (all
// pass), one whose role lacks a verb and a resource (reads fail, naming
// them), and one that may read Secrets (that check fails).
func TestKubeChecks(t *testing.T) {
	srv := apiservertest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var shipped rbacv1.ClusterRole
	b, _ := os.ReadFile("../manifests/base/clusterrole.yaml")
	if err := yaml.Unmarshal(b, &shipped); err != nil {
		t.Fatal(err)
	}
	srv.CreateNamespace(t, "k8flex")
	reads := []doctor.Read{{Resource: "pods"}, {Resource: "pods", Subresource: "log"}, {Resource: "events"},
		{Group: "apps", Resource: "deployments"}, {Group: "networking.k8s.io", Resource: "networkpolicies"}}

	srv.BindClusterRole(t, "k8flex", "allowed", "doctor-allowed", shipped.Rules...)
	restricted := []rbacv1.PolicyRule{
		{APIGroups: []string{""}, Resources: []string{"pods", "pods/log", "events"}, Verbs: []string{"get"}},
		{APIGroups: []string{"apps"}, Resources: []string{"deployments"}, Verbs: []string{"get", "list"}},
	}
	srv.BindClusterRole(t, "k8flex", "restricted", "doctor-restricted", restricted...)
	srv.BindClusterRole(t, "k8flex", "greedy", "doctor-greedy", append(slices.Clone(shipped.Rules),
		rbacv1.PolicyRule{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get", "list"}})...)

	client := func(name string) doctor.Cluster {
		c, err := doctor.NewKubeClient(srv.ServiceAccountConfig(t, "k8flex", name))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	allowedCS := srv.ServiceAccountClient(t, "k8flex", "allowed")
	apiservertest.WaitAuthorized(t, func() error {
		_, err := allowedCS.CoreV1().Pods("").List(ctx, metav1.ListOptions{Limit: 1})
		return err
	})
	allowed := client("allowed")

	t.Run("allowed", func(t *testing.T) {
		sum, out := run(t, doctor.Kube(allowed, nil, reads))
		if sum.Passed != 3 || sum.Failed != 0 {
			t.Fatalf("want all 3 passed:\n%s", out)
		}
	})
	t.Run("restricted", func(t *testing.T) {
		sum, out := run(t, doctor.Kube(client("restricted"), nil, reads))
		r := result(t, sum, "kubernetes: collectors' reads allowed")
		if r.Status != doctor.Fail {
			t.Fatalf("reads check passed for a restricted identity:\n%s", out)
		}
		for _, want := range []string{"list pods", "list pods/log", "list events", "get networkpolicies.networking.k8s.io", "list networkpolicies.networking.k8s.io"} {
			if !strings.Contains(r.Detail, want) || !strings.Contains(r.Fix, want) {
				t.Errorf("the failure does not name %q: %s / %s", want, r.Detail, r.Fix)
			}
		}
		if strings.Contains(r.Detail, "get pods,") || strings.Contains(r.Detail, "deployments") {
			t.Errorf("allowed reads reported as denied: %s", r.Detail)
		}
		if !strings.Contains(r.Fix, "clusterrole.yaml") {
			t.Errorf("fix does not point at the shipped ClusterRole: %s", r.Fix)
		}
		if result(t, sum, "kubernetes: Secrets denied").Status != doctor.Pass {
			t.Errorf("secrets check:\n%s", out)
		}
	})
	t.Run("may read secrets", func(t *testing.T) {
		sum, out := run(t, doctor.Kube(client("greedy"), nil, reads))
		r := result(t, sum, "kubernetes: Secrets denied")
		if r.Status != doctor.Fail || !strings.Contains(r.Detail, "get, list") {
			t.Errorf("secrets check = %+v\n%s", r, out)
		}
	})
	t.Run("unreachable", func(t *testing.T) {
		cfg := *srv.Config
		cfg.Host = "https://127.0.0.1:1"
		c, err := doctor.NewKubeClient(&cfg)
		if err != nil {
			t.Fatal(err)
		}
		sum, out := run(t, doctor.Kube(c, nil, reads))
		if r := result(t, sum, "kubernetes: API server reachable"); r.Status != doctor.Fail || sum.Skip != 2 {
			t.Errorf("unreachable server:\n%s", out)
		}
	})
}
