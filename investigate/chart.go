package investigate

import (
	"context"
	"time"

	"github.com/k8flex/k8flex/redact"
)

// Plot is a chart to draw from the series a MetricsSource already read:
// the series that carry one of its findings, the limit they run into,
// and the moment the alert fired. It holds data only; a ChartRenderer
// draws it.
type Plot struct {
	// Name is a short file-safe name ("memory-recommender").
	Name string
	// Title is the chart's heading; Unit the values' unit ("bytes",
	// "ratio", "cores", "persec" or "").
	Title string
	Unit  string
	// Series are the curves, in order; a Limit series is drawn as a
	// dashed line (a container's memory limit over time).
	Series []PlotSeries
	// Lines are horizontal reference lines (a threshold, a capacity).
	Lines []PlotLine
	// Fired is when the alert started (zero: not marked).
	Fired time.Time
	// Start and End bound the time axis (zero: the points' range).
	Start, End time.Time
}

// PlotSeries is one curve of a Plot.
type PlotSeries struct {
	Label  string
	Limit  bool
	Points []PlotPoint
}

// PlotPoint is one sample.
type PlotPoint struct {
	T time.Time
	V float64
}

// PlotLine is a horizontal reference line.
type PlotLine struct {
	Label string
	Value float64
}

// Chart is a Plot drawn as an image, ready to be shown in a thread or
// written to a file.
type Chart struct {
	// Name is the Plot's name; Filename adds the image's extension.
	Name     string
	Filename string
	// Title is a one-line description (also the image's alt text).
	Title string
	// PNG is the encoded image.
	PNG []byte
}

// ChartRenderer draws a Plot as a PNG image. The engine calls it with
// plots whose every label is already redacted.
type ChartRenderer interface {
	RenderChart(ctx context.Context, p Plot) (Chart, error)
}

// redactPlot returns p with its title and labels redacted.
func redactPlot(p Plot) Plot {
	p.Title = redact.String(p.Title)
	p.Name = redact.String(p.Name)
	series := make([]PlotSeries, len(p.Series))
	for i, s := range p.Series {
		s.Label = redact.String(s.Label)
		series[i] = s
	}
	p.Series = series
	lines := make([]PlotLine, len(p.Lines))
	for i, l := range p.Lines {
		l.Label = redact.String(l.Label)
		lines[i] = l
	}
	p.Lines = lines
	return p
}
