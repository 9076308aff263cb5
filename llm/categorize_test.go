package llm

import (
	"context"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/llm/llmtest"
)

func TestMatchCategory(t *testing.T) {
	cands := investigate.Categories()
	for _, tt := range []struct {
		name, answer string
		want         investigate.Category
		ok           bool
	}{
		{name: "exact", answer: "oom-killed", want: investigate.OOMKilled, ok: true},
		{name: "case and spaces", answer: "  OOM-Killed \n", want: investigate.OOMKilled, ok: true},
		{name: "quotes", answer: `"dns-issues"`, want: investigate.DNSIssues, ok: true},
		{name: "backticks and period", answer: "`pod-crash`.", want: investigate.PodCrash, ok: true},
		{name: "trailing period", answer: "node-not-ready.", want: investigate.NodeNotReady, ok: true},
		{name: "bold", answer: "**disk-pressure**", want: investigate.DiskPressure, ok: true},
		{name: "sentence", answer: "The category is pod-crash", ok: false},
		{name: "unknown", answer: "memory-leak", ok: false},
		{name: "empty", answer: "", ok: false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := MatchCategory(tt.answer, cands)
			if got != tt.want || ok != tt.ok {
				t.Errorf("MatchCategory(%q) = %q, %v; want %q, %v", tt.answer, got, ok, tt.want, tt.ok)
			}
		})
	}
	if _, ok := MatchCategory("dns-issues", []investigate.Category{investigate.PodCrash}); ok {
		t.Error("accepted a category outside the candidates")
	}
}

func TestCategorize(t *testing.T) {
	alert := &investigate.Alert{
		Labels: map[string]string{"alertname": "KubeContainerWaiting", "namespace": "shop", "pod": "web-0", "severity": "warning"},
		Annotations: map[string]string{
			"summary":     "container app in shop/web-0 waiting for 1h",
			"description": "credentials aws_access_key_id=" + plantedSecret + " found in env",
		},
	}
	cands := []investigate.Category{investigate.PodCrash, investigate.PodPending, investigate.OOMKilled}
	for _, tt := range []struct {
		name    string
		answer  string
		want    investigate.Category
		wantErr string
	}{
		{name: "valid answer", answer: " Pod-Pending.\n", want: investigate.PodPending},
		{name: "answer outside the candidates", answer: "dns-issues", wantErr: "not one of the candidates"},
		{name: "chatty answer", answer: "I think it is pod-pending because", wantErr: "not one of the candidates"},
	} {
		for _, pc := range providerCases() {
			t.Run(tt.name+"/"+pc.name, func(t *testing.T) {
				fake, a := setup(t, pc, llmtest.Options{Chunks: llmtest.SplitChunks(tt.answer)}, nil)
				got, err := a.Categorizer().Categorize(context.Background(), alert, cands)
				if tt.wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Fatalf("Categorize = %q, %v; want error %q", got, err, tt.wantErr)
					}
					return
				}
				if err != nil || got != tt.want {
					t.Fatalf("Categorize = %q, %v; want %q", got, err, tt.want)
				}
				req := fake.Requests()[0]
				for _, c := range cands {
					if !strings.Contains(req.System, string(c)) {
						t.Errorf("system prompt does not list %s: %q", c, req.System)
					}
				}
				for _, s := range []string{"KubeContainerWaiting", "namespace: shop", "waiting for 1h"} {
					if !strings.Contains(req.User, s) {
						t.Errorf("user prompt lacks %q: %q", s, req.User)
					}
				}
				// The fake's Forbidden check (see setup) fails the test if
				// the planted secret reached it.
			})
		}
	}
}

func TestCategorizeFailsWhenProviderDown(t *testing.T) {
	pc := providerCases()[0]
	fake, a := setup(t, pc, llmtest.Options{Chunks: []string{"pod-crash"}}, func(c *Config) { c.MaxRetries = 0 })
	fake.FailNext(llmtest.Failure{Status: 503})
	if _, err := a.Categorizer().Categorize(context.Background(), &investigate.Alert{Labels: map[string]string{"alertname": "X"}},
		investigate.Categories()); err == nil {
		t.Fatal("Categorize succeeded against a 503")
	}
}

// TestCategorizePromptMasksSecretNamedValues: a value is masked by its
// key's name even when the value itself looks harmless.
func TestCategorizePromptMasksSecretNamedValues(t *testing.T) {
	a := &investigate.Alert{Labels: map[string]string{"alertname": "AppDown", "db_password": "hunter2"},
		Annotations: map[string]string{"api_token": "plainvalue42"}}
	_, user := CategorizePrompt(a, investigate.Categories())
	for _, secret := range []string{"hunter2", "plainvalue42"} {
		if strings.Contains(user, secret) {
			t.Errorf("categorisation prompt leaks %q:\n%s", secret, user)
		}
	}
	if !strings.Contains(user, "db_password") {
		t.Errorf("the key name should stay readable:\n%s", user)
	}
}
