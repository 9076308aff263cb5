package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// reForkFailure matches a process or thread that cannot be created
// because the PID limit (the pod's pids cgroup, the node's pid_max) is
// reached, as shells, Go, the JVM and glibc report it.
var reForkFailure = regexp.MustCompile(`(?i)fork: (?:retry: )?(?:resource temporarily unavailable|no child processes)|fork/exec [^:]+: resource temporarily unavailable|can'?t fork|cannot fork|unable to create (?:new )?native thread|pthread_create failed|failed to create new os thread|clone\(\) failed|too many processes|resource temporarily unavailable.{0,30}(?:thread|fork|clone)`)

// forkFailures returns the pods (on node, or all when node is "") whose
// logs show fork/thread creation failures, with the first such line each,
// most failing lines first.
func (d *diag) forkFailures(node string) (pods []*corev1.Pod, lines []string) {
	type hit struct {
		p    *corev1.Pod
		line string
		n    int
	}
	var hits []hit
	for _, p := range d.pods {
		if node != "" && p.Spec.NodeName != node {
			continue
		}
		h := hit{p: p}
		for _, cs := range p.Status.ContainerStatuses {
			for _, prev := range []bool{true, false} {
				for _, l := range d.logs(p.Namespace, p.Name, cs.Name, prev) {
					if reForkFailure.MatchString(l) {
						h.n++
						if h.line == "" {
							h.line = cs.Name + " log: " + strings.TrimSpace(l)
						}
					}
				}
			}
		}
		if h.n > 0 {
			hits = append(hits, h)
		}
	}
	for i := 1; i < len(hits); i++ {
		for j := i; j > 0 && hits[j].n > hits[j-1].n; j-- {
			hits[j], hits[j-1] = hits[j-1], hits[j]
		}
	}
	for _, h := range hits {
		pods = append(pods, h.p)
		lines = append(lines, podKey(h.p)+" "+clip(h.line, 250))
	}
	return pods, lines
}

// explainPIDPressure completes a node's PIDPressure finding: the pods
// that fail to fork there, and that no per-pod PID limit contains them.
func (d *diag) explainPIDPressure(n *corev1.Node, f *investigate.Finding, proof, detail *[]string) {
	if h := d.pidHolder(n.Name); h != nil {
		f.Summary += fmt.Sprintf("; pod %s holds the node's PIDs: %s", podKey(h.p), h.why)
		f.Objects = appendUnique(f.Objects, podRef(h.p))
		*proof = appendUnique(*proof, h.proof...)
		*detail = append(*detail, "Under PIDPressure the kubelet evicts the pods that use the most process IDs first (after lower priority); a pod it evicts again and again, or cannot even stop because the runtime cannot fork, is the one that spawns processes without bound.")
		f.Actions = append(f.Actions, fmt.Sprintf("kubectl delete pod -n %s %s --grace-period=0 --force   # if the kubelet cannot stop it; then fix what it forks", h.p.Namespace, h.p.Name))
	}
	pods, lines := d.forkFailures(n.Name)
	if len(pods) > 0 {
		f.Summary += fmt.Sprintf("; processes cannot be created there: pod %s fails to fork (%s)", podKey(pods[0]), clip(strings.SplitN(lines[0], "log: ", 2)[1], 120))
		f.Objects = appendUnique(f.Objects, podRef(pods[0]))
		*proof = appendUnique(*proof, lines...)
	}
	*detail = append(*detail, "The node's process IDs are nearly used up: the pod that spawns processes or threads without bound takes them from every pod on the node, unless the kubelet's podPidsLimit caps each pod (nothing here shows such a limit).")
	f.Actions = append(f.Actions, fmt.Sprintf("On node %s: ps -eLf --no-headers | awk '{print $1}' | sort | uniq -c | sort -rn | head   # who holds the PIDs", n.Name),
		"Set the kubelet's podPidsLimit (KubeletConfiguration) so one pod cannot exhaust the node's PIDs; fix the process/thread leak of the pod above.")
}

// diagnosePIDExhaustion reports pods that cannot create processes or
// threads (fork failures) on a node without PIDPressure: the pod's own PID
// limit (podPidsLimit) is reached, or the application leaks processes.
func diagnosePIDExhaustion(d *diag) []investigate.Finding {
	var out []investigate.Finding
	pods, lines := d.forkFailures("")
	for i, p := range pods {
		if !d.target[podKey(p)] {
			continue
		}
		if n := d.node(p.Spec.NodeName); n != nil {
			if c := nodeCondition(n, corev1.NodePIDPressure); c != nil && c.Status == corev1.ConditionTrue {
				continue // the node's PIDPressure finding names it
			}
		}
		out = append(out, investigate.Finding{
			Rule: "pid-exhaustion", Severity: investigate.FindingCritical, Score: scoreCause, Category: investigate.PodCrash,
			Summary: fmt.Sprintf("Pod %s cannot create processes or threads (%s): it has reached its PID limit — the pids cgroup the kubelet's podPidsLimit sets per pod, or the node's pid_max — because it spawns processes or threads without bound", podKey(p), clip(strings.SplitN(lines[i], "log: ", 2)[1], 160)) + ".",
			Objects: []string{podRef(p)}, Proof: []string{lines[i]},
			Actions: []string{fmt.Sprintf("kubectl exec -n %s %s -- sh -c 'ls /proc | grep -c ^[0-9]; cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/pids.current 2>/dev/null'", p.Namespace, p.Name),
				"Fix the process/thread leak (reap children, bound worker pools); raise podPidsLimit only if the load legitimately needs more."},
			Impact:     fmt.Sprintf("%s fails the work that needs a new process or thread.", workloadOrPod(p)),
			Prevention: "Bound worker and thread pools; run an init process (tini, shareProcessNamespace) that reaps zombies; keep a kubelet podPidsLimit.",
		})
		break
	}
	return out
}

// pidHolder is the pod a node's kubelet evicts to reclaim process IDs.
type pidHolder struct {
	p     *corev1.Pod
	why   string
	proof []string
}

// pidHolder returns the pod on node that the kubelet's PID-pressure
// evictions point at: one it evicted for pids that still runs (it could not
// be stopped: FailedKillPod) or that it evicted most often. Pods evicted
// once and gone are the kubelet's collateral, not the holder; nil when no
// pod qualifies.
func (d *diag) pidHolder(node string) *pidHolder {
	var best *pidHolder
	bestScore := 0
	for _, p := range d.pods {
		if p.Spec.NodeName != node {
			continue
		}
		evicted, kills := int32(0), 0
		var proof []string
		for _, e := range d.podEvents(p) {
			switch {
			case e.Reason == "Evicted" && signalOf(parseEviction(e.Message).signal) == corev1.NodePIDPressure:
				evicted += max(e.Count, 1)
				proof = appendUnique(proof, podKey(p)+": "+evProof(e))
			case e.Reason == "FailedKillPod":
				kills += int(max(e.Count, 1))
				proof = appendUnique(proof, podKey(p)+": "+evProof(e))
			}
		}
		if evicted == 0 {
			continue
		}
		running := p.Status.Phase == corev1.PodRunning
		score := int(evicted)
		if running {
			score += 100
		}
		if kills > 0 {
			score += 1000
		}
		if !running && kills == 0 && evicted < 2 {
			continue
		}
		if score > bestScore {
			var why []string
			if evicted > 1 {
				why = append(why, fmt.Sprintf("the kubelet evicted it %d times to reclaim pids", evicted))
			} else {
				why = append(why, "the kubelet evicted it to reclaim pids")
			}
			if kills > 0 {
				why = append(why, fmt.Sprintf("it cannot be stopped (FailedKillPod ×%d: the runtime cannot fork to kill its processes)", kills))
			} else if running {
				why = append(why, "it still runs")
			}
			best, bestScore = &pidHolder{p: p, why: strings.Join(why, ", ") + "; it spawns processes without bound", proof: proof}, score
		}
	}
	return best
}
