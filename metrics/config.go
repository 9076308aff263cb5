package metrics

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"time"
)

// Config configures the Prometheus the investigations ask. Without URL no
// Prometheus is asked.
type Config struct {
	// URL is the Prometheus HTTP API base, e.g. http://prometheus:9090.
	URL string `mapstructure:"url"`
	// BearerToken (or BearerTokenFile) is sent as "Authorization: Bearer".
	BearerToken     string `mapstructure:"bearer_token"`
	BearerTokenFile string `mapstructure:"bearer_token_file"`
	// Username with Password (or PasswordFile) is sent as basic auth.
	Username     string `mapstructure:"username"`
	Password     string `mapstructure:"password"`
	PasswordFile string `mapstructure:"password_file"`
	// CAFile is a PEM bundle trusted for an https URL (beside the system's).
	CAFile string `mapstructure:"ca_file"`
	// Timeout bounds every query of one investigation together.
	Timeout time.Duration `mapstructure:"timeout"`
	// Lookback is how far before the alert's start the window opens; it
	// closes Lookback/4 after the start (or now, if earlier).
	Lookback time.Duration `mapstructure:"lookback"`
	// NodeLabel is the label of node-exporter series that holds the node
	// name (optionally with a :port).
	NodeLabel string `mapstructure:"node_label"`
	// Metrics are the metric names queried.
	Metrics MetricNames `mapstructure:"metrics"`
}

// MetricNames are the metric names the category queries use; the
// defaults are those of kube-prometheus-stack (cAdvisor, kube-state-metrics,
// kubelet, node-exporter, CoreDNS).
type MetricNames struct {
	CPUThrottledPeriods string `mapstructure:"cpu_throttled_periods"`
	CPUPeriods          string `mapstructure:"cpu_periods"`
	CPUUsage            string `mapstructure:"cpu_usage"`
	MemoryWorkingSet    string `mapstructure:"memory_working_set"`
	ResourceLimits      string `mapstructure:"resource_limits"`
	Restarts            string `mapstructure:"restarts"`
	VolumeUsed          string `mapstructure:"volume_used"`
	VolumeCapacity      string `mapstructure:"volume_capacity"`
	NodeFilesystemAvail string `mapstructure:"node_filesystem_avail"`
	NodeFilesystemSize  string `mapstructure:"node_filesystem_size"`
	CoreDNSResponses    string `mapstructure:"coredns_responses"`
}

// DefaultConfig returns the defaults: no URL, a 2 s budget, a one-hour
// look-back, kube-prometheus-stack's metric names.
func DefaultConfig() Config {
	return Config{Timeout: 2 * time.Second, Lookback: time.Hour, NodeLabel: "instance", Metrics: DefaultMetricNames()}
}

// DefaultMetricNames returns kube-prometheus-stack's metric names.
func DefaultMetricNames() MetricNames {
	return MetricNames{
		CPUThrottledPeriods: "container_cpu_cfs_throttled_periods_total",
		CPUPeriods:          "container_cpu_cfs_periods_total",
		CPUUsage:            "container_cpu_usage_seconds_total",
		MemoryWorkingSet:    "container_memory_working_set_bytes",
		ResourceLimits:      "kube_pod_container_resource_limits",
		Restarts:            "kube_pod_container_status_restarts_total",
		VolumeUsed:          "kubelet_volume_stats_used_bytes",
		VolumeCapacity:      "kubelet_volume_stats_capacity_bytes",
		NodeFilesystemAvail: "node_filesystem_avail_bytes",
		NodeFilesystemSize:  "node_filesystem_size_bytes",
		CoreDNSResponses:    "coredns_dns_responses_total",
	}
}

// Enabled reports whether a Prometheus URL is configured.
func (c Config) Enabled() bool { return c.URL != "" }

var reMetricName = regexp.MustCompile(`^[a-zA-Z_:][a-zA-Z0-9_:]*$`)

// Validate reports the first wrong setting, naming its key.
func (c Config) Validate() error {
	if c.URL != "" {
		u, err := url.Parse(c.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("prometheus.url %q is not an http(s) URL", c.URL)
		}
	}
	switch {
	case c.BearerToken != "" && c.BearerTokenFile != "":
		return errors.New("prometheus.bearer_token and prometheus.bearer_token_file are both set; set one")
	case c.Password != "" && c.PasswordFile != "":
		return errors.New("prometheus.password and prometheus.password_file are both set; set one")
	case (c.Password != "" || c.PasswordFile != "") && c.Username == "":
		return errors.New("prometheus.username is required with a password")
	case c.Username != "" && (c.BearerToken != "" || c.BearerTokenFile != ""):
		return errors.New("prometheus.username and a bearer token are both set; use one kind of authentication")
	case c.Timeout <= 0:
		return fmt.Errorf("prometheus.timeout must be positive, got %s", c.Timeout)
	case c.Lookback < 5*time.Minute:
		return fmt.Errorf("prometheus.lookback must be at least 5m, got %s", c.Lookback)
	case !reMetricName.MatchString(c.NodeLabel) || c.NodeLabel == "__name__":
		return fmt.Errorf("prometheus.node_label %q is not a label name", c.NodeLabel)
	}
	for key, v := range map[string]string{
		"cpu_throttled_periods": c.Metrics.CPUThrottledPeriods, "cpu_periods": c.Metrics.CPUPeriods,
		"cpu_usage": c.Metrics.CPUUsage, "memory_working_set": c.Metrics.MemoryWorkingSet,
		"resource_limits": c.Metrics.ResourceLimits, "restarts": c.Metrics.Restarts,
		"volume_used": c.Metrics.VolumeUsed, "volume_capacity": c.Metrics.VolumeCapacity,
		"node_filesystem_avail": c.Metrics.NodeFilesystemAvail, "node_filesystem_size": c.Metrics.NodeFilesystemSize,
		"coredns_responses": c.Metrics.CoreDNSResponses,
	} {
		if !reMetricName.MatchString(v) {
			return fmt.Errorf("prometheus.metrics.%s %q is not a metric name", key, v)
		}
	}
	return nil
}
