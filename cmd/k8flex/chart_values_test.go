package main

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/k8flex/k8flex/config"
)

// chartSecretSections are the sections of the chart's values.secret that
// hold configuration keys (the others are the Secret's own settings).
var chartSecretSections = []string{"server", "slack", "llm", "embedder", "kb", "prometheus"}

// chartKey is the configuration key a chart value stands for: the chart
// keeps two levels (section, key) and writes a deeper key with
// underscores (prometheus.metrics_cpu_usage for prometheus.metrics.cpu_usage),
// which gives the same K8FLEX_* variable.
func chartKey(section, key string, known map[string]any) string {
	k := section + "." + key
	if _, ok := known[k]; ok {
		return k
	}
	for c := range known {
		if strings.ReplaceAll(c, ".", "_") == section+"_"+key {
			return c
		}
	}
	return k
}

// TestChartValuesCoverEveryConfigKey: the Helm chart reaches every
// configuration key — each key of the README's configuration reference is
// in the chart's values.config or values.secret (same nesting, same name),
// exactly once, and the chart has no key K8flex does not know (viper would
// ignore its environment variable). Secret keys (tokens, API keys, the
// database URL) are only in values.secret.
func TestChartValuesCoverEveryConfigKey(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "charts", "k8flex", "values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var values struct {
		Config map[string]map[string]any `json:"config"`
		Secret map[string]any            `json:"secret"`
	}
	if err := yaml.Unmarshal(b, &values); err != nil {
		t.Fatalf("values.yaml: %v", err)
	}
	known := config.Keys()
	inChart := map[string]string{}
	for section, keys := range values.Config {
		for k := range keys {
			inChart[chartKey(section, k, known)] = "config"
		}
	}
	secretKeys := map[string]bool{}
	for _, section := range chartSecretSections {
		keys, ok := values.Secret[section].(map[string]any)
		if !ok {
			t.Fatalf("values.secret.%s is not a map", section)
		}
		for k := range keys {
			key := chartKey(section, k, known)
			if where, dup := inChart[key]; dup {
				t.Errorf("%s is in values.%s and values.secret", key, where)
			}
			inChart[key] = "secret"
			secretKeys[key] = true
		}
	}

	readme := configRows(readREADME(t))
	var names []string
	for k := range known {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, key := range names {
		if _, ok := readme[key]; !ok {
			t.Errorf("%s is not in the README's configuration reference", key)
		}
		if _, ok := inChart[key]; !ok {
			t.Errorf("the chart's values do not reach %s (add it to values.config, or values.secret if secret)", key)
		}
	}
	for key, where := range inChart {
		if _, ok := known[key]; !ok {
			t.Errorf("values.%s has %s, which is no configuration key", where, key)
		}
	}
	for _, key := range []string{"server.webhook_token", "slack.bot_token", "slack.app_token", "llm.api_key", "embedder.api_key", "kb.database_url",
		"prometheus.bearer_token", "prometheus.password"} {
		if !secretKeys[key] {
			t.Errorf("%s must come from a Secret (values.secret), not the ConfigMap", key)
		}
	}
}
