// Package config is K8flex's configuration: the typed settings of every
// part of the process, their defaults, their validation (each message names
// its key), and Load, which reads them from a YAML file, K8FLEX_*
// environment variables and overrides. viper is read here and nowhere else.
package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"strings"
	"time"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"

	"github.com/k8flex/k8flex/bot"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/metrics"
)

// Config is K8flex's whole configuration. Every key has a default (so a
// K8FLEX_* environment variable can set it: K8FLEX_LLM_MODEL sets
// llm.model) and is documented in the README's configuration reference.
type Config struct {
	Log      LogConfig          `mapstructure:"log"`
	Kube     KubeConfig         `mapstructure:"kube"`
	Engine   EngineConfig       `mapstructure:"engine"`
	LLM      llm.Config         `mapstructure:"llm"`
	Embedder llm.EmbedderConfig `mapstructure:"embedder"`
	KB       KBConfig           `mapstructure:"kb"`
	Server   ServerConfig       `mapstructure:"server"`
	Fold     FoldConfig         `mapstructure:"fold"`
	Slack    bot.Config         `mapstructure:"slack"`
	// Prometheus is the Prometheus the investigations ask for the series
	// behind an alert (package metrics); off without a URL.
	Prometheus metrics.Config `mapstructure:"prometheus"`
}

// FoldConfig configures storm folding (package fold).
type FoldConfig struct {
	// Window is how long alerts of one incident (alert name, namespace,
	// workload) fold into its investigation; 0 disables folding.
	Window time.Duration `mapstructure:"window"`
}

// LogConfig configures logging.
type LogConfig struct {
	// Level is trace, debug, info, warn or error.
	Level string `mapstructure:"level"`
	// Format is json (for log collectors) or console (for people).
	Format string `mapstructure:"format"`
}

// KubeConfig configures access to the cluster and evidence gathering.
type KubeConfig struct {
	// Kubeconfig is the kubeconfig path; empty = in-cluster, then ~/.kube/config.
	Kubeconfig string `mapstructure:"kubeconfig"`
	Context    string `mapstructure:"context"`
	// QPS and Burst configure client-go's rate limiter. A storm of alerts
	// for pods that are gone costs about one request each: 100/s drains
	// 2,000 in ~20 s while staying far below the API server's limits.
	QPS   float64 `mapstructure:"qps"`
	Burst int     `mapstructure:"burst"`
	// CacheTTL is the freshness bound of reads shared between
	// investigations (namespace pods/events/Services/EndpointSlices,
	// nodes, CoreDNS); negative disables the cache.
	CacheTTL time.Duration `mapstructure:"cache_ttl"`
	// CollectorTimeout bounds each collector.
	CollectorTimeout time.Duration `mapstructure:"collector_timeout"`
	// SectionBytes, TotalBytes and LogLines bound the evidence.
	SectionBytes int `mapstructure:"section_bytes"`
	TotalBytes   int `mapstructure:"total_bytes"`
	LogLines     int `mapstructure:"log_lines"`
}

// EngineConfig configures the investigation engine.
type EngineConfig struct {
	SimilarThreshold float64       `mapstructure:"similar_threshold"`
	SimilarTopN      int           `mapstructure:"similar_top_n"`
	PromptMaxTokens  int           `mapstructure:"prompt_max_tokens"`
	GatherTimeout    time.Duration `mapstructure:"gather_timeout"`
	AnalyzeTimeout   time.Duration `mapstructure:"analyze_timeout"`
}

// KBConfig selects the knowledge base.
type KBConfig struct {
	// DatabaseURL selects PostgreSQL + pgvector; empty = the embedded store.
	DatabaseURL string `mapstructure:"database_url"`
	// DataDir holds the embedded store's file.
	DataDir string `mapstructure:"data_dir"`
	// MaxConns caps the PostgreSQL connection pool.
	MaxConns int32 `mapstructure:"max_conns"`
	// SlackWorkspaceURL (https://acme.slack.com) turns recalled cases'
	// threads into permalinks.
	SlackWorkspaceURL string `mapstructure:"slack_workspace_url"`
}

func Default() Config {
	return Config{
		Log: LogConfig{Level: "info", Format: "console"},
		Kube: KubeConfig{QPS: 100, Burst: 200, CacheTTL: 3 * time.Second, CollectorTimeout: 5 * time.Second,
			SectionBytes: 6 << 10, TotalBytes: 48 << 10, LogLines: 100},
		Engine: EngineConfig{SimilarThreshold: 0.75, SimilarTopN: 5, PromptMaxTokens: 12000,
			GatherTimeout: 30 * time.Second, AnalyzeTimeout: 5 * time.Minute},
		LLM:      llm.DefaultConfig(),
		Embedder: llm.DefaultEmbedderConfig(),
		KB:       KBConfig{DataDir: "./k8flex-data", MaxConns: 8},
		Server: ServerConfig{Listen: "127.0.0.1:8080", Workers: 4, MaxBodyBytes: 32 << 20,
			ShutdownGrace: 20 * time.Second, Lease: time.Minute},
		Fold:       FoldConfig{Window: 10 * time.Minute},
		Slack:      bot.DefaultConfig(),
		Prometheus: metrics.DefaultConfig(),
	}
}

// Validate reports the first wrong setting, naming its key.
func (c Config) Validate() error {
	switch c.Log.Level {
	case "trace", "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("log.level %q is not one of trace, debug, info, warn, error", c.Log.Level)
	}
	if c.Log.Format != "json" && c.Log.Format != "console" {
		return fmt.Errorf("log.format %q is not json or console", c.Log.Format)
	}
	switch {
	case c.Kube.QPS <= 0:
		return fmt.Errorf("kube.qps must be positive, got %g", c.Kube.QPS)
	case c.Kube.Burst <= 0:
		return fmt.Errorf("kube.burst must be positive, got %d", c.Kube.Burst)
	case c.Fold.Window < 0:
		return fmt.Errorf("fold.window must not be negative, got %s", c.Fold.Window)
	case c.Kube.CollectorTimeout <= 0:
		return fmt.Errorf("kube.collector_timeout must be positive, got %s", c.Kube.CollectorTimeout)
	case c.Kube.SectionBytes < 512:
		return fmt.Errorf("kube.section_bytes must be at least 512, got %d", c.Kube.SectionBytes)
	case c.Kube.TotalBytes < c.Kube.SectionBytes:
		return fmt.Errorf("kube.total_bytes (%d) must be at least kube.section_bytes (%d)", c.Kube.TotalBytes, c.Kube.SectionBytes)
	case c.Kube.LogLines <= 0:
		return fmt.Errorf("kube.log_lines must be positive, got %d", c.Kube.LogLines)
	case c.Engine.SimilarThreshold <= 0 || c.Engine.SimilarThreshold > 1:
		return fmt.Errorf("engine.similar_threshold must be in (0, 1], got %g", c.Engine.SimilarThreshold)
	case c.Engine.SimilarTopN <= 0:
		return fmt.Errorf("engine.similar_top_n must be positive, got %d", c.Engine.SimilarTopN)
	case c.Engine.PromptMaxTokens < 1000:
		return fmt.Errorf("engine.prompt_max_tokens must be at least 1000, got %d", c.Engine.PromptMaxTokens)
	case c.Engine.GatherTimeout <= 0:
		return fmt.Errorf("engine.gather_timeout must be positive, got %s", c.Engine.GatherTimeout)
	case c.Engine.AnalyzeTimeout <= 0:
		return fmt.Errorf("engine.analyze_timeout must be positive, got %s", c.Engine.AnalyzeTimeout)
	case c.KB.MaxConns <= 0:
		return fmt.Errorf("kb.max_conns must be positive, got %d", c.KB.MaxConns)
	case c.KB.DatabaseURL == "" && c.KB.DataDir == "":
		return errors.New("kb.data_dir is required when kb.database_url is empty")
	}
	if err := c.LLM.Validate(); err != nil {
		return err
	}
	if err := c.Slack.Validate(); err != nil {
		return err
	}
	if err := c.Prometheus.Validate(); err != nil {
		return err
	}
	return c.Embedder.Validate()
}

// Load reads the configuration: defaults, then the YAML file at path
// (if any), then K8FLEX_* environment variables, then overrides (flag
// values by key). Unknown keys in the file are errors.
func Load(path string, overrides map[string]any) (Config, error) {
	v := viper.New()
	registerDefaults(v, "", reflect.ValueOf(Default()))
	v.SetEnvPrefix("K8FLEX")
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if path != "" {
		v.SetConfigFile(path)
		if err := v.ReadInConfig(); err != nil {
			return Config{}, fmt.Errorf("read config %s: %w", path, err)
		}
	}
	for k, val := range overrides {
		v.Set(k, val)
	}
	var c Config
	err := v.UnmarshalExact(&c, viper.DecodeHook(mapstructure.ComposeDecodeHookFunc(
		mapstructure.StringToTimeDurationHookFunc(),
		mapstructure.StringToSliceHookFunc(","),
	)))
	if err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	if err := c.Validate(); err != nil {
		return Config{}, fmt.Errorf("config: %w", err)
	}
	return c, nil
}

// registerDefaults registers every leaf key of the config struct with its
// default, so viper binds its environment variable.
func registerDefaults(v *viper.Viper, prefix string, rv reflect.Value) {
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		tag := f.Tag.Get("mapstructure")
		if tag == "" || tag == "-" {
			continue
		}
		key := prefix + tag
		fv := rv.Field(i)
		if fv.Kind() == reflect.Struct && f.Type != reflect.TypeOf(time.Time{}) {
			registerDefaults(v, key+".", fv)
			continue
		}
		v.SetDefault(key, fv.Interface())
	}
}

// Keys lists every configuration key with its default, for docs and tests.
func Keys() map[string]any {
	v := viper.New()
	registerDefaults(v, "", reflect.ValueOf(Default()))
	out := map[string]any{}
	for _, k := range v.AllKeys() {
		out[k] = v.Get(k)
	}
	return out
}

// ServerConfig configures `k8flex serve`.
type ServerConfig struct {
	// Listen is the webhook's address (host:port).
	Listen string `mapstructure:"listen"`
	// WebhookToken (or the file WebhookTokenFile) is the bearer token
	// Alertmanager must send.
	WebhookToken     string `mapstructure:"webhook_token"`
	WebhookTokenFile string `mapstructure:"webhook_token_file"`
	// Insecure allows listening beyond loopback without a webhook token.
	Insecure bool `mapstructure:"insecure"`
	// Workers bounds concurrent investigations.
	Workers int `mapstructure:"workers"`
	// MaxBodyBytes bounds a webhook body.
	MaxBodyBytes int64 `mapstructure:"max_body_bytes"`
	// ShutdownGrace is how long running investigations may finish on
	// shutdown before they are requeued.
	ShutdownGrace time.Duration `mapstructure:"shutdown_grace"`
	// Lease is how long a worker's claim on a case lasts without renewal:
	// the cases of a killed process are resumed one lease after its last
	// renewal (running cases renew every lease/3).
	Lease time.Duration `mapstructure:"lease"`
}

// Validate reports the first wrong server.* setting.
func (c ServerConfig) Validate() error {
	switch {
	case c.Listen == "":
		return errors.New("server.listen is required")
	case c.Workers <= 0:
		return fmt.Errorf("server.workers must be positive, got %d", c.Workers)
	case c.MaxBodyBytes < 1024:
		return fmt.Errorf("server.max_body_bytes must be at least 1024, got %d", c.MaxBodyBytes)
	case c.Lease < time.Second:
		return fmt.Errorf("server.lease must be at least 1s, got %s", c.Lease)
	case c.ShutdownGrace <= 0:
		return fmt.Errorf("server.shutdown_grace must be positive, got %s", c.ShutdownGrace)
	case c.WebhookToken != "" && c.WebhookTokenFile != "":
		return errors.New("server.webhook_token and server.webhook_token_file are both set; set one")
	}
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		return fmt.Errorf("server.listen %q: %w", c.Listen, err)
	}
	return nil
}

// Token returns the webhook token and checks that an address beyond
// loopback is not left open without one.
func (c ServerConfig) Token() (string, error) {
	tok := c.WebhookToken
	if c.WebhookTokenFile != "" {
		b, err := os.ReadFile(c.WebhookTokenFile)
		if err != nil {
			return "", fmt.Errorf("server.webhook_token_file: %w", err)
		}
		tok = strings.TrimSpace(string(b))
	}
	if tok == "" && !c.Insecure && !Loopback(c.Listen) {
		return "", fmt.Errorf("server.listen %s is reachable beyond this machine but server.webhook_token is empty: "+
			"set a token (and the same bearer credentials in Alertmanager's webhook_config), or server.insecure=true", c.Listen)
	}
	return tok, nil
}

// Loopback reports whether addr (host:port) is reachable from this machine only.
func Loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
