package metrics

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/prometheus/common/model"

	"github.com/k8flex/k8flex/investigate"
)

// Rendering bounds: the whole section stays within a few hundred tokens.
const (
	maxSeriesShown = 3
	maxExprChars   = 160
)

// SectionName names the metrics evidence section.
const SectionName = "metrics/prometheus"

// render writes the section: one line per series with its min, max (and
// when), last, value when the alert fired and trend.
func render(results []result, w Window) investigate.Section {
	var b strings.Builder
	for _, r := range results {
		if r.err != nil {
			continue
		}
		name := string(r.Role)
		if r.Role == roleAlert {
			fmt.Fprintf(&b, "alert expr `%s`\n", clip(oneLine(r.Expr), maxExprChars))
			name = " "
		}
		if len(r.series) == 0 {
			if r.Role == roleAlert {
				b.WriteString("  no series in the window\n")
			} else {
				fmt.Fprintf(&b, "%s: no series in the window\n", name)
			}
			continue
		}
		for i, s := range r.series {
			if i == maxSeriesShown {
				fmt.Fprintf(&b, "%s … %d more series\n", name, len(r.series)-i)
				break
			}
			fmt.Fprintf(&b, "%s %s: %s\n", name, shortLabels(s.labels), describe(s, r.Role.unit(), w))
		}
	}
	title := fmt.Sprintf("Prometheus series %s–%s UTC, step %s", w.Start.UTC().Format("2006-01-02 15:04"), w.End.UTC().Format("15:04"), w.Step)
	if !w.Fired.IsZero() {
		title += ", alert fired " + w.Fired.UTC().Format("15:04")
	}
	return investigate.Section{Name: SectionName, Title: title, Priority: 1, Body: b.String()}
}

func describe(s summary, unit string, w Window) string {
	f := func(x float64) string { return formatValue(x, unit) }
	span := ""
	if s.firstAt.Sub(w.Start) > 2*w.Step || w.End.Sub(s.lastAt) > 2*w.Step {
		span = fmt.Sprintf(" (series present %s–%s)", clock(s.firstAt), clock(s.lastAt))
	}
	if s.trend() == "constant" {
		return f(s.last) + span
	}
	out := fmt.Sprintf("min %s, max %s at %s, last %s", f(s.min), f(s.max), s.maxAt.UTC().Format("15:04"), f(s.last))
	if s.hasFired && !w.Fired.IsZero() {
		out += ", at firing " + f(s.fired)
	}
	return out + ", " + s.trend() + span
}

// noisyLabels are left out of rendered label sets: they name the scrape,
// not the object.
var noisyLabels = map[string]bool{"__name__": true, "namespace": true, "job": true, "endpoint": true, "service": true,
	"prometheus": true, "uid": true, "metrics_path": true, "id": true, "image": true, "resource": true, "unit": true}

func shortLabels(m model.Metric) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		if !noisyLabels[string(k)] {
			keys = append(keys, string(k))
		}
	}
	sort.Strings(keys)
	if len(keys) > 3 {
		keys = keys[:3]
	}
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + clip(string(m[model.LabelName(k)]), 48)
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// formatValue renders x in its unit: ratios as percentages, cores in
// millicores, bytes in binary units, rates per second.
func formatValue(x float64, unit string) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return fmt.Sprint(x)
	}
	switch unit {
	case "ratio":
		if math.Abs(x) < 0.01 && x != 0 {
			return fmt.Sprintf("%.1f%%", x*100)
		}
		return fmt.Sprintf("%.0f%%", x*100)
	case "cores":
		return fmt.Sprintf("%.0fm", x*1000)
	case "bytes":
		return formatBytes(x)
	case "persec":
		return fmt.Sprintf("%.3g/s", x)
	}
	return fmt.Sprintf("%.4g", x)
}

func formatBytes(x float64) string {
	units := []string{"B", "Ki", "Mi", "Gi", "Ti", "Pi"}
	i := 0
	for math.Abs(x) >= 1024 && i < len(units)-1 {
		x /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0fB", x)
	}
	return strings.TrimSuffix(fmt.Sprintf("%.1f", x), ".0") + units[i]
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
