package bot

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"time"
)

// Config configures the Slack bot. The mapstructure tags are the keys under
// "slack." in K8flex's configuration.
type Config struct {
	// BotToken is the bot user OAuth token (xoxb-…), slack.bot_token.
	BotToken string `mapstructure:"bot_token"`
	// AppToken is the app-level token with connections:write (xapp-…),
	// slack.app_token.
	AppToken string `mapstructure:"app_token"`
	// Channel is the channel id alerts are reported to, slack.channel.
	Channel string `mapstructure:"channel"`

	// UpdateInterval is the minimum time between two updates of one
	// message (default 3s), slack.update_interval.
	UpdateInterval time.Duration `mapstructure:"update_interval"`
	// UpdatesPerWindow caps chat.update calls across all investigations
	// in any UpdateWindow (default 50 per minute, under Slack's Tier 3),
	// slack.updates_per_window and slack.update_window.
	UpdatesPerWindow int           `mapstructure:"updates_per_window"`
	UpdateWindow     time.Duration `mapstructure:"update_window"`
	// PostInterval is the average time between two chat.postMessage
	// calls in one channel (default 1s, Slack's limit), with up to
	// PostBurst (default 3) posted at once, slack.post_interval and
	// slack.post_burst.
	PostInterval time.Duration `mapstructure:"post_interval"`
	PostBurst    int           `mapstructure:"post_burst"`
	// NativeStreaming streams slash-command analyses with
	// chat.startStream/appendStream/stopStream (default true when unset
	// through DefaultConfig), slack.native_streaming.
	NativeStreaming bool `mapstructure:"native_streaming"`
	// StreamInterval is the minimum time between two appends to one
	// stream (default 1s), slack.stream_interval.
	StreamInterval time.Duration `mapstructure:"stream_interval"`
	// MaxMessageChars is how many characters of analysis one message
	// holds before the analysis continues in a new message (default
	// 11000), slack.max_message_chars.
	MaxMessageChars int `mapstructure:"max_message_chars"`

	// Workers and QueueSize size the pool that handles Slack events
	// (defaults 4 and 64), slack.workers and slack.queue_size.
	Workers   int `mapstructure:"workers"`
	QueueSize int `mapstructure:"queue_size"`
	// PingInterval is how long the Socket Mode link may stay without a
	// ping from Slack before it is reconnected (default 30s),
	// slack.ping_interval.
	PingInterval time.Duration `mapstructure:"ping_interval"`
	// HomePageSize is how many cases the App Home lists per page (default
	// 10, at most 20), slack.home_page_size.
	HomePageSize int `mapstructure:"home_page_size"`

	// Access control for /k8flex investigate. Empty lists allow everyone.
	// AllowedChannels are channel ids (slack.allowed_channels);
	// AllowedUsers are user ids and AllowedUserGroups user group ids
	// (slack.allowed_users, slack.allowed_user_groups): a user in either
	// is allowed. Namespaces are path.Match patterns
	// (slack.allowed_namespaces, slack.denied_namespaces); a denied
	// pattern wins.
	AllowedChannels   []string `mapstructure:"allowed_channels"`
	AllowedUsers      []string `mapstructure:"allowed_users"`
	AllowedUserGroups []string `mapstructure:"allowed_user_groups"`
	AllowedNamespaces []string `mapstructure:"allowed_namespaces"`
	DeniedNamespaces  []string `mapstructure:"denied_namespaces"`
	// AllowClusterTargets allows cluster-scoped targets (nodes), whose
	// investigations read across namespaces, while the namespace patterns
	// restrict namespaces; without it they are allowed only when every
	// namespace is (slack.allow_cluster_targets, see policy.go).
	AllowClusterTargets bool `mapstructure:"allow_cluster_targets"`
	// UserGroupCacheTTL is how long user group members are cached
	// (default 5m), slack.user_group_cache_ttl.
	UserGroupCacheTTL time.Duration `mapstructure:"user_group_cache_ttl"`

	// APIURL overrides Slack's Web API base URL (tests, proxies); it must
	// end with "/", slack.api_url.
	APIURL string `mapstructure:"api_url"`
}

// DefaultConfig returns the configuration defaults (no tokens).
func DefaultConfig() Config {
	return Config{
		UpdateInterval:    3 * time.Second,
		UpdatesPerWindow:  50,
		UpdateWindow:      time.Minute,
		PostInterval:      time.Second,
		PostBurst:         3,
		NativeStreaming:   true,
		StreamInterval:    time.Second,
		MaxMessageChars:   11000,
		Workers:           4,
		QueueSize:         64,
		PingInterval:      30 * time.Second,
		HomePageSize:      10,
		UserGroupCacheTTL: 5 * time.Minute,
	}
}

// Enabled reports whether Slack tokens are configured. Without them the
// bot does not run and ConsoleReporter is used instead.
func (c Config) Enabled() bool { return c.BotToken != "" || c.AppToken != "" }

// withDefaults fills zero values with DefaultConfig's.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.UpdateInterval == 0 {
		c.UpdateInterval = d.UpdateInterval
	}
	if c.UpdatesPerWindow == 0 {
		c.UpdatesPerWindow = d.UpdatesPerWindow
	}
	if c.UpdateWindow == 0 {
		c.UpdateWindow = d.UpdateWindow
	}
	if c.PostInterval == 0 {
		c.PostInterval = d.PostInterval
	}
	if c.PostBurst == 0 {
		c.PostBurst = d.PostBurst
	}
	if c.StreamInterval == 0 {
		c.StreamInterval = d.StreamInterval
	}
	if c.MaxMessageChars == 0 {
		c.MaxMessageChars = d.MaxMessageChars
	}
	if c.Workers == 0 {
		c.Workers = d.Workers
	}
	if c.QueueSize == 0 {
		c.QueueSize = d.QueueSize
	}
	if c.PingInterval == 0 {
		c.PingInterval = d.PingInterval
	}
	if c.HomePageSize == 0 {
		c.HomePageSize = d.HomePageSize
	}
	if c.UserGroupCacheTTL == 0 {
		c.UserGroupCacheTTL = d.UserGroupCacheTTL
	}
	return c
}

// Validate checks the configuration; every message names its key. A
// configuration without any token is valid (console mode).
func (c Config) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	if c.Enabled() {
		switch {
		case c.BotToken == "":
			add("slack.bot_token is required when slack.app_token is set")
		case !strings.HasPrefix(c.BotToken, "xoxb-"):
			add("slack.bot_token must be a bot token (xoxb-…)")
		}
		switch {
		case c.AppToken == "":
			add("slack.app_token is required when slack.bot_token is set (Socket Mode needs an app-level token)")
		case !strings.HasPrefix(c.AppToken, "xapp-"):
			add("slack.app_token must be an app-level token (xapp-…)")
		}
		if c.Channel == "" {
			add("slack.channel is required: the channel id alerts are reported to")
		} else if strings.HasPrefix(c.Channel, "#") {
			add("slack.channel must be a channel id (C…), not a name like %q", c.Channel)
		}
	}
	if c.UpdateInterval < 0 {
		add("slack.update_interval must not be negative")
	}
	if c.UpdatesPerWindow < 0 {
		add("slack.updates_per_window must not be negative")
	}
	if c.UpdateWindow < 0 {
		add("slack.update_window must not be negative")
	}
	if c.PostInterval < 0 || c.PostBurst < 0 {
		add("slack.post_interval and slack.post_burst must not be negative")
	}
	if c.StreamInterval < 0 {
		add("slack.stream_interval must not be negative")
	}
	if c.MaxMessageChars != 0 && (c.MaxMessageChars < 500 || c.MaxMessageChars > 12000) {
		add("slack.max_message_chars must be between 500 and 12000")
	}
	if c.Workers < 0 || c.QueueSize < 0 {
		add("slack.workers and slack.queue_size must not be negative")
	}
	if c.HomePageSize < 0 || c.HomePageSize > 20 {
		add("slack.home_page_size must be between 1 and 20")
	}
	if c.APIURL != "" && !strings.HasSuffix(c.APIURL, "/") {
		add("slack.api_url must end with /")
	}
	for _, p := range append(append([]string(nil), c.AllowedNamespaces...), c.DeniedNamespaces...) {
		if _, err := path.Match(p, ""); err != nil {
			add("slack.allowed_namespaces/slack.denied_namespaces: bad pattern %q: %w", p, err)
		}
	}
	return errors.Join(errs...)
}
