package investigate_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// fakeCharts is a recording ChartRenderer.
type fakeCharts struct {
	mu    sync.Mutex
	plots []investigate.Plot
	err   error
}

var _ investigate.ChartRenderer = (*fakeCharts)(nil)

func (c *fakeCharts) RenderChart(_ context.Context, p investigate.Plot) (investigate.Chart, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.plots = append(c.plots, p)
	if c.err != nil {
		return investigate.Chart{}, c.err
	}
	return investigate.Chart{Name: p.Name, Filename: p.Name + ".png", Title: p.Title, PNG: []byte("png of " + p.Name)}, nil
}

func TestEngineDrawsTheMetricsPlotsRedacted(t *testing.T) {
	t0 := time.Date(2026, 11, 1, 9, 30, 0, 0, time.UTC)
	plot := investigate.Plot{Name: "memory-web-0", Unit: "bytes", Title: "Memory of web-0 password=hunter2",
		Series: []investigate.PlotSeries{{Label: "working set token=s3cr3t", Points: []investigate.PlotPoint{{T: t0, V: 1}}}},
		Lines:  []investigate.PlotLine{{Label: "limit api_key=abc123", Value: 2}}}
	src := &fakeMetrics{fn: func(context.Context, investigate.MetricsQuery) (investigate.Metrics, error) {
		return investigate.Metrics{Plots: []investigate.Plot{plot, plot}}, nil
	}}
	for _, tt := range []struct {
		name       string
		err        error
		wantCharts int
	}{
		{"drawn", nil, 2},
		{"a renderer failure leaves the chart out", errors.New("no font"), 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			charts := &fakeCharts{err: tt.err}
			eng, err := investigate.New(investigate.Options{
				Gatherer: &fakeGatherer{fn: func(context.Context, investigate.Target, investigate.Category) (investigate.Snapshot, error) {
					return &fakeSnapshot{}, nil
				}},
				Analyzer: &fakeAnalyzer{}, Metrics: src, Charts: charts,
			})
			if err != nil {
				t.Fatal(err)
			}
			res, err := eng.Run(context.Background(), throttlingRequest(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Charts) != tt.wantCharts {
				t.Fatalf("%d charts, want %d", len(res.Charts), tt.wantCharts)
			}
			if len(charts.plots) != 2 {
				t.Fatalf("renderer asked for %d plots, want 2", len(charts.plots))
			}
			for _, p := range charts.plots {
				all := p.Title + p.Series[0].Label + p.Lines[0].Label
				for _, secret := range []string{"hunter2", "s3cr3t", "abc123"} {
					if strings.Contains(all, secret) {
						t.Errorf("secret %s reached the renderer: %q", secret, all)
					}
				}
			}
			if tt.wantCharts > 0 && res.Duration(investigate.StageChart) <= 0 {
				t.Errorf("no chart timing: %v", res.Timings)
			}
		})
	}
}
