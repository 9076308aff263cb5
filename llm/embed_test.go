package llm

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/llm/llmtest"
)

func TestRemoteEmbedders(t *testing.T) {
	for _, tt := range []struct {
		provider, model string
		fake            func(llmtest.Options) *llmtest.Fake
		key             string
	}{
		{provider: ProviderOpenAI, model: "text-embedding-3-small", fake: llmtest.NewOpenAI, key: testKey},
		{provider: ProviderOllama, model: "nomic-embed-text", fake: llmtest.NewOllama},
		{provider: ProviderGemini, model: "text-embedding-004", fake: llmtest.NewGemini, key: testKey},
		{provider: ProviderBedrock, model: "amazon.titan-embed-text-v2:0", fake: llmtest.NewBedrock, key: "AKIDFAKEBEDROCK"},
	} {
		t.Run(tt.provider, func(t *testing.T) {
			if tt.provider == ProviderBedrock {
				t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
				t.Setenv("AWS_ACCESS_KEY_ID", tt.key)
				t.Setenv("AWS_SECRET_ACCESS_KEY", "fake-secret")
				t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/none")
				t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/none")
			}
			fake := tt.fake(llmtest.Options{Model: tt.model, APIKey: tt.key, Dimensions: 16})
			cfg := EmbedderConfig{Provider: tt.provider, Model: tt.model, BaseURL: fake.Start(t), Dimensions: 16, Timeout: 5 * time.Second}
			if tt.provider != ProviderBedrock {
				cfg.APIKey = tt.key
			}
			e, err := NewEmbedder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if e.Dimensions() != 16 {
				t.Fatalf("Dimensions() = %d", e.Dimensions())
			}
			texts := []string{"KubePodCrashLooping pod-crash", "KubeNodeNotReady node-not-ready", "CoreDNS dns-issues"}
			vecs, err := e.Embed(context.Background(), texts)
			if err != nil {
				t.Fatalf("Embed: %v", err)
			}
			if len(vecs) != len(texts) || len(vecs[0]) != 16 {
				t.Fatalf("got %d vectors of %d", len(vecs), len(vecs[0]))
			}
			var got []string
			for _, r := range fake.Requests() {
				got = append(got, r.Inputs...)
			}
			if strings.Join(got, "|") != strings.Join(texts, "|") {
				t.Errorf("fake embedded %q, want %q in order", got, texts)
			}
			for _, p := range fake.Problems() {
				t.Error(p)
			}

			// A wrong embedder.dimensions is reported, naming the key.
			cfg.Dimensions = 32
			e, err = NewEmbedder(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := e.Embed(context.Background(), texts[:1]); err == nil || !strings.Contains(err.Error(), "embedder.dimensions") {
				t.Errorf("size mismatch error = %v", err)
			}
		})
	}
}

func TestNewEmbedderBuiltin(t *testing.T) {
	e, err := NewEmbedder(DefaultEmbedderConfig())
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := e.(*LocalEmbedder); !ok || e.Dimensions() != DefaultLocalDimensions {
		t.Errorf("builtin embedder = %T with %d dims", e, e.Dimensions())
	}
}
