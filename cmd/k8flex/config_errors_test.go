package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// isolateEnv clears what could point the process at a cluster or change
// its configuration: K8FLEX_* variables, KUBECONFIG, the in-cluster
// variables, and HOME (so no ~/.kube/config is found).
func isolateEnv(t *testing.T) string {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "K8FLEX_") {
			t.Setenv(k, "")
		}
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("KUBECONFIG", "")
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	t.Setenv("KUBERNETES_MASTER", "")
	return home
}

// TestServeConfigErrorsNameTheSetting: `k8flex serve` refuses each wrong or
// missing setting at start-up with an error naming the K8flex key (or
// flag) to set, and never client-go's KUBERNETES_MASTER.
func TestServeConfigErrorsNameTheSetting(t *testing.T) {
	home := isolateEnv(t)
	noClusters := filepath.Join(home, "empty-kubeconfig")
	if err := os.WriteFile(noClusters, []byte("apiVersion: v1\nkind: Config\nclusters: []\ncontexts: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	oneCluster := filepath.Join(home, "kubeconfig")
	if err := os.WriteFile(oneCluster, []byte(`apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: ctx, context: {cluster: c, user: u}}]
current-context: ctx
`), 0o600); err != nil {
		t.Fatal(err)
	}
	unknownKey := filepath.Join(home, "unknown.yaml")
	if err := os.WriteFile(unknownKey, []byte("server:\n  listen_adress: 127.0.0.1:9\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	scenarioFlags := []string{"--scenario", e2eScenario}
	for _, tt := range []struct {
		name  string
		env   map[string]string
		flags []string
		want  []string
	}{
		{name: "no cluster at all", want: []string{"kube.kubeconfig", "K8FLEX_KUBE_KUBECONFIG"}},
		{name: "kubeconfig file missing", env: map[string]string{"K8FLEX_KUBE_KUBECONFIG": filepath.Join(home, "nope")},
			want: []string{"kube.kubeconfig", "nope"}},
		{name: "kubeconfig without clusters", env: map[string]string{"K8FLEX_KUBE_KUBECONFIG": noClusters},
			want: []string{"kube.kubeconfig", noClusters}},
		{name: "unknown context", env: map[string]string{"K8FLEX_KUBE_KUBECONFIG": oneCluster, "K8FLEX_KUBE_CONTEXT": "prod"},
			want: []string{"kube.context", "prod"}},
		{name: "in a pod without its ServiceAccount", env: map[string]string{"KUBERNETES_SERVICE_HOST": "10.0.0.1",
			"KUBERNETES_SERVICE_PORT": "443"}, want: []string{"kube.kubeconfig", "in-cluster"}},
		{name: "scenario missing", flags: []string{"--scenario", filepath.Join(home, "no-scenario")}, want: []string{"--scenario", "no-scenario"}},
		{name: "data dir unusable", flags: append([]string{"--data-dir", "/proc/k8flex"}, scenarioFlags...),
			want: []string{"kb.data_dir"}},
		{name: "database url unparsable", flags: scenarioFlags, env: map[string]string{"K8FLEX_KB_DATABASE_URL": "not a url"},
			want: []string{"kb.database_url"}},
		{name: "token file missing", flags: scenarioFlags, env: map[string]string{"K8FLEX_SERVER_WEBHOOK_TOKEN_FILE": filepath.Join(home, "tok")},
			want: []string{"server.webhook_token_file"}},
		{name: "open listen without token", flags: append([]string{"--listen", "0.0.0.0:0"}, scenarioFlags...),
			want: []string{"server.webhook_token", "server.insecure"}},
		{name: "bad listen flag", flags: append([]string{"--listen", "nonsense"}, scenarioFlags...), want: []string{"server.listen"}},
		{name: "no workers", flags: scenarioFlags, env: map[string]string{"K8FLEX_SERVER_WORKERS": "0"}, want: []string{"server.workers"}},
		{name: "half a slack setup", flags: scenarioFlags, env: map[string]string{"K8FLEX_SLACK_BOT_TOKEN": "xoxb-1"},
			want: []string{"slack.app_token", "slack.channel"}},
		{name: "model missing", flags: scenarioFlags, env: map[string]string{"K8FLEX_LLM_PROVIDER": "openai"}, want: []string{"llm.model"}},
		{name: "unknown key", flags: append([]string{"--config", unknownKey}, scenarioFlags...), want: []string{"listen_adress"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			// The flags of the case come last: the last value of a flag wins.
			args := append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", filepath.Join(t.TempDir(), "data")}, tt.flags...)
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			var stdout, stderr syncBuffer
			code := run(ctx, args, &stdout, &stderr)
			out := stderr.String()
			if code == 0 {
				t.Fatalf("serve started (or exited 0) with a wrong setting:\n%s", tailString(out, 10))
			}
			last := tailString(out, 3)
			for _, w := range tt.want {
				if !strings.Contains(last, w) {
					t.Errorf("error does not name %q:\n%s", w, last)
				}
			}
			if strings.Contains(out, "KUBERNETES_MASTER") {
				t.Errorf("error names client-go's KUBERNETES_MASTER:\n%s", last)
			}
		})
	}
}
