package investigate

import (
	"sort"
	"strings"
)

// MetricsQuery is what a MetricsSource is asked about: the alert (nil for
// a manual investigation), whose own expression and start time frame the
// query window, the target and the category, which decide the series.
type MetricsQuery struct {
	Alert    *Alert
	Target   Target
	Category Category
}

// Metrics is what a MetricsSource found. Sections join the evidence,
// Gaps its gaps; Findings are the facts the series establish (a throttled
// share, a working set at its limit), which the engine merges into the
// diagnosis with MergeMetricFindings. Plots are the series behind the
// findings, for a ChartRenderer to draw (the engine redacts their labels
// first).
type Metrics struct {
	Sections []Section
	Findings []Finding
	Gaps     []Gap
	Plots    []Plot
}

// MergeMetricFindings merges the findings a MetricsSource drew from the
// series into the Kubernetes findings fs, which are sorted by Score:
//
//   - a metric finding whose Category is that of a finding in fs
//     corroborates the highest-ranked such finding: its summary is
//     appended to that finding's summary after "; ", its proof lines come
//     first, its objects and actions are added, and the finding keeps its
//     rank (the series state the mechanism the cluster's state implies);
//   - any other metric finding is inserted by its own Score.
//
// fs is not modified; the result is sorted by Score (ties keep order).
func MergeMetricFindings(fs, metric []Finding) []Finding {
	if len(metric) == 0 {
		return fs
	}
	out := make([]Finding, len(fs), len(fs)+len(metric))
	copy(out, fs)
	for _, m := range metric {
		i := -1
		for j := range out {
			if m.Category != "" && out[j].Category == m.Category && !strings.HasPrefix(out[j].Rule, "metrics-") {
				i = j
				break
			}
		}
		if i < 0 {
			out = append(out, m)
			continue
		}
		f := &out[i]
		f.Summary = strings.TrimSuffix(f.Summary, ".") + "; " + m.Summary
		f.Proof = append(append([]string(nil), m.Proof...), f.Proof...)
		f.Objects = appendMissing(append([]string(nil), f.Objects...), m.Objects...)
		f.Actions = appendMissing(append([]string(nil), f.Actions...), m.Actions...)
		if m.Detail != "" {
			f.Detail = strings.TrimSpace(f.Detail + " " + m.Detail)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Score > out[b].Score })
	return out
}

func appendMissing(dst []string, xs ...string) []string {
	for _, x := range xs {
		found := false
		for _, d := range dst {
			if d == x {
				found = true
				break
			}
		}
		if !found {
			dst = append(dst, x)
		}
	}
	return dst
}
