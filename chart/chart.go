package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"regexp"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/k8flex/k8flex/investigate"
)

// Options size the images. Zero values take the defaults.
type Options struct {
	// Width and Height in pixels (defaults 900 × 420).
	Width, Height int
}

// Renderer draws plots as PNG images. It is safe for concurrent use.
type Renderer struct {
	w, h vg.Length
}

var _ investigate.ChartRenderer = (*Renderer)(nil)

// dpi is the resolution images are drawn at (vgimg's default).
const dpi = 96

// New returns a renderer of o's size.
func New(o Options) *Renderer {
	if o.Width <= 0 {
		o.Width = 900
	}
	if o.Height <= 0 {
		o.Height = 420
	}
	px := func(n int) vg.Length { return vg.Length(n) * vg.Inch / dpi }
	return &Renderer{w: px(o.Width), h: px(o.Height)}
}

var (
	seriesColors = []color.Color{
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff}, // blue
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff}, // green
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff}, // purple
		color.RGBA{R: 0x8c, G: 0x56, B: 0x4b, A: 0xff}, // brown
	}
	limitColor = color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff} // red
	firedColor = color.RGBA{R: 0xff, G: 0x7f, B: 0x0e, A: 0xff} // orange
	gridColor  = color.Gray{Y: 0xe0}
	dashes     = []vg.Length{vg.Points(6), vg.Points(3)}
)

// ErrNoPoints is returned for a plot without a single finite point.
var ErrNoPoints = errors.New("chart: the plot has no points")

// RenderChart draws p. It fails with ErrNoPoints when no series has a
// point to draw, and when ctx is done before it starts.
func (r *Renderer) RenderChart(ctx context.Context, p investigate.Plot) (investigate.Chart, error) {
	if err := ctx.Err(); err != nil {
		return investigate.Chart{}, fmt.Errorf("draw chart %s: %w", p.Name, err)
	}
	pl := newPlot(p)
	b, err := addSeries(pl, p)
	if err != nil {
		return investigate.Chart{}, fmt.Errorf("draw chart %s: %w", p.Name, err)
	}
	if err := addMarkers(pl, p, &b); err != nil {
		return investigate.Chart{}, fmt.Errorf("draw chart %s: %w", p.Name, err)
	}
	pl.X.Min, pl.X.Max = b.x0, b.x1
	pl.Y.Min, pl.Y.Max = b.y0, b.y1

	img, err := r.encodePNG(pl)
	if err != nil {
		return investigate.Chart{}, fmt.Errorf("draw chart %s: %w", p.Name, err)
	}
	name := fileName(p.Name)
	return investigate.Chart{Name: name, Filename: name + ".png", Title: altText(p), PNG: img}, nil
}

// newPlot returns an empty plot styled for p: its title, time and unit
// axes, the legend at the top left, the fonts and the grid.
func newPlot(p investigate.Plot) *plot.Plot {
	pl := plot.New()
	pl.Title.Text = p.Title
	pl.Title.TextStyle.Font.Size = vg.Points(13)
	pl.X.Tick.Marker = timeTicks{}
	pl.X.Label.Text = "UTC"
	pl.Y.Tick.Marker = unitTicks(p.Unit)
	pl.Legend.Top, pl.Legend.Left = true, true
	pl.Legend.ThumbnailWidth = vg.Points(24)
	pl.Legend.TextStyle.Font.Size = vg.Points(10)
	for _, f := range []*font.Font{&pl.Title.TextStyle.Font, &pl.X.Label.TextStyle.Font, &pl.Y.Label.TextStyle.Font,
		&pl.X.Tick.Label.Font, &pl.Y.Tick.Label.Font, &pl.Legend.TextStyle.Font} {
		f.Typeface, f.Variant = "Liberation", "Sans"
	}
	grid := plotter.NewGrid()
	grid.Vertical.Color, grid.Horizontal.Color = gridColor, gridColor
	pl.Add(grid)
	return pl
}

// bounds are the ranges a plot's axes show: x in Unix seconds, y in the
// plot's unit.
type bounds struct {
	x0, x1, y0, y1 float64
}

// addSeries draws p's series into pl (finite points only; a limit dashed
// red, the others in turn in seriesColors) and returns the range of their
// points. It fails with ErrNoPoints when no series has a finite point.
func addSeries(pl *plot.Plot, p investigate.Plot) (bounds, error) {
	b := bounds{x0: math.Inf(1), x1: math.Inf(-1), y0: math.Inf(1), y1: math.Inf(-1)}
	nc := 0
	for _, s := range p.Series {
		xys := make(plotter.XYs, 0, len(s.Points))
		for _, pt := range s.Points {
			if math.IsNaN(pt.V) || math.IsInf(pt.V, 0) {
				continue
			}
			x := unix(pt.T)
			xys = append(xys, plotter.XY{X: x, Y: pt.V})
			b.y0, b.y1 = math.Min(b.y0, pt.V), math.Max(b.y1, pt.V)
			b.x0, b.x1 = math.Min(b.x0, x), math.Max(b.x1, x)
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return bounds{}, fmt.Errorf("series %q: %w", s.Label, err)
		}
		l.Width = vg.Points(2)
		if s.Limit {
			l.Color, l.Dashes = limitColor, dashes
		} else {
			l.Color = seriesColors[nc%len(seriesColors)]
			nc++
		}
		pl.Add(l)
		pl.Legend.Add(s.Label, l)
	}
	if math.IsInf(b.y0, 0) {
		return bounds{}, ErrNoPoints
	}
	return b, nil
}

// addMarkers widens b, the range of the series, to what the axes show —
// p's window, its horizontal lines, y from 0 and 30% headroom above for
// the legend, the time the alert fired — and draws the horizontal lines
// and the fired marker across it.
func addMarkers(pl *plot.Plot, p investigate.Plot, b *bounds) error {
	if !p.Start.IsZero() && !p.End.IsZero() && p.End.After(p.Start) {
		b.x0, b.x1 = math.Min(b.x0, unix(p.Start)), math.Max(b.x1, unix(p.End))
	}
	for _, ln := range p.Lines {
		b.y0, b.y1 = math.Min(b.y0, ln.Value), math.Max(b.y1, ln.Value)
	}
	b.y0 = math.Min(b.y0, 0) // values are sizes and shares: show them from 0
	if b.y1 <= b.y0 {
		b.y1 = b.y0 + 1
	}
	b.y1 += (b.y1 - b.y0) * 0.3 // room for the legend above the highest line
	for _, ln := range p.Lines {
		if err := addLine(pl, plotter.XYs{{X: b.x0, Y: ln.Value}, {X: b.x1, Y: ln.Value}}, limitColor, ln.Label); err != nil {
			return err
		}
	}
	if !p.Fired.IsZero() {
		f := unix(p.Fired)
		b.x0, b.x1 = math.Min(b.x0, f), math.Max(b.x1, f)
		label := "alert fired " + p.Fired.UTC().Format("15:04")
		if err := addLine(pl, plotter.XYs{{X: f, Y: b.y0}, {X: f, Y: b.y1}}, firedColor, label); err != nil {
			return err
		}
	}
	return nil
}

// encodePNG draws pl at the renderer's size and returns it as a PNG.
func (r *Renderer) encodePNG(pl *plot.Plot) ([]byte, error) {
	c := vgimg.NewWith(vgimg.UseWH(r.w, r.h), vgimg.UseDPI(dpi))
	pl.Draw(draw.New(c))
	var buf bytes.Buffer
	// BestSpeed: encoding is most of a chart's cost; the default level
	// costs about a third more CPU for a file 6% smaller (BENCHMARKS.md §6).
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, c.Image()); err != nil {
		return nil, fmt.Errorf("encode png: %w", err)
	}
	return buf.Bytes(), nil
}

func addLine(pl *plot.Plot, xys plotter.XYs, c color.Color, label string) error {
	l, err := plotter.NewLine(xys)
	if err != nil {
		return fmt.Errorf("line %q: %w", label, err)
	}
	l.Color, l.Dashes, l.Width = c, dashes, vg.Points(1.5)
	pl.Add(l)
	if label != "" {
		pl.Legend.Add(label, l)
	}
	return nil
}

func unix(t time.Time) float64 { return float64(t.UnixNano()) / 1e9 }

// altText describes the chart in one line: its title and what is marked.
func altText(p investigate.Plot) string {
	s := strings.ReplaceAll(p.Title, "\n", ", ")
	if !p.Fired.IsZero() {
		s += "; the alert fired at " + p.Fired.UTC().Format("15:04") + " UTC"
	}
	return s
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// fileName makes name safe as a file name ("chart" when nothing is left).
func fileName(name string) string {
	name = strings.Trim(unsafeName.ReplaceAllString(name, "-"), "-.")
	if len(name) > 80 {
		name = name[:80]
	}
	if name == "" {
		return "chart"
	}
	return name
}

// unitTicks marks the y axis in the plot's unit: bytes at round
// multiples of the binary unit of the range (0.5Gi, 1Gi …), others at
// gonum's default positions.
func unitTicks(unit string) plot.Ticker { return unitTicker{unit: unit} }

type unitTicker struct{ unit string }

func (t unitTicker) Ticks(min, max float64) []plot.Tick {
	scale := 1.0
	if t.unit == "bytes" {
		for scale < 1<<50 && math.Max(math.Abs(min), math.Abs(max)) >= scale*1024 {
			scale *= 1024
		}
	}
	lo, hi := min/scale, max/scale
	step := niceStep((hi - lo) / 5)
	var ticks []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		ticks = append(ticks, plot.Tick{Value: v * scale, Label: FormatValue(v*scale, t.unit)})
		if minor := v + step/2; minor < hi {
			ticks = append(ticks, plot.Tick{Value: minor * scale})
		}
	}
	return ticks
}

// niceStep returns the smallest of 1, 2, 2.5 and 5 times a power of ten
// that is at least x.
func niceStep(x float64) float64 {
	if x <= 0 || math.IsNaN(x) || math.IsInf(x, 0) {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(x)))
	for _, m := range []float64{1, 2, 2.5, 5, 10} {
		if m*p >= x {
			return m * p
		}
	}
	return 10 * p
}

// timeTicks marks the time axis at round minutes (every 1, 2, 5, 10, 15,
// 30 or 60 minutes, or whole hours beyond), labelled HH:MM UTC.
type timeTicks struct{}

func (timeTicks) Ticks(min, max float64) []plot.Tick {
	span := max - min
	step := 3600.0
	for _, m := range []float64{1, 2, 5, 10, 15, 30, 60} {
		if span/(m*60) <= 7 {
			step = m * 60
			break
		}
	}
	for span/step > 7 {
		step *= 2
	}
	var ticks []plot.Tick
	for v := math.Ceil(min/step) * step; v <= max; v += step {
		ticks = append(ticks, plot.Tick{Value: v, Label: time.Unix(int64(v), 0).UTC().Format("15:04")})
		if minor := v + step/2; minor < max {
			ticks = append(ticks, plot.Tick{Value: minor})
		}
	}
	return ticks
}

// FormatValue renders v in unit: "ratio" as a percentage, "cores" in
// millicores, "bytes" in binary units, "persec" as a rate; anything else
// in %g.
func FormatValue(v float64, unit string) string {
	switch unit {
	case "ratio":
		return trimZero(fmt.Sprintf("%.1f", v*100)) + "%"
	case "cores":
		return fmt.Sprintf("%.0fm", v*1000)
	case "bytes":
		units := []string{"B", "Ki", "Mi", "Gi", "Ti", "Pi"}
		i := 0
		for math.Abs(v) >= 1024 && i < len(units)-1 {
			v /= 1024
			i++
		}
		return trimZero(fmt.Sprintf("%.1f", v)) + units[i]
	case "persec":
		return fmt.Sprintf("%.3g/s", v)
	}
	return fmt.Sprintf("%.4g", v)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }
