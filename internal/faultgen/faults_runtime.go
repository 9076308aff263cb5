package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// goMaxProcsThrottling: a Go service with a CPU limit of one or two CPUs
// and GOMAXPROCS unset runs as many threads as the node has cores, so the
// CFS quota throttles it; the alert carries the throttled share. Variant 0
// logs its GOMAXPROCS at start-up; variant 1 only shows it runs Go (its
// version), and the node's capacity says how many cores the runtime sees.
func goMaxProcsThrottling(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.cpuLim = pick(w.r, []string{"1", "2"})
	s.cpuReq = s.cpuLim
	a := w.buildApp(s)
	p := a.pods[0]
	node := w.nodeNamed(p.Spec.NodeName)
	cores := int64(0)
	if node != nil {
		q := node.Status.Capacity["cpu"]
		cores = q.Value()
	}
	procs := cores
	if v.n == 0 {
		procs = pick(w.r, []int64{32, 48, 64, 96})
	}
	if procs < 8 {
		procs = 8 * cores
		if node != nil {
			q := node.Status.Capacity["cpu"]
			q.Set(procs)
			node.Status.Capacity["cpu"] = q
		}
	}
	goVer := pick(w.r, []string{"go1.21.13", "go1.22.7", "go1.23.4"})
	t := w.now.Add(-3 * time.Hour)
	start := fmt.Sprintf(`{"time":"%s","level":"INFO","msg":"starting","version":"%s","go_version":"%s","GOMAXPROCS":%d}`, ts(t), s.version, goVer, procs)
	if v.n == 1 {
		start = fmt.Sprintf(`{"time":"%s","level":"INFO","msg":"starting","version":"%s","runtime":"%s"}`, ts(t), s.version, goVer)
	}
	lines := []string{start}
	t = w.now.Add(-10 * time.Minute)
	for i := 0; i < 5; i++ {
		t = t.Add(90 * time.Second)
		lines = append(lines, fmt.Sprintf(`{"time":"%s","level":"WARN","msg":"slow request","path":"/api/v1/quote","latency_ms":%d,"budget_ms":150}`, ts(t), 400+w.r.Intn(900)))
	}
	w.log(s.ns, p.Name, s.name, false, lines...)
	ratio := 0.55 + w.r.Float64()*0.4
	return result{ns: s.ns, alerts: []alertDef{w.cpuThrottling(p, s.name, ratio)},
		expect: expect(investigate.CPUThrottling, cats{investigate.PodRestart},
			fmt.Sprintf("Container %s of %s/%s runs Go with GOMAXPROCS unset: %d threads against a CPU limit of %s, so the CFS quota throttles it (%.0f%% of periods).", s.name, s.ns, p.Name, procs, s.cpuLim, ratio*100),
			g("gomaxprocs"), g("throttl", "cfs", "cpu limit", "quota"), g(fmt.Sprint(procs)))}
}

// nodeNamed returns the world's node of that name, or nil.
func (w *world) nodeNamed(name string) *corev1.Node {
	for _, n := range w.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}
