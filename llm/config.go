package llm

import (
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"
)

// Provider names accepted in llm.provider and embedder.provider.
const (
	ProviderBuiltin   = "builtin"
	ProviderOllama    = "ollama"
	ProviderOpenAI    = "openai"
	ProviderAnthropic = "anthropic"
	ProviderGemini    = "gemini"
	ProviderBedrock   = "bedrock"
)

// Config configures the model behind analysis and categorisation (keys
// under llm.*). The zero value is not usable: start from DefaultConfig.
type Config struct {
	// Provider is builtin (no model), ollama, openai, anthropic, gemini or bedrock.
	Provider string `mapstructure:"provider"`
	// Model is the provider's model name (required unless builtin).
	Model string `mapstructure:"model"`
	// BaseURL overrides the provider's endpoint. For openai and anthropic a
	// URL without a path gets "/v1" appended; a URL with a path is used as
	// given (e.g. "http://litellm:4000/openai/v1").
	BaseURL string `mapstructure:"base_url"`
	// APIKey is the key itself; APIKeyFile a file holding it. At most one.
	APIKey     string `mapstructure:"api_key"`
	APIKeyFile string `mapstructure:"api_key_file"`
	// Region is the AWS region for bedrock (default us-east-1).
	Region string `mapstructure:"region"`
	// Temperature is the sampling temperature, 0..2.
	Temperature float64 `mapstructure:"temperature"`
	// MaxOutputTokens caps the answer's length.
	MaxOutputTokens int `mapstructure:"max_output_tokens"`
	// Timeout bounds one model call, retries included.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxConcurrency bounds the calls in flight to this provider.
	MaxConcurrency int `mapstructure:"max_concurrency"`
	// RequestsPerMinute and TokensPerMinute rate-limit calls (0 = unlimited).
	// Tokens are estimated before the call: prompt chars/4 + MaxOutputTokens.
	RequestsPerMinute int `mapstructure:"requests_per_minute"`
	TokensPerMinute   int `mapstructure:"tokens_per_minute"`
	// MaxRetries is how often a 429 or 5xx answer is retried.
	MaxRetries int `mapstructure:"max_retries"`
}

// DefaultConfig returns the defaults of every llm.* key.
func DefaultConfig() Config {
	return Config{
		Provider:        ProviderBuiltin,
		Temperature:     0.2,
		MaxOutputTokens: 1500,
		Timeout:         90 * time.Second,
		MaxConcurrency:  4,
		MaxRetries:      3,
	}
}

// UsesModel reports whether the configured provider calls a model (every
// provider but builtin).
func (c Config) UsesModel() bool { return c.Provider != ProviderBuiltin && c.Provider != "" }

// Validate reports the first wrong or missing setting, naming its key.
func (c Config) Validate() error {
	return validateCommon("llm", c.Provider, c.Model, c.BaseURL, c.APIKey, c.APIKeyFile, c.validateRest)
}

func (c Config) validateRest() error {
	switch {
	case c.Temperature < 0 || c.Temperature > 2:
		return fmt.Errorf("llm.temperature must be between 0 and 2, got %g", c.Temperature)
	case c.MaxOutputTokens <= 0:
		return fmt.Errorf("llm.max_output_tokens must be positive, got %d", c.MaxOutputTokens)
	case c.Timeout <= 0:
		return fmt.Errorf("llm.timeout must be positive, got %s", c.Timeout)
	case c.MaxConcurrency <= 0:
		return fmt.Errorf("llm.max_concurrency must be positive, got %d", c.MaxConcurrency)
	case c.RequestsPerMinute < 0:
		return fmt.Errorf("llm.requests_per_minute must not be negative, got %d", c.RequestsPerMinute)
	case c.TokensPerMinute < 0:
		return fmt.Errorf("llm.tokens_per_minute must not be negative, got %d", c.TokensPerMinute)
	case c.TokensPerMinute > 0 && c.TokensPerMinute < c.MaxOutputTokens:
		return fmt.Errorf("llm.tokens_per_minute (%d) must be at least llm.max_output_tokens (%d)", c.TokensPerMinute, c.MaxOutputTokens)
	case c.MaxRetries < 0 || c.MaxRetries > 10:
		return fmt.Errorf("llm.max_retries must be between 0 and 10, got %d", c.MaxRetries)
	}
	return nil
}

// Key returns the API key from APIKey or the file APIKeyFile ("" when
// neither is set).
func (c Config) Key() (string, error) { return readKey("llm", c.APIKey, c.APIKeyFile) }

// EmbedderConfig configures the embedder of the knowledge base (keys under
// embedder.*).
type EmbedderConfig struct {
	// Provider is builtin (local, no model), openai, ollama, gemini or bedrock.
	Provider   string `mapstructure:"provider"`
	Model      string `mapstructure:"model"`
	BaseURL    string `mapstructure:"base_url"`
	APIKey     string `mapstructure:"api_key"`
	APIKeyFile string `mapstructure:"api_key_file"`
	// Region is the AWS region for bedrock (default us-east-1).
	Region string `mapstructure:"region"`
	// Dimensions is the vector size: for builtin any 16..4096 (default 384);
	// for a model its output size (required unless the model is well known).
	Dimensions int `mapstructure:"dimensions"`
	// Timeout bounds one embedding call (default 30s).
	Timeout time.Duration `mapstructure:"timeout"`
}

// DefaultEmbedderConfig returns the defaults of every embedder.* key.
func DefaultEmbedderConfig() EmbedderConfig {
	return EmbedderConfig{Provider: ProviderBuiltin, Dimensions: DefaultLocalDimensions, Timeout: 30 * time.Second}
}

// knownDimensions are the output sizes of common embedding models, used
// when embedder.dimensions is not set.
func knownDimensions(model string) int {
	switch model {
	case "text-embedding-3-small", "text-embedding-ada-002":
		return 1536
	case "text-embedding-3-large":
		return 3072
	case "nomic-embed-text", "text-embedding-004", "embedding-001", "gemini-embedding-001":
		return 768
	case "mxbai-embed-large", "amazon.titan-embed-text-v1":
		return 1024
	case "all-minilm":
		return 384
	}
	return 0
}

// Validate reports the first wrong or missing setting, naming its key.
func (c EmbedderConfig) Validate() error {
	if c.Provider == ProviderAnthropic {
		return errors.New("embedder.provider anthropic has no embeddings API (use builtin, openai, ollama, gemini or bedrock)")
	}
	return validateCommon("embedder", c.Provider, c.Model, c.BaseURL, c.APIKey, c.APIKeyFile, func() error {
		if c.Timeout < 0 {
			return fmt.Errorf("embedder.timeout must not be negative, got %s", c.Timeout)
		}
		if c.Provider == ProviderBuiltin || c.Provider == "" {
			if c.Dimensions != 0 && (c.Dimensions < 16 || c.Dimensions > 4096) {
				return fmt.Errorf("embedder.dimensions must be between 16 and 4096 for provider builtin, got %d", c.Dimensions)
			}
			return nil
		}
		if c.Dimensions < 0 {
			return fmt.Errorf("embedder.dimensions must be positive, got %d", c.Dimensions)
		}
		if c.Dimensions == 0 && knownDimensions(c.Model) == 0 {
			return fmt.Errorf("embedder.dimensions is required for model %q (its vector size is not known)", c.Model)
		}
		return nil
	})
}

// Key returns the API key from APIKey or the file APIKeyFile ("" when
// neither is set).
func (c EmbedderConfig) Key() (string, error) { return readKey("embedder", c.APIKey, c.APIKeyFile) }

func (c EmbedderConfig) dimensions() int {
	if c.Dimensions > 0 {
		return c.Dimensions
	}
	if c.Provider == ProviderBuiltin || c.Provider == "" {
		return DefaultLocalDimensions
	}
	return knownDimensions(c.Model)
}

func validateCommon(prefix, provider, model, baseURL, key, keyFile string, rest func() error) error {
	switch provider {
	case ProviderBuiltin, "":
		return rest()
	case ProviderOllama, ProviderOpenAI, ProviderAnthropic, ProviderGemini, ProviderBedrock:
	default:
		return fmt.Errorf("%s.provider %q is not one of builtin, ollama, openai, anthropic, gemini, bedrock", prefix, provider)
	}
	if strings.TrimSpace(model) == "" {
		return fmt.Errorf("%s.model is required for provider %s", prefix, provider)
	}
	if baseURL != "" {
		u, err := url.Parse(baseURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("%s.base_url %q is not an http(s) URL", prefix, baseURL)
		}
	}
	if key != "" && keyFile != "" {
		return fmt.Errorf("%s.api_key and %s.api_key_file are both set; set one", prefix, prefix)
	}
	k, err := readKey(prefix, key, keyFile)
	if err != nil {
		return err
	}
	switch provider {
	case ProviderAnthropic, ProviderGemini:
		if k == "" {
			return fmt.Errorf("%s.api_key (or %s.api_key_file) is required for provider %s", prefix, prefix, provider)
		}
	case ProviderOpenAI:
		if k == "" && baseURL == "" {
			return fmt.Errorf("%s.api_key (or %s.api_key_file) is required for provider openai without %s.base_url", prefix, prefix, prefix)
		}
	}
	return rest()
}

func readKey(prefix, key, file string) (string, error) {
	if key != "" || file == "" {
		return key, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", fmt.Errorf("%s.api_key_file: read %s: %w", prefix, file, err)
	}
	k := strings.TrimSpace(string(b))
	if k == "" {
		return "", fmt.Errorf("%s.api_key_file %s is empty", prefix, file)
	}
	return k, nil
}

// endpoint returns base with "/v1" appended when it has no path, else base
// unchanged; "" stays "" (the library's default endpoint).
func endpoint(base string) string {
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err == nil && strings.Trim(u.Path, "/") == "" {
		return strings.TrimRight(base, "/") + "/v1"
	}
	return strings.TrimRight(base, "/")
}
