package metrics_test

import (
	"context"
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/metrics"
)

// The plots are the series behind the findings: the throttling incident's
// throttled share, over the window, against the threshold, with the
// alert's start marked.
func TestMetricsPlotTheSeriesBehindTheFindings(t *testing.T) {
	om, q := throttlingIncident(t)
	f, err := metrics.ParseOpenMetrics(om)
	if err != nil {
		t.Fatal(err)
	}
	src := metrics.NewSource(f, metrics.DefaultConfig(), nil)
	m, err := src.Metrics(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) == 0 || len(m.Plots) == 0 {
		t.Fatalf("findings %d, plots %d: want both", len(m.Findings), len(m.Plots))
	}
	if len(m.Plots) > metrics.MaxPlots {
		t.Errorf("%d plots, at most %d", len(m.Plots), metrics.MaxPlots)
	}
	p := m.Plots[0]
	w := src.Window(q)
	if !p.Fired.Equal(q.Alert.StartsAt) || !p.Start.Equal(w.Start) || !p.End.Equal(w.End) {
		t.Errorf("fired %v start %v end %v, want %v %v %v", p.Fired, p.Start, p.End, q.Alert.StartsAt, w.Start, w.End)
	}
	if p.Unit != "ratio" || len(p.Lines) != 1 || p.Lines[0].Value != 0.25 {
		t.Errorf("unit %q lines %+v: want a ratio against the 25%% threshold", p.Unit, p.Lines)
	}
	if len(p.Series) != 1 || len(p.Series[0].Points) < 10 {
		t.Fatalf("series %+v: want the throttled share over the window", p.Series)
	}
	peak := 0.0
	for _, pt := range p.Series[0].Points {
		peak = max(peak, pt.V)
		if pt.T.Before(w.Start) || pt.T.After(w.End) {
			t.Fatalf("point at %v outside the window", pt.T)
		}
	}
	if peak < 0.25 {
		t.Errorf("peak %.2f: the plotted series is not the one the finding is about", peak)
	}
	pod := strings.TrimPrefix(m.Findings[0].Objects[0], "pod/"+q.Target.Namespace+"/")
	if !strings.Contains(p.Title, pod) || strings.ContainsAny(p.Name, " /{}\"") {
		t.Errorf("title %q should name pod %s; name %q should be file-safe", p.Title, pod, p.Name)
	}
}

// A manual investigation without findings from the series plots nothing.
func TestMetricsNoFindingNoPlot(t *testing.T) {
	om, q := throttlingIncident(t)
	f, err := metrics.ParseOpenMetrics(om)
	if err != nil {
		t.Fatal(err)
	}
	q.Category = investigate.NetworkPolicy
	m, err := metrics.NewSource(f, metrics.DefaultConfig(), nil).Metrics(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Findings) != 0 || len(m.Plots) != 0 {
		t.Errorf("findings %d, plots %d: want none for a category without series", len(m.Findings), len(m.Plots))
	}
}
