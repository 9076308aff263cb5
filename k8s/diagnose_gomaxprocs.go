package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

var (
	// reGoMaxProcs finds the GOMAXPROCS a Go program reports about itself
	// ("GOMAXPROCS":64, GOMAXPROCS=64, gomaxprocs: 64).
	reGoMaxProcs = regexp.MustCompile(`(?i)"?gomaxprocs"?\s*[:=]\s*"?(\d+)`)
	// reGoRuntime is evidence that the container runs Go: its log names
	// the Go runtime, or a goroutine dump, or the automaxprocs library.
	reGoRuntime = regexp.MustCompile(`(?i)go_?version"?\s*[:=]\s*"?go\d|\bgo1\.\d+|goroutine \d+ \[|gomaxprocs|maxprocs:`)
)

// goMaxProcsOverLimit explains CPU throttling of a Go program whose
// runtime sized itself to the node rather than to its CPU limit: Go sets
// GOMAXPROCS to the CPUs it sees (the node's, before Go 1.25 made it
// cgroup-aware), so N threads burn a quota of a few CPUs in a fraction of
// each CFS period and stall for the rest. It needs evidence that the
// container runs Go, no GOMAXPROCS in its env, and a GOMAXPROCS (logged,
// else the node's capacity) well above the limit; "" otherwise.
func (d *diag) goMaxProcsOverLimit(p *corev1.Pod, c *corev1.Container, lim resource.Quantity) (string, []string) {
	for _, e := range c.Env {
		if e.Name == "GOMAXPROCS" {
			return "", nil
		}
	}
	lines := d.logs(p.Namespace, p.Name, c.Name, false)
	isGo, procs, line := false, 0, ""
	for _, l := range lines {
		if reGoRuntime.MatchString(l) {
			isGo = true
		}
		if m := reGoMaxProcs.FindStringSubmatch(l); m != nil && procs == 0 {
			fmt.Sscan(m[1], &procs)
			line = l
		}
	}
	if !isGo {
		return "", nil
	}
	src := "its log reports GOMAXPROCS=%d"
	var proof []string
	if line != "" {
		proof = append(proof, p.Name+" log: "+clip(line, 250))
	}
	var cores int64
	if n := d.node(p.Spec.NodeName); n != nil {
		if q, ok := n.Status.Capacity[corev1.ResourceCPU]; ok {
			cores = q.Value()
			proof = append(proof, fmt.Sprintf("node %s capacity cpu: %d", n.Name, cores))
		}
	}
	if procs == 0 {
		if cores == 0 {
			return "", nil
		}
		procs, src = int(cores), "the node has %d cores"
	}
	limCPUs := float64(lim.MilliValue()) / 1000
	if float64(procs) < 2*limCPUs {
		return "", nil
	}
	s := fmt.Sprintf("the container runs Go with GOMAXPROCS unset: the Go runtime sizes itself to the node's CPUs, not the limit — "+src+" against a CPU limit of %s, so up to %d threads run in parallel and use up the %s CPUs of quota early in each 100ms CFS period, then the whole process is throttled for the rest of it",
		procs, fmtQty(corev1.ResourceCPU, lim), procs, fmtQty(corev1.ResourceCPU, lim))
	if cores > 0 && !strings.Contains(s, "node has") {
		s += fmt.Sprintf(" (node %s has %d cores)", p.Spec.NodeName, cores)
	}
	return s, proof
}
