package metrics_test

import (
	"context"
	"testing"

	"github.com/k8flex/k8flex/internal/prometheustest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/metrics"
)

// BenchmarkMetricsRealPrometheus is what one investigation spends asking a
// real Prometheus on loopback (the throttling incident: the alert's
// expression and three category queries, four at a time). The engine runs
// it beside gather, so this bounds the latency it adds (target < 300 ms).
// It reports the tokens the section and findings add to the prompt
// (target < 600).
func BenchmarkMetricsRealPrometheus(b *testing.B) {
	om, q := throttlingIncident(b)
	prom := prometheustest.Start(b, om)
	src := source(b, config(prom.URL))
	benchSource(b, src, q)
}

// BenchmarkMetricsFile is the same on the recorded file (eval, demo).
func BenchmarkMetricsFile(b *testing.B) {
	om, q := throttlingIncident(b)
	f, err := metrics.ParseOpenMetrics(om)
	if err != nil {
		b.Fatal(err)
	}
	benchSource(b, metrics.NewSource(f, metrics.DefaultConfig(), nil), q)
}

func benchSource(b *testing.B, src *metrics.Source, q investigate.MetricsQuery) {
	var m investigate.Metrics
	for b.Loop() {
		var err error
		if m, err = src.Metrics(context.Background(), q); err != nil {
			b.Fatal(err)
		}
	}
	tokens := 0
	for _, s := range m.Sections {
		tokens += investigate.EstimateTokens(s.Title) + investigate.EstimateTokens(s.Body)
	}
	for _, f := range m.Findings {
		tokens += investigate.EstimateTokens(f.Summary)
		for _, p := range f.Proof {
			tokens += investigate.EstimateTokens(p)
		}
	}
	b.ReportMetric(float64(tokens), "prompt-tokens")
}
