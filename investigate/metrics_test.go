package investigate_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// fakeMetrics is a recording MetricsSource.
type fakeMetrics struct {
	fn      func(ctx context.Context, q investigate.MetricsQuery) (investigate.Metrics, error)
	queries []investigate.MetricsQuery
}

var _ investigate.MetricsSource = (*fakeMetrics)(nil)

func (m *fakeMetrics) Metrics(ctx context.Context, q investigate.MetricsQuery) (investigate.Metrics, error) {
	m.queries = append(m.queries, q)
	return m.fn(ctx, q)
}

func throttlingRequest() *investigate.Request {
	return &investigate.Request{Alert: &investigate.Alert{Status: "firing",
		Labels:   map[string]string{"alertname": "CPUThrottlingHigh", "namespace": "shop", "pod": "web-0", "container": "app"},
		StartsAt: time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)}}
}

func metricsEngine(t *testing.T, snap *fakeSnapshot, m investigate.MetricsSource, timeout time.Duration) (*investigate.Engine, *fakeAnalyzer) {
	t.Helper()
	an := &fakeAnalyzer{}
	eng, err := investigate.New(investigate.Options{
		Gatherer: &fakeGatherer{fn: func(context.Context, investigate.Target, investigate.Category) (investigate.Snapshot, error) {
			return snap, nil
		}},
		Analyzer: an, Metrics: m, MetricsTimeout: timeout,
	})
	if err != nil {
		t.Fatal(err)
	}
	return eng, an
}

func TestEngineMergesMetrics(t *testing.T) {
	snap := &fakeSnapshot{
		findings: []investigate.Finding{
			{Rule: "cpu-throttling", Score: 85, Category: investigate.CPUThrottling, Summary: "Container app is CPU-throttled.", Proof: []string{"app resources.limits.cpu: 500m"}},
			{Rule: "warning-event", Score: 58, Summary: "Pod web-0 reports Unhealthy."},
		},
		evidence: investigate.Evidence{Sections: []investigate.Section{{Name: "pod/describe", Title: "Pod", Body: "x"}}},
	}
	src := &fakeMetrics{fn: func(context.Context, investigate.MetricsQuery) (investigate.Metrics, error) {
		return investigate.Metrics{
			Sections: []investigate.Section{{Name: "metrics/series", Title: "Prometheus", Body: "throttled 91% password=hunter2"}},
			Findings: []investigate.Finding{
				{Rule: "metrics-cpu-throttling", Score: 86, Category: investigate.CPUThrottling,
					Summary: "Prometheus: 87% of its CFS periods throttled.", Proof: []string{"throttled max 91%"}},
				{Rule: "metrics-restarts", Score: 40, Category: investigate.PodRestart, Summary: "Prometheus: 3 restarts."},
			},
		}, nil
	}}
	eng, an := metricsEngine(t, snap, src, 0)
	res, err := eng.Run(context.Background(), throttlingRequest(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.queries) != 1 || src.queries[0].Category != investigate.CPUThrottling || src.queries[0].Target.Pod != "web-0" || src.queries[0].Alert == nil {
		t.Fatalf("metrics queried with %+v", src.queries)
	}
	fs := an.input().Findings
	if len(fs) != 3 {
		t.Fatalf("%d findings, want the two of the cluster and one standalone metric finding: %+v", len(fs), fs)
	}
	top := fs[0]
	if top.Rule != "cpu-throttling" || !strings.Contains(top.Summary, "CPU-throttled; Prometheus: 87%") || top.Proof[0] != "throttled max 91%" {
		t.Errorf("the throttling finding was not corroborated by the series: %+v", top)
	}
	if fs[2].Rule != "metrics-restarts" {
		t.Errorf("a metric finding of another category should stand alone by its score: %+v", fs)
	}
	var body string
	for _, s := range res.Evidence.Sections {
		if s.Name == "metrics/series" {
			body = s.Body
		}
	}
	if body == "" || strings.Contains(body, "hunter2") {
		t.Errorf("metrics section missing or not redacted: %q", body)
	}
	if res.Duration(investigate.StageMetrics) <= 0 {
		t.Errorf("no metrics timing: %v", res.Timings)
	}
}

func TestEngineMetricsFailureIsAGap(t *testing.T) {
	for _, tt := range []struct {
		name string
		fn   func(ctx context.Context, q investigate.MetricsQuery) (investigate.Metrics, error)
		want string
	}{
		{"error", func(context.Context, investigate.MetricsQuery) (investigate.Metrics, error) {
			return investigate.Metrics{}, errors.New("dial tcp 127.0.0.1:9: connection refused")
		}, "connection refused"},
		{"timeout", func(ctx context.Context, _ investigate.MetricsQuery) (investigate.Metrics, error) {
			<-ctx.Done()
			return investigate.Metrics{}, ctx.Err()
		}, "metrics exceeded 50ms"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			snap := &fakeSnapshot{findings: []investigate.Finding{{Rule: "cpu-throttling", Score: 85, Summary: "throttled"}}}
			eng, an := metricsEngine(t, snap, &fakeMetrics{fn: tt.fn}, 50*time.Millisecond)
			res, err := eng.Run(context.Background(), throttlingRequest(), nil)
			if err != nil {
				t.Fatalf("a metrics failure failed the investigation: %v", err)
			}
			var gap string
			for _, g := range res.Evidence.Gaps {
				if g.Collector == "prometheus" {
					gap = g.Reason
				}
			}
			if !strings.HasPrefix(gap, "metrics unavailable: ") || !strings.Contains(gap, tt.want) {
				t.Errorf("gap %q, want metrics unavailable … %s", gap, tt.want)
			}
			if len(an.input().Findings) != 1 {
				t.Errorf("findings changed: %+v", an.input().Findings)
			}
		})
	}
}

func TestMergeMetricFindingsLeavesInputAlone(t *testing.T) {
	fs := []investigate.Finding{{Rule: "oom-killed", Score: 80, Category: investigate.OOMKilled, Summary: "OOMKilled.", Proof: []string{"exitCode=137"}}}
	m := []investigate.Finding{{Rule: "metrics-memory", Score: 86, Category: investigate.OOMKilled, Summary: "working set at 100% of the limit", Proof: []string{"ws max 2Gi"}}}
	out := investigate.MergeMetricFindings(fs, m)
	if fs[0].Summary != "OOMKilled." || len(fs[0].Proof) != 1 {
		t.Errorf("input modified: %+v", fs[0])
	}
	if len(out) != 1 || out[0].Summary != "OOMKilled; working set at 100% of the limit" || out[0].Score != 80 {
		t.Errorf("merged %+v", out)
	}
	if got := investigate.MergeMetricFindings(nil, m); len(got) != 1 || got[0].Rule != "metrics-memory" {
		t.Errorf("without cluster findings the metric finding stands alone: %+v", got)
	}
}
