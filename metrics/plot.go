package metrics

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/k8flex/k8flex/investigate"
)

// MaxPlots bounds the plots of one investigation: the series of its first
// findings, one chart each.
const MaxPlots = 2

// plotter collects the plots of the findings diagnose draws, in the
// findings' order, up to MaxPlots.
type plotter struct {
	w     Window
	plots []investigate.Plot
}

func (p *plotter) add(pl investigate.Plot) {
	if len(p.plots) >= MaxPlots {
		return
	}
	pl.Fired, pl.Start, pl.End = p.w.Fired, p.w.Start, p.w.End
	pl.Name = fileSafe(pl.Name)
	p.plots = append(p.plots, pl)
}

// plotSeries turns a summary into a plot series.
func plotSeries(label string, s summary, limit bool) investigate.PlotSeries {
	pts := make([]investigate.PlotPoint, len(s.points))
	for i, sp := range s.points {
		pts[i] = investigate.PlotPoint{T: sp.Timestamp.Time(), V: float64(sp.Value)}
	}
	return investigate.PlotSeries{Label: label, Limit: limit, Points: pts}
}

// throttled: the throttled share of one container's CFS periods, against
// the share the rule calls throttling.
func (p *plotter) throttled(s summary) {
	pod, ctr := string(s.labels["pod"]), string(s.labels["container"])
	p.add(investigate.Plot{Name: "cpu-throttled-" + pod, Unit: roleThrottled.unit(),
		Title:  fmt.Sprintf("CPU throttled share of container %s\npod %s", ctr, pod),
		Series: []investigate.PlotSeries{plotSeries("throttled periods / periods", s, false)},
		Lines:  []investigate.PlotLine{{Label: fmt.Sprintf("throttling threshold %s", pct(throttledShare)), Value: throttledShare}}})
}

// memory: one container's working set against its memory limit.
func (p *plotter) memory(s, limit summary) {
	pod, ctr := string(s.labels["pod"]), string(s.labels["container"])
	p.add(investigate.Plot{Name: "memory-" + pod, Unit: roleMemory.unit(),
		Title: fmt.Sprintf("Memory working set of container %s\npod %s", ctr, pod),
		Series: []investigate.PlotSeries{plotSeries("working set", s, false),
			plotSeries("memory limit", limit, true)}})
}

// volume: a PVC's used share against its capacity.
func (p *plotter) volume(ns string, s summary) {
	pvc := string(s.labels["persistentvolumeclaim"])
	p.add(investigate.Plot{Name: "pvc-" + pvc, Unit: rolePVCRatio.unit(),
		Title:  fmt.Sprintf("Volume use of PersistentVolumeClaim %s/%s", ns, pvc),
		Series: []investigate.PlotSeries{plotSeries("used / capacity", s, false)},
		Lines:  []investigate.PlotLine{{Label: "capacity", Value: 1}}})
}

// nodeFS: a node's root filesystem use against its size.
func (p *plotter) nodeFS(node string, s summary) {
	p.add(investigate.Plot{Name: "node-fs-" + node, Unit: roleNodeFSRatio.unit(),
		Title:  fmt.Sprintf("Root filesystem use of node %s", node),
		Series: []investigate.PlotSeries{plotSeries("used / size", s, false)},
		Lines:  []investigate.PlotLine{{Label: "size", Value: 1}}})
}

// dns: CoreDNS answers per second by rcode.
func (p *plotter) dns(series []summary) {
	pl := investigate.Plot{Name: "coredns-rcodes", Unit: roleDNSRcode.unit(), Title: "CoreDNS answers per second by rcode"}
	for i, s := range series {
		if i == 4 {
			break
		}
		pl.Series = append(pl.Series, plotSeries(string(s.labels["rcode"]), s, false))
	}
	p.add(pl)
}

var unsafeName = regexp.MustCompile(`[^a-zA-Z0-9._-]+`)

// fileSafe makes a plot name usable as a file name.
func fileSafe(s string) string {
	s = strings.Trim(unsafeName.ReplaceAllString(s, "-"), "-.")
	if len(s) > 80 {
		s = s[:80]
	}
	if s == "" {
		return "chart"
	}
	return s
}
