package llm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	with := func(f func(*Config)) Config {
		c := DefaultConfig()
		f(&c)
		return c
	}
	for _, tt := range []struct {
		name    string
		cfg     Config
		wantErr string // "" = valid
	}{
		{name: "default builtin", cfg: DefaultConfig()},
		{name: "ollama", cfg: with(func(c *Config) { c.Provider, c.Model = "ollama", "llama3.2" })},
		{name: "openai compatible without key", cfg: with(func(c *Config) { c.Provider, c.Model, c.BaseURL = "openai", "m", "http://vllm:8000" })},
		{name: "openai key file", cfg: with(func(c *Config) { c.Provider, c.Model, c.APIKeyFile = "openai", "gpt-4o", keyFile })},
		{name: "unknown provider", cfg: with(func(c *Config) { c.Provider = "gpt" }), wantErr: "llm.provider"},
		{name: "missing model", cfg: with(func(c *Config) { c.Provider = "openai"; c.APIKey = "k" }), wantErr: "llm.model is required for provider openai"},
		{name: "openai without key", cfg: with(func(c *Config) { c.Provider, c.Model = "openai", "gpt-4o" }), wantErr: "llm.api_key"},
		{name: "anthropic without key", cfg: with(func(c *Config) { c.Provider, c.Model, c.BaseURL = "anthropic", "claude", "http://x" }), wantErr: "llm.api_key"},
		{name: "both keys", cfg: with(func(c *Config) { c.Provider, c.Model, c.APIKey, c.APIKeyFile = "openai", "m", "k", keyFile }), wantErr: "llm.api_key_file"},
		{name: "missing key file", cfg: with(func(c *Config) { c.Provider, c.Model, c.APIKeyFile = "gemini", "m", "/nonexistent/key" }), wantErr: "llm.api_key_file"},
		{name: "bad base url", cfg: with(func(c *Config) { c.Provider, c.Model, c.BaseURL = "ollama", "m", "localhost:11434" }), wantErr: "llm.base_url"},
		{name: "temperature", cfg: with(func(c *Config) { c.Temperature = 3 }), wantErr: "llm.temperature"},
		{name: "max output tokens", cfg: with(func(c *Config) { c.MaxOutputTokens = 0 }), wantErr: "llm.max_output_tokens"},
		{name: "timeout", cfg: with(func(c *Config) { c.Timeout = 0 }), wantErr: "llm.timeout"},
		{name: "concurrency", cfg: with(func(c *Config) { c.MaxConcurrency = 0 }), wantErr: "llm.max_concurrency"},
		{name: "rpm", cfg: with(func(c *Config) { c.RequestsPerMinute = -1 }), wantErr: "llm.requests_per_minute"},
		{name: "tpm below output", cfg: with(func(c *Config) { c.TokensPerMinute = 10 }), wantErr: "llm.tokens_per_minute"},
		{name: "retries", cfg: with(func(c *Config) { c.MaxRetries = 11 }), wantErr: "llm.max_retries"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
	if k, err := with(func(c *Config) { c.APIKeyFile = keyFile }).Key(); err != nil || k != "sk-from-file" {
		t.Errorf("Key() = %q, %v", k, err)
	}
}

func TestEmbedderConfigValidate(t *testing.T) {
	for _, tt := range []struct {
		name    string
		cfg     EmbedderConfig
		wantErr string
	}{
		{name: "default", cfg: DefaultEmbedderConfig()},
		{name: "known model", cfg: EmbedderConfig{Provider: "ollama", Model: "nomic-embed-text"}},
		{name: "unknown model without dims", cfg: EmbedderConfig{Provider: "ollama", Model: "my-embed"}, wantErr: "embedder.dimensions is required"},
		{name: "builtin dims", cfg: EmbedderConfig{Provider: "builtin", Dimensions: 8}, wantErr: "embedder.dimensions"},
		{name: "missing model", cfg: EmbedderConfig{Provider: "openai", APIKey: "k"}, wantErr: "embedder.model"},
		{name: "anthropic", cfg: EmbedderConfig{Provider: "anthropic", Model: "m"}, wantErr: "embedder.provider"},
		{name: "unknown", cfg: EmbedderConfig{Provider: "x"}, wantErr: "embedder.provider"},
		{name: "negative timeout", cfg: EmbedderConfig{Timeout: -time.Second}, wantErr: "embedder.timeout"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v, want an error naming %q", err, tt.wantErr)
			}
		})
	}
}

func TestEndpoint(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080/v1"},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080/v1"},
		{"http://litellm:4000/openai/v1/", "http://litellm:4000/openai/v1"},
	} {
		if got := endpoint(tt.in); got != tt.want {
			t.Errorf("endpoint(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false}, {"3", 3 * time.Second, true}, {"junk", 0, false},
		{now.Add(7 * time.Second).Format(http1123), 7 * time.Second, true},
		{now.Add(-time.Second).Format(http1123), 0, true},
	} {
		got, ok := retryAfter(tt.in, now)
		if got != tt.want || ok != tt.ok {
			t.Errorf("retryAfter(%q) = %s, %v; want %s, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}

const http1123 = "Mon, 02 Jan 2006 15:04:05 GMT"
