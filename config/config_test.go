package config

import (
	"strings"
	"testing"
	"time"
)

func TestLoadConfigGood(t *testing.T) {
	c, err := Load("testdata/config.good.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Log.Level != "debug" || c.Kube.QPS != 20 || c.Kube.CollectorTimeout != 3*time.Second ||
		c.LLM.Provider != "openai" || c.LLM.Timeout != 45*time.Second || c.Embedder.Dimensions != 256 ||
		c.Engine.SimilarThreshold != 0.8 || c.KB.DataDir != "/var/lib/k8flex" {
		t.Fatalf("config not read from the file: %+v", c)
	}
	// Keys absent from the file keep their defaults.
	if c.Kube.Burst != Default().Kube.Burst || c.Engine.SimilarTopN != 5 {
		t.Fatalf("defaults lost: %+v", c)
	}
}

func TestLoadConfigErrorsNameTheKey(t *testing.T) {
	for _, tt := range []struct {
		name, file string
		env        map[string]string
		want       string
	}{
		{name: "missing model", file: "testdata/config.bad.yaml", want: "llm.model"},
		{name: "unknown key", file: "testdata/config.unknown.yaml", want: "modle"},
		{name: "missing file", file: "testdata/nope.yaml", want: "nope.yaml"},
		{name: "bad env duration", env: map[string]string{"K8FLEX_KUBE_COLLECTOR_TIMEOUT": "soon"}, want: "collector_timeout"},
		{name: "bad env level", env: map[string]string{"K8FLEX_LOG_LEVEL": "warning"}, want: "log.level"},
		{name: "bad provider", env: map[string]string{"K8FLEX_LLM_PROVIDER": "gpt"}, want: "llm.provider"},
		{name: "threshold out of range", env: map[string]string{"K8FLEX_ENGINE_SIMILAR_THRESHOLD": "1.5"}, want: "engine.similar_threshold"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			_, err := Load(tt.file, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to name %q", err, tt.want)
			}
		})
	}
}

func TestEnvOverridesFileAndFlagsOverrideEnv(t *testing.T) {
	t.Setenv("K8FLEX_KUBE_QPS", "33")
	t.Setenv("K8FLEX_LLM_MODEL", "from-env")
	c, err := Load("testdata/config.good.yaml", map[string]any{"llm.model": "from-flag"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Kube.QPS != 33 {
		t.Errorf("kube.qps = %g, want the env value 33", c.Kube.QPS)
	}
	if c.LLM.Model != "from-flag" {
		t.Errorf("llm.model = %q, want the flag value", c.LLM.Model)
	}
}

func TestEveryKeyHasAnEnvVar(t *testing.T) {
	keys := Keys()
	for _, k := range []string{"llm.provider", "llm.api_key_file", "kube.qps", "engine.prompt_max_tokens", "embedder.dimensions", "kb.database_url"} {
		if _, ok := keys[k]; !ok {
			t.Errorf("key %s is not registered, so K8FLEX_%s would be ignored", k, strings.ToUpper(strings.ReplaceAll(k, ".", "_")))
		}
	}
	t.Setenv("K8FLEX_KB_DATABASE_URL", "postgres://x@127.0.0.1/k8flex")
	c, err := Load("", nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.KB.DatabaseURL != "postgres://x@127.0.0.1/k8flex" {
		t.Fatalf("kb.database_url from env = %q", c.KB.DatabaseURL)
	}
}
