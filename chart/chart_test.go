package chart_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"testing"
	"time"

	"github.com/k8flex/k8flex/chart"
	"github.com/k8flex/k8flex/investigate"
)

// memoryPlot is a working set climbing to a 2Gi limit three times, over
// an hour sampled every 15 s, with the alert firing at 10:02.
func memoryPlot() investigate.Plot {
	t0 := time.Date(2026, 11, 17, 9, 30, 0, 0, time.UTC)
	var ws, lim []investigate.PlotPoint
	for i := range 240 {
		t := t0.Add(time.Duration(i) * 15 * time.Second)
		v := float64(i%80) / 80 * 2.05 * (1 << 30)
		ws = append(ws, investigate.PlotPoint{T: t, V: v})
		lim = append(lim, investigate.PlotPoint{T: t, V: 2 << 30})
	}
	return investigate.Plot{Name: "memory-recommender-59f7c6d8b4-b7c4x", Unit: "bytes",
		Title: "Memory working set of container recommender\npod recommender-59f7c6d8b4-b7c4x",
		Series: []investigate.PlotSeries{{Label: "working set", Points: ws},
			{Label: "memory limit", Limit: true, Points: lim}},
		Fired: t0.Add(32 * time.Minute), Start: t0, End: t0.Add(time.Hour)}
}

func decode(t testing.TB, c investigate.Chart) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(c.PNG))
	if err != nil {
		t.Fatalf("chart %s is not a PNG: %v", c.Filename, err)
	}
	return img
}

// has reports whether img holds a pixel close to c.
func has(img image.Image, c color.RGBA) bool {
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			if near(r>>8, c.R) && near(g>>8, c.G) && near(bl>>8, c.B) {
				return true
			}
		}
	}
	return false
}

func near(a uint32, b uint8) bool { return math.Abs(float64(a)-float64(b)) <= 12 }

var (
	blue   = color.RGBA{R: 0x1f, G: 0x77, B: 0xb4}
	red    = color.RGBA{R: 0xd6, G: 0x27, B: 0x28}
	orange = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e}
)

func TestRenderChartDrawsSeriesLimitAndFiring(t *testing.T) {
	r := chart.New(chart.Options{Width: 640, Height: 320})
	for _, tt := range []struct {
		name        string
		plot        func() investigate.Plot
		wantRed     bool
		wantOrange  bool
		wantFile    string
		wantAltPart string
	}{
		{"limit series and firing marker", memoryPlot, true, true, "memory-recommender-59f7c6d8b4-b7c4x.png", "the alert fired at 10:02 UTC"},
		{"reference line without a firing time", func() investigate.Plot {
			p := memoryPlot()
			p.Series, p.Fired = p.Series[:1], time.Time{}
			p.Unit, p.Lines = "ratio", []investigate.PlotLine{{Label: "capacity", Value: 1}}
			for i := range p.Series[0].Points {
				p.Series[0].Points[i].V /= 2.2 * (1 << 30)
			}
			return p
		}, true, false, "memory-recommender-59f7c6d8b4-b7c4x.png", "Memory working set"},
		{"no limit, no marker", func() investigate.Plot {
			p := memoryPlot()
			p.Series, p.Fired, p.Name = p.Series[:1], time.Time{}, "a/b c"
			return p
		}, false, false, "a-b-c.png", "Memory"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := r.RenderChart(context.Background(), tt.plot())
			if err != nil {
				t.Fatal(err)
			}
			img := decode(t, c)
			if b := img.Bounds(); b.Dx() != 640 || b.Dy() != 320 {
				t.Errorf("size %v, want 640×320", b.Size())
			}
			if !has(img, blue) {
				t.Error("the series is not drawn (no blue pixel)")
			}
			if got := has(img, red); got != tt.wantRed {
				t.Errorf("limit drawn = %v, want %v", got, tt.wantRed)
			}
			if got := has(img, orange); got != tt.wantOrange {
				t.Errorf("firing marker drawn = %v, want %v", got, tt.wantOrange)
			}
			if c.Filename != tt.wantFile {
				t.Errorf("filename %q, want %q", c.Filename, tt.wantFile)
			}
			if !bytes.Contains([]byte(c.Title), []byte(tt.wantAltPart)) {
				t.Errorf("title %q lacks %q", c.Title, tt.wantAltPart)
			}
			if dir := os.Getenv("K8FLEX_CHART_DIR"); dir != "" {
				_ = os.WriteFile(dir+"/"+t.Name()[len("TestRenderChartDrawsSeriesLimitAndFiring/"):]+".png", c.PNG, 0o644)
			}
		})
	}
}

func TestRenderChartRefusesAPlotWithoutPoints(t *testing.T) {
	p := memoryPlot()
	for i := range p.Series {
		for j := range p.Series[i].Points {
			p.Series[i].Points[j].V = math.NaN()
		}
	}
	if _, err := chart.New(chart.Options{}).RenderChart(context.Background(), p); !errors.Is(err, chart.ErrNoPoints) {
		t.Fatalf("err = %v, want ErrNoPoints", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := chart.New(chart.Options{}).RenderChart(ctx, memoryPlot()); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestFormatValue(t *testing.T) {
	for _, tt := range []struct {
		v    float64
		unit string
		want string
	}{
		{2 << 30, "bytes", "2Gi"}, {1.5 * (1 << 20), "bytes", "1.5Mi"}, {512, "bytes", "512B"},
		{0.25, "ratio", "25%"}, {0.125, "ratio", "12.5%"}, {0.5, "cores", "500m"}, {3, "persec", "3/s"}, {1.5, "", "1.5"},
	} {
		if got := chart.FormatValue(tt.v, tt.unit); got != tt.want {
			t.Errorf("FormatValue(%v, %q) = %q, want %q", tt.v, tt.unit, got, tt.want)
		}
	}
}

// BenchmarkRenderChart is the cost of one chart of the default size: a
// working set and its limit over an hour at a 15 s step (480 points).
// It reports the PNG's size.
func BenchmarkRenderChart(b *testing.B) {
	r := chart.New(chart.Options{})
	p := memoryPlot()
	var c investigate.Chart
	b.ReportAllocs()
	for b.Loop() {
		var err error
		if c, err = r.RenderChart(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(c.PNG)), "png-bytes")
}
