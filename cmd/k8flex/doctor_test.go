package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/config"
	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/fakeslack"
	"github.com/k8flex/k8flex/internal/pgtest"
	"github.com/k8flex/k8flex/kb"
	"github.com/k8flex/k8flex/llm/llmtest"
	"github.com/k8flex/k8flex/server"
)

// doctorEnv is a complete, working installation to break one piece at a
// time: a real API server as a ServiceAccount bound to the shipped
// ClusterRole, the fake Slack, OpenAI fakes for the model and the
// embedder (768 dimensions), and an embedded store.
type doctorEnv struct {
	kubeconfig string
	slack      *fakeslack.Server
	model      string
	embedder   string
	dataDir    string
}

// kubeconfigFor writes a kubeconfig holding cfg's server, CA and token.
func kubeconfigFor(t *testing.T, cfg *rest.Config) string {
	t.Helper()
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: %q, certificate-authority-data: %s}}]
users: [{name: u, user: {token: %q}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`, cfg.Host, base64.StdEncoding.EncodeToString(cfg.CAData), cfg.BearerToken)
	p := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(p, []byte(kc), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func newDoctorEnv(t *testing.T, srv *apiservertest.Server, sa string) *doctorEnv {
	t.Helper()
	s := fakeslack.New(fakeslack.Options{})
	t.Cleanup(s.Close)
	return &doctorEnv{
		kubeconfig: kubeconfigFor(t, srv.ServiceAccountConfig(t, "k8flex", sa)),
		slack:      s,
		model:      llmtest.NewOpenAI(llmtest.Options{}).Start(t),
		embedder:   llmtest.NewOpenAI(llmtest.Options{Dimensions: 768}).Start(t),
		dataDir:    t.TempDir(),
	}
}

// config is the installation's configuration with overrides (dotted keys).
func (e *doctorEnv) config(t *testing.T, overrides map[string]any) string {
	t.Helper()
	flat := map[string]any{
		"kube.kubeconfig": e.kubeconfig, "llm.provider": "openai", "llm.model": "gpt-4o-mini", "llm.base_url": e.model + "/v1",
		"embedder.provider": "openai", "embedder.model": "nomic-embed-text", "embedder.base_url": e.embedder + "/v1", "embedder.dimensions": 768,
		"slack.bot_token": e.slack.BotToken(), "slack.app_token": e.slack.AppToken(), "slack.channel": "C0ALERTS",
		"slack.api_url": e.slack.APIURL(), "kb.data_dir": e.dataDir,
		"server.listen": "0.0.0.0:8080", "server.webhook_token": "doctor-test-token",
	}
	for k, v := range overrides {
		flat[k] = v
	}
	nested := map[string]map[string]any{}
	for k, v := range flat {
		section, key, _ := strings.Cut(k, ".")
		if nested[section] == nil {
			nested[section] = map[string]any{}
		}
		nested[section][key] = v
	}
	b, err := yaml.Marshal(nested)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "k8flex.yaml")
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func runDoctorCmd(t *testing.T, cfgPath string) (int, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"doctor", "--config", cfgPath, "--timeout", "20s"}, &out, &errb)
	return code, out.String() + errb.String()
}

// line returns the checklist line of a check and its fix lines.
func line(out, check string) string {
	i := strings.Index(out, "] "+check+":")
	if i < 0 {
		return ""
	}
	rest := out[i:]
	end := strings.Index(rest, "\n[")
	if end < 0 {
		end = len(rest)
	}
	return out[max(0, i-5) : i+end]
}

// TestDoctor runs `k8flex doctor` on a working installation (every check
// passes, exit 0), then on the same installation with one thing wrong at a
// time: each fails its check, with its fix, and the command exits 1.
func TestDoctor(t *testing.T) {
	srv := apiservertest.Start(t)
	srv.CreateNamespace(t, "k8flex")
	b, err := os.ReadFile("../../manifests/base/clusterrole.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var shipped rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &shipped); err != nil {
		t.Fatal(err)
	}
	srv.BindClusterRole(t, "k8flex", "k8flex", "doctor-reader", shipped.Rules...)
	var noList []rbacv1.PolicyRule
	for _, r := range shipped.Rules {
		r = *r.DeepCopy()
		if len(r.APIGroups) == 1 && r.APIGroups[0] == "apps" {
			r.Verbs = []string{"get"} // "RBAC missing a verb"
		}
		noList = append(noList, r)
	}
	srv.BindClusterRole(t, "k8flex", "k8flex-nolist", "doctor-nolist", noList...)
	env := newDoctorEnv(t, srv, "k8flex")
	// The authorizer's cache takes a moment to see new bindings.
	apiservertest.WaitAuthorized(t, func() error {
		code, out := runDoctorCmd(t, env.config(t, nil))
		if code != 0 {
			return fmt.Errorf("doctor exited %d:\n%s", code, out)
		}
		return nil
	})

	t.Run("all good", func(t *testing.T) {
		code, out := runDoctorCmd(t, env.config(t, nil))
		if code != 0 || !strings.Contains(out, "checks: 12 ok, 0 to fix, 0 warnings, 0 skipped") {
			t.Fatalf("exit %d:\n%s", code, out)
		}
	})

	for _, tt := range []struct {
		name      string
		overrides map[string]any
		env       func() *doctorEnv
		check     string
		want      []string
	}{
		{name: "wrong bot token", overrides: map[string]any{"slack.bot_token": "xoxb-wrong"},
			check: "slack: bot token", want: []string{"invalid_auth", "fix: set slack.bot_token"}},
		{name: "RBAC missing a verb", env: func() *doctorEnv { return newDoctorEnv(t, srv, "k8flex-nolist") },
			check: "kubernetes: collectors' reads allowed", want: []string{"list deployments.apps", "list replicasets.apps", "fix: bind"}},
		{name: "model unreachable", overrides: map[string]any{"llm.base_url": "http://127.0.0.1:1/v1"},
			check: "model: answers", want: []string{"openai/gpt-4o-mini at http://127.0.0.1:1/v1", "fix: check llm.base_url"}},
		{name: "wrong embedding dimension", overrides: map[string]any{"embedder.dimensions": 384},
			check: "embedder: dimension", want: []string{"returns 768 dimensions, embedder.dimensions is 384", "fix: set embedder.dimensions (K8FLEX_EMBEDDER_DIMENSIONS) to 768"}},
		{name: "no webhook token beyond loopback", overrides: map[string]any{"server.webhook_token": ""},
			check: "server: webhook token", want: []string{"0.0.0.0:8080", "fix: set server.webhook_token"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := env
			if tt.env != nil {
				e = tt.env()
			}
			code, out := runDoctorCmd(t, e.config(t, tt.overrides))
			if code != 1 {
				t.Errorf("exit %d, want 1", code)
			}
			got := line(out, tt.check)
			if !strings.HasPrefix(got, "[FAIL]") {
				t.Fatalf("%s did not fail:\n%s", tt.check, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s lacks %q:\n%s", tt.check, w, got)
				}
			}
			if strings.Count(out, "[FAIL]") != 1 {
				t.Errorf("more than the one broken thing failed:\n%s", out)
			}
			if strings.Contains(out, "doctor-test-token") || strings.Contains(out, e.slack.BotToken()) {
				t.Error("the checklist prints a secret")
			}
		})
	}
	t.Run("missing scope and bot not in channel", func(t *testing.T) {
		e := *env
		e.slack = fakeslack.New(fakeslack.Options{NotMember: []string{"C0ALERTS"},
			Scopes: []string{"channels:read", "chat:write", "files:write", "groups:read", "reactions:read", "usergroups:read"}})
		t.Cleanup(e.slack.Close)
		code, out := runDoctorCmd(t, e.config(t, nil))
		if code != 1 || !strings.Contains(line(out, "slack: bot scopes"), "lacks commands") ||
			!strings.Contains(line(out, "slack: bot in the alert channel"), "fix: invite the bot") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
	t.Run("invalid config", func(t *testing.T) {
		code, out := runDoctorCmd(t, env.config(t, map[string]any{"kube.qps": -1}))
		if code != 1 || !strings.Contains(line(out, "config: keys valid"), "kube.qps must be positive") {
			t.Errorf("exit %d:\n%s", code, out)
		}
	})
}

// TestDoctorStores checks both stores: the embedded one opens (and a
// store of another dimension fails with the reembed fix), and PostgreSQL
// with pending migrations fails until they are applied, then passes.
func TestDoctorStores(t *testing.T) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		cfg := config.Default()
		cfg.KB.DataDir = dir
		if r := server.StoreCheck(cfg).Run(context.Background()); r.Status != 0 || !strings.Contains(r.Detail, "no store yet") {
			t.Errorf("fresh data dir: %+v", r)
		}
		s, err := server.OpenStore(context.Background(), cfg.KB, 384, false, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		// While serve holds the file, doctor does not fail on the lock.
		if r := server.StoreCheck(cfg).Run(context.Background()); r.Status != 0 || !strings.Contains(r.Detail, "locked") {
			t.Errorf("store in use: %+v", r)
		}
		_ = s.Close()
		if r := server.StoreCheck(cfg).Run(context.Background()); r.Status != 0 || !strings.Contains(r.Detail, "opens") {
			t.Errorf("closed store: %+v", r)
		}
		cfg.Embedder.Dimensions = 256
		if r := server.StoreCheck(cfg).Run(context.Background()); !strings.Contains(r.Fix, "k8flex kb reembed") {
			t.Errorf("other dimension: %+v", r)
		}
	})
	t.Run("postgres", func(t *testing.T) {
		cfg := config.Default()
		cfg.KB.DatabaseURL = pgtest.Database(t, "doctor")
		r := server.StoreCheck(cfg).Run(context.Background())
		if !strings.Contains(r.Detail, "migrations pending") || !strings.Contains(r.Fix, "k8flex serve") {
			t.Fatalf("fresh database: %+v", r)
		}
		// The check opened nothing: still no migration applied.
		if st, err := kb.PostgresMigrations(context.Background(), cfg.KB.DatabaseURL); err != nil || len(st.Applied) != 0 {
			t.Fatalf("doctor applied migrations: %+v %v", st, err)
		}
		s, err := server.OpenStore(context.Background(), cfg.KB, 384, false, zerolog.Nop())
		if err != nil {
			t.Fatal(err)
		}
		_ = s.Close()
		if r := server.StoreCheck(cfg).Run(context.Background()); r.Status != 0 || !strings.Contains(r.Detail, "migrations applied") {
			t.Errorf("migrated database: %+v", r)
		}
		cfg.Embedder.Dimensions = 256
		if r := server.StoreCheck(cfg).Run(context.Background()); !strings.Contains(r.Fix, "k8flex kb reembed") {
			t.Errorf("other dimension: %+v", r)
		}
		cfg.KB.DatabaseURL = "postgres://k8flex:secretpw@127.0.0.1:1/k8flex?sslmode=disable"
		if r := server.StoreCheck(cfg).Run(context.Background()); !strings.Contains(r.Fix, "kb.database_url") {
			t.Errorf("unreachable database: %+v", r)
		}
	})
}
