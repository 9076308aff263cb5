package scenario_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/internal/prometheustest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
	"github.com/k8flex/k8flex/llm"
	"github.com/k8flex/k8flex/metrics"
	"github.com/k8flex/k8flex/scenario"
)

// throttlingDir is a recorded CPU-throttling incident without
// metrics.k8s.io (no PodMetrics): its usage exists only in metrics.om.
const throttlingDir = "testdata/cpu-throttling-prometheus"

// rootCause runs the engine with the built-in analyser and returns the
// result and its Root cause section.
func rootCause(t *testing.T, sc *scenario.Scenario, g investigate.Gatherer, ms investigate.MetricsSource) (*investigate.Result, string) {
	t.Helper()
	b := llm.NewBuiltin()
	eng, err := investigate.New(investigate.Options{Gatherer: g, Analyzer: b, Builtin: b, Metrics: ms})
	if err != nil {
		t.Fatal(err)
	}
	alerts := sc.Message.Alerts
	res, err := eng.Run(context.Background(), &investigate.Request{Alert: &alerts[0], Related: alerts[1:], Source: investigate.SourceCLI}, nil)
	if err != nil {
		t.Fatal(err)
	}
	score := scenario.Evaluate(sc.Expect, string(res.Categorization.Category), res.Analysis.Text)
	if !score.Passed() {
		t.Errorf("expect.yaml not met: %+v\n%s", score, res.Analysis.Text)
	}
	return res, investigate.SectionText(res.Analysis.Text, investigate.HeadingRootCause)
}

// TestThrottlingDiagnosedFromPrometheus: without metrics.k8s.io, the
// throttling root cause quotes the Prometheus series, from the recorded
// file, from a real Prometheus holding them, and with the cluster in a real
// API server; without metrics it rests on the alert's own figure alone.
func TestThrottlingDiagnosedFromPrometheus(t *testing.T) {
	sc, err := scenario.Load(throttlingDir)
	if err != nil {
		t.Fatal(err)
	}
	if sc.Metrics == nil {
		t.Fatal("metrics.om not loaded")
	}
	opts := k8s.Options{CollectorTimeout: 30 * time.Second}
	const fromMetrics = "Prometheus shows container image-resizer of pod image-resizer-6d4b8f7c59-8kzvt with "
	check := func(t *testing.T, res *investigate.Result, rc string) {
		t.Helper()
		if !strings.Contains(rc, fromMetrics) || !strings.Contains(rc, "of its 100m CPU limit") {
			t.Errorf("the root cause does not quote the series:\n%s", rc)
		}
		for _, g := range res.Evidence.Gaps {
			t.Errorf("gap %s: %s", g.Collector, g.Reason)
		}
		if !strings.Contains(res.Prompt.User, "cpu throttled {container=image-resizer") {
			t.Error("the prompt lacks the metrics section")
		}
	}

	_, without := rootCause(t, sc, sc.Gatherer(opts), nil)
	if strings.Contains(without, "Prometheus") {
		t.Errorf("without metrics the root cause mentions Prometheus:\n%s", without)
	}
	t.Run("file", func(t *testing.T) {
		res, rc := rootCause(t, sc, sc.Gatherer(opts), sc.MetricsSource(metrics.DefaultConfig()))
		check(t, res, rc)
	})

	om, err := os.ReadFile(filepath.Join(throttlingDir, scenario.MetricsFile))
	if err != nil {
		t.Fatal(err)
	}
	prom := prometheustest.Start(t, om)
	cfg := metrics.DefaultConfig()
	cfg.URL = prom.URL
	client, err := metrics.NewPrometheus(cfg)
	if err != nil {
		t.Fatal(err)
	}
	live := metrics.NewSource(client, cfg, time.Now)
	t.Run("real prometheus", func(t *testing.T) {
		res, rc := rootCause(t, sc, sc.Gatherer(opts), live)
		check(t, res, rc)
	})
	t.Run("real api server and prometheus", func(t *testing.T) {
		srv := apiservertest.Start(t)
		srv.ApplyKustomization(t, "../manifests/base")
		cluster, err := k8s.NewCluster(srv.ServiceAccountConfig(t, "k8flex", "k8flex"))
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		apiservertest.WaitAuthorized(t, func() error {
			return cluster.List(ctx, corev1.SchemeGroupVersion.WithResource("pods"), "", metav1.ListOptions{Limit: 1}, &corev1.PodList{})
		})
		loaded := srv.LoadScenario(t, throttlingDir)
		defer srv.Unload(t, loaded)
		res, rc := rootCause(t, sc, k8s.NewGatherer(cluster, k8s.Options{Metrics: cluster, CollectorTimeout: 30 * time.Second}), live)
		var gaps []investigate.Gap
		for _, g := range res.Evidence.Gaps {
			if g.Collector != "metrics" { // the API server has no metrics.k8s.io: that is a gap of the cluster's
				gaps = append(gaps, g)
			}
		}
		res.Evidence.Gaps = gaps
		check(t, res, rc)
	})
}
