package metrics

import (
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/common/model"

	"github.com/k8flex/k8flex/investigate"
)

// Thresholds of the rules.
const (
	// throttledShare: a container with at least this share of its CFS
	// periods throttled is CPU-throttled.
	throttledShare = 0.25
	// memoryNearLimit: a working set at this share of its limit is at it.
	memoryNearLimit = 0.9
	// fullShare: a volume or filesystem this full is filling up.
	fullShare = 0.85
	// servfailShare: this share of SERVFAIL answers is a DNS failure.
	servfailShare = 0.05
)

// Scores of metric findings: above the cluster's concrete causes when
// they are what the alert is about (they stand alone only when no
// finding of their category corroborates them), context otherwise.
const (
	scoreAboutAlert = 86
	scoreContext    = 45
)

// diagnose draws findings from the series, and the plots of the series
// behind them (up to MaxPlots). Each finding's Category is what it is
// evidence of: the engine merges it into the cluster's finding of that
// category, when there is one.
func diagnose(results []result, q investigate.MetricsQuery, w Window) ([]investigate.Finding, []investigate.Plot) {
	d := &diagnosis{q: q, w: w, ns: q.Target.Namespace, by: map[role]result{}, pl: &plotter{w: w}}
	for _, r := range results {
		if r.err == nil {
			d.by[r.Role] = r
		}
	}
	d.cpuThrottling()
	d.memoryAtLimit()
	d.volumesFilling()
	d.nodeFilesystemsFilling()
	d.dnsServfail()
	return d.out, d.pl.plots
}

// diagnosis is one diagnose call: the series that answered, by role, and
// the findings and plots drawn from them so far, in the order the rules
// ran.
type diagnosis struct {
	q  investigate.MetricsQuery
	w  Window
	ns string
	by map[role]result

	out []investigate.Finding
	pl  *plotter
}

// score is the score of a finding that is evidence of c: higher when c is
// what the alert is about.
func (d *diagnosis) score(c investigate.Category) int {
	if c == d.q.Category {
		return scoreAboutAlert
	}
	return scoreContext
}

// lines are the proof lines of the series ss of role r, one per series
// with points.
func (d *diagnosis) lines(r role, ss ...summary) []string {
	var out []string
	for _, s := range ss {
		if len(s.points) > 0 {
			out = append(out, fmt.Sprintf("prometheus %s %s: %s", r, shortLabels(s.labels), describe(s, r.unit(), d.w)))
		}
	}
	return out
}

// cpuThrottling finds the containers with at least throttledShare of
// their CFS periods throttled, with their CPU usage and limit.
func (d *diagnosis) cpuThrottling() {
	for _, s := range d.by[roleThrottled].series {
		if s.max < throttledShare {
			continue
		}
		pod, ctr := string(s.labels["pod"]), string(s.labels["container"])
		usage, limit := same(d.by[roleCPUUsage], s.labels), same(d.by[roleCPULimit], s.labels)
		sum := fmt.Sprintf("Prometheus shows container %s of pod %s with %s of its CFS periods throttled %s (peak %s at %s)",
			ctr, pod, pct(s.now()), whenText(s, d.w), pct(s.max), clock(s.maxAt))
		if limit.points != nil && limit.last > 0 {
			sum += fmt.Sprintf(", using %s of its %s CPU limit", formatValue(peakOr(usage), "cores"), formatValue(limit.last, "cores"))
		}
		d.out = append(d.out, investigate.Finding{
			Rule: "metrics-cpu-throttling", Severity: investigate.FindingWarning, Score: d.score(investigate.CPUThrottling),
			Category: investigate.CPUThrottling, Summary: sum + ".", Objects: []string{"pod/" + d.ns + "/" + pod},
			Proof:   append(append(d.lines(roleThrottled, s), d.lines(roleCPUUsage, usage)...), d.lines(roleCPULimit, limit)...),
			Actions: []string{fmt.Sprintf("Raise container %s's CPU limit above its peak usage (or remove it) and set its request from the usage curve.", ctr)},
			Impact:  fmt.Sprintf("Pod %s is slowed down while throttled: requests queue and probes may time out.", pod),
		})
		d.pl.throttled(s)
	}
}

// memoryAtLimit finds the containers whose working set came within
// memoryNearLimit of their memory limit, and how many of their restarts
// followed such a peak.
func (d *diagnosis) memoryAtLimit() {
	for _, s := range d.by[roleMemory].series {
		limit := same(d.by[roleMemoryLimit], s.labels)
		if limit.points == nil || limit.last <= 0 || s.max < memoryNearLimit*limit.last {
			continue
		}
		pod, ctr := string(s.labels["pod"]), string(s.labels["container"])
		restarts := same(d.by[roleRestarts], s.labels)
		n, before := restartsAfterPeaks(s, restarts, memoryNearLimit*limit.last)
		sum := fmt.Sprintf("Prometheus shows the memory working set of container %s (pod %s) reaching %s, %s of its %s limit, at %s",
			ctr, pod, formatBytes(s.max), pct(s.max/limit.last), formatBytes(limit.last), clock(s.maxAt))
		if n > 0 {
			sum += fmt.Sprintf(", and climbing to the limit before %d of its %d restarts in the window", before, n)
		}
		d.out = append(d.out, investigate.Finding{
			Rule: "metrics-memory-at-limit", Severity: investigate.FindingWarning, Score: d.score(investigate.OOMKilled),
			Category: investigate.OOMKilled, Summary: sum + ".", Objects: []string{"pod/" + d.ns + "/" + pod},
			Proof:   append(append(d.lines(roleMemory, s), d.lines(roleMemoryLimit, limit)...), d.lines(roleRestarts, restarts)...),
			Actions: []string{fmt.Sprintf("Size container %s's memory limit above its peak working set (%s), or bound the process' own memory below the limit.", ctr, formatBytes(s.max))},
		})
		d.pl.memory(s, limit)
	}
}

// volumesFilling finds the PersistentVolumeClaims at least fullShare
// full, and how much they grew in the window.
func (d *diagnosis) volumesFilling() {
	for _, s := range d.by[rolePVCRatio].series {
		if s.last < fullShare {
			continue
		}
		pvc := string(s.labels["persistentvolumeclaim"])
		used := same(d.by[rolePVCUsed], s.labels)
		sum := fmt.Sprintf("Prometheus shows PersistentVolumeClaim %s/%s %s full at %s, up from %s at %s", d.ns, pvc, pct(s.last), clock(s.lastAt), pct(s.first), clock(s.firstAt))
		if used.points != nil {
			sum += fmt.Sprintf(" (%s used, +%s)", formatBytes(used.last), formatBytes(used.last-used.first))
		}
		d.out = append(d.out, investigate.Finding{
			Rule: "metrics-volume-filling", Severity: investigate.FindingWarning, Score: d.score(investigate.DiskPressure),
			Category: investigate.DiskPressure, Summary: sum + ".", Objects: []string{"pvc/" + d.ns + "/" + pvc},
			Proof:   append(d.lines(rolePVCRatio, s), d.lines(rolePVCUsed, used)...),
			Actions: []string{fmt.Sprintf("Expand PVC %s/%s (if its StorageClass allows expansion) or delete what fills it.", d.ns, pvc)},
		})
		d.pl.volume(d.ns, s)
	}
}

// nodeFilesystemsFilling finds the nodes whose root filesystem reached
// fullShare, from where it started rising.
func (d *diagnosis) nodeFilesystemsFilling() {
	for _, s := range d.by[roleNodeFSRatio].series {
		if s.max < fullShare {
			continue
		}
		node := strings.Split(string(s.labels[model.LabelName(firstLabel(s.labels))]), ":")[0]
		avail := same(d.by[roleNodeFSAvail], s.labels)
		from, fromAt := riseStart(s)
		sum := fmt.Sprintf("Prometheus shows node %s's root filesystem going from %s used at %s to %s at %s", node, pct(from), clock(fromAt), pct(s.max), clock(s.maxAt))
		if avail.points != nil && avail.first > avail.min {
			sum += fmt.Sprintf(" (%s consumed in %s, %s left)", formatBytes(avail.first-avail.min), minutes(s.maxAt.Sub(fromAt)), formatBytes(avail.min))
		}
		d.out = append(d.out, investigate.Finding{
			Rule: "metrics-node-filesystem-filling", Severity: investigate.FindingWarning, Score: d.score(investigate.DiskPressure),
			Category: investigate.DiskPressure, Summary: sum + ".", Objects: []string{"node/" + node},
			Proof: append(d.lines(roleNodeFSRatio, s), d.lines(roleNodeFSAvail, avail)...),
		})
		d.pl.nodeFS(node, s)
	}
}

// dnsServfail finds CoreDNS answering at least servfailShare of its
// queries with SERVFAIL.
func (d *diagnosis) dnsServfail() {
	if r := d.by[roleDNSRcode]; len(r.series) > 0 {
		var total, fail, peak float64
		var fs summary
		for _, s := range r.series {
			total += s.now()
			if s.labels["rcode"] == "SERVFAIL" {
				fail, fs = s.now(), s
			}
		}
		if fs.points != nil {
			peak = fs.max
		}
		if total > 0 && fail/total >= servfailShare {
			d.out = append(d.out, investigate.Finding{
				Rule: "metrics-dns-servfail", Severity: investigate.FindingWarning, Score: d.score(investigate.DNSIssues),
				Category: investigate.DNSIssues,
				Summary: fmt.Sprintf("Prometheus shows %s of CoreDNS answers as SERVFAIL %s (%.3g/s, peak %.3g/s at %s).",
					pct(fail/total), whenText(fs, d.w), fail, peak, clock(fs.maxAt)),
				Proof: d.lines(roleDNSRcode, r.series...),
			})
			d.pl.dns(r.series)
		}
	}
}

// same returns the series of r whose pod, container, persistentvolumeclaim
// and node labels equal those of l.
func same(r result, l model.Metric) summary {
	for _, s := range r.series {
		ok := true
		for _, k := range []model.LabelName{"pod", "container", "persistentvolumeclaim"} {
			if l[k] != s.labels[k] {
				ok = false
				break
			}
		}
		if ok {
			return s
		}
	}
	return summary{}
}

// restartsAfterPeaks counts the restarts in the window, and those preceded
// (within the three previous steps) by a working set at or above near.
func restartsAfterPeaks(mem, restarts summary, near float64) (n, afterPeak int) {
	memAt := map[model.Time]float64{}
	var times []model.Time
	for _, p := range mem.points {
		memAt[p.Timestamp] = float64(p.Value)
		times = append(times, p.Timestamp)
	}
	for i := 1; i < len(restarts.points); i++ {
		d := int(restarts.points[i].Value - restarts.points[i-1].Value)
		if d <= 0 {
			continue
		}
		n += d
		t := restarts.points[i].Timestamp
		peak := false
		for j := len(times) - 1; j >= 0; j-- {
			if times[j] > t {
				continue
			}
			if t.Sub(times[j]) > 3*(restarts.points[i].Timestamp.Sub(restarts.points[i-1].Timestamp)) {
				break
			}
			if memAt[times[j]] >= near {
				peak = true
			}
		}
		if peak {
			afterPeak += d
		}
	}
	return n, afterPeak
}

// riseStart returns where the climb to the series' peak began: the last
// point before the peak within a twentieth of the span of the minimum.
func riseStart(s summary) (float64, time.Time) {
	v, at := s.first, s.firstAt
	near := s.min + (s.max-s.min)/20
	for _, p := range s.points {
		if p.Timestamp.Time().After(s.maxAt) {
			break
		}
		if float64(p.Value) <= near {
			v, at = float64(p.Value), p.Timestamp.Time()
		}
	}
	return v, at
}

func minutes(d time.Duration) string {
	if d < time.Hour {
		return fmt.Sprintf("%dm", int(d.Round(time.Minute).Minutes()))
	}
	return strings.TrimSuffix(d.Round(time.Minute).String(), "0s")
}

func peakOr(s summary) float64 {
	if s.points == nil {
		return 0
	}
	return s.now()
}

func firstLabel(m model.Metric) string {
	for k := range m {
		if k != "__name__" {
			return string(k)
		}
	}
	return ""
}

func whenText(s summary, w Window) string {
	if s.hasFired && !w.Fired.IsZero() {
		return "when the alert fired"
	}
	return "at " + clock(s.lastAt)
}

func pct(x float64) string { return formatValue(x, "ratio") }

func clock(t time.Time) string { return t.UTC().Format("15:04") }
