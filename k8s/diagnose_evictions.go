package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/k8flex/k8flex/investigate"
)

// This file reads the kubelet eviction manager's messages. A pod is
// evicted either because its node runs low on a signal (memory,
// ephemeral-storage/nodefs/imagefs, pids; the node then has
// MemoryPressure/DiskPressure/PIDPressure) — the kubelet picks BestEffort
// pods and those using most above their request first — or because the
// pod exceeds its own local-storage limit (an emptyDir sizeLimit, a
// container's or the pod's ephemeral-storage limit), whatever the node.

var (
	reEvictRes       = regexp.MustCompile(`low on resource: ([a-z.-]+)`)
	reEvictThreshold = regexp.MustCompile(`Threshold quantity: ([^,]+), available: ([^.\s]+)`)
	reEvictUse       = regexp.MustCompile(`(Container|Pod) (\S+) was using (\S+), request is (\S+), has larger consumption of ([a-z-]+)`)
	reEvictEmptyDir  = regexp.MustCompile(`Usage of EmptyDir volume "([^"]+)" exceeds the limit "([^"]+)"`)
	reEvictCtrLimit  = regexp.MustCompile(`Container (\S+) exceeded its local ephemeral storage limit "([^"]+)"`)
	reEvictPodLimit  = regexp.MustCompile(`Pod ephemeral local storage usage exceeds the total limit of containers (\S+?)\.?(\s|$)`)
	reEvictCondition = regexp.MustCompile(`The node had condition: \[([^\]]+)\]`)
)

// eviction is one kubelet eviction message, parsed.
type eviction struct {
	// limit is set when the pod exceeded its own limit: "emptydir",
	// "container" or "pod"; signal when the node ran low.
	limit, signal        string
	volume, container    string
	limitQty             string
	threshold, available string
	uses                 []evictionUse
	message              string
}

type evictionUse struct{ who, using, request, res string }

func parseEviction(msg string) eviction {
	e := eviction{message: strings.TrimSpace(msg)}
	switch {
	case reEvictEmptyDir.MatchString(msg):
		m := reEvictEmptyDir.FindStringSubmatch(msg)
		e.limit, e.volume, e.limitQty = "emptydir", m[1], m[2]
	case reEvictCtrLimit.MatchString(msg):
		m := reEvictCtrLimit.FindStringSubmatch(msg)
		e.limit, e.container, e.limitQty = "container", m[1], m[2]
	case reEvictPodLimit.MatchString(msg):
		e.limit, e.limitQty = "pod", reEvictPodLimit.FindStringSubmatch(msg)[1]
	}
	if m := reEvictRes.FindStringSubmatch(msg); m != nil {
		e.signal = m[1]
	} else if m := reEvictCondition.FindStringSubmatch(msg); m != nil {
		e.signal = m[1]
	}
	if m := reEvictThreshold.FindStringSubmatch(msg); m != nil {
		e.threshold, e.available = strings.TrimSpace(m[1]), m[2]
	}
	for _, m := range reEvictUse.FindAllStringSubmatch(msg, -1) {
		e.uses = append(e.uses, evictionUse{who: strings.ToLower(m[1]) + " " + m[2], using: m[3], request: m[4], res: m[5]})
	}
	return e
}

// evictionMessage returns the kubelet's eviction message of a pod (its
// status, else its Evicted event) and the proof line.
func (d *diag) evictionMessage(p *corev1.Pod) (string, string) {
	msg, proof := "", ""
	if p.Status.Reason == "Evicted" {
		msg = p.Status.Message
		proof = fmt.Sprintf("%s: status.reason=Evicted: %s", podKey(p), p.Status.Message)
	}
	for _, e := range d.eventsWithReason(p, "Evicted") {
		if msg == "" || strings.TrimSpace(e.Message) != "" {
			msg = e.Message
		}
		proof = fmt.Sprintf("%s: %s", podKey(p), evProof(e))
	}
	return msg, proof
}

// qosClass returns the pod's QoS class as the kubelet reports it, or as
// computed from its requests and limits.
func qosClass(p *corev1.Pod) corev1.PodQOSClass {
	if p.Status.QOSClass != "" {
		return p.Status.QOSClass
	}
	any, guaranteed := false, true
	for _, c := range p.Spec.Containers {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			any = any || hasReq || hasLim
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func qosRank(q corev1.PodQOSClass) int {
	switch q {
	case corev1.PodQOSBestEffort:
		return 0
	case corev1.PodQOSBurstable:
		return 1
	}
	return 2
}

// evictedPod is an evicted pod with its parsed message.
type evictedPod struct {
	p     *corev1.Pod
	ev    eviction
	proof string
}

func (d *diag) evictedPods() []evictedPod {
	var out []evictedPod
	for _, p := range d.pods {
		msg, proof := d.evictionMessage(p)
		if msg == "" && p.Status.Reason != "Evicted" {
			continue
		}
		out = append(out, evictedPod{p: p, ev: parseEviction(msg), proof: proof})
	}
	sort.SliceStable(out, func(i, j int) bool { return qosRank(qosClass(out[i].p)) < qosRank(qosClass(out[j].p)) })
	return out
}

// describeEvicted renders who was evicted on a node for a signal: the
// workloads, their QoS class and what each used against its request,
// BestEffort first.
func describeEvicted(eps []evictedPod) string {
	type use struct {
		who, res, request string
		using             []string
	}
	type wl struct {
		name  string
		qos   corev1.PodQOSClass
		pods  []string
		uses  []*use
		noReq string
	}
	var order []string
	by := map[string]*wl{}
	for _, e := range eps {
		k := workloadOrPod(e.p)
		w := by[k]
		if w == nil {
			w = &wl{name: k, qos: qosClass(e.p)}
			by[k] = w
			order = append(order, k)
		}
		w.pods = append(w.pods, e.p.Name)
		for _, u := range e.ev.uses {
			var x *use
			for _, y := range w.uses {
				if y.who == u.who && y.res == u.res && y.request == u.request {
					x = y
				}
			}
			if x == nil {
				x = &use{who: u.who, res: u.res, request: u.request}
				w.uses = append(w.uses, x)
			}
			x.using = append(x.using, humanQty(u.using))
			if u.request == "0" {
				w.noReq = u.res
			}
		}
	}
	var parts []string
	for _, k := range order {
		w := by[k]
		s := fmt.Sprintf("%d %s of %s", len(w.pods), plural(len(w.pods), "pod", "pods"), w.name)
		if strings.HasPrefix(w.name, "pod/") {
			s = "pod " + strings.TrimPrefix(w.name, "pod/")
		}
		s += fmt.Sprintf(" (QoS %s", w.qos)
		switch {
		case w.qos == corev1.PodQOSBestEffort:
			s += ": no requests or limits"
		case w.noReq != "":
			s += ": no " + w.noReq + " request"
		}
		s += ")"
		var us []string
		for _, u := range w.uses {
			us = append(us, fmt.Sprintf("%s used %s of %s (request %s)", u.who, joinNames(u.using), u.res, humanQty(u.request)))
		}
		if len(us) > 0 {
			s += ": " + strings.Join(us, "; ")
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// diagnoseEvictions reports pods the kubelet evicted: for exceeding their
// own local-storage limit (a cause in itself), or under node pressure,
// grouped by node and signal (context for the node's pressure finding).
func diagnoseEvictions(d *diag) []investigate.Finding {
	var limits, pressure groups
	evs := map[string][]evictedPod{}
	for _, e := range d.evictedPods() {
		if e.ev.limit != "" {
			k := workloadOrPod(e.p) + "|" + e.ev.limit + "|" + e.ev.volume + e.ev.container + "|" + e.ev.limitQty
			limits.add(k, e.p, e.proof)
			evs[k] = append(evs[k], e)
			continue
		}
		res := e.ev.signal
		if res == "" {
			res = "resources"
		}
		k := e.p.Spec.NodeName + "|" + res
		pressure.add(k, e.p, e.proof)
		evs[k] = append(evs[k], e)
	}
	var out []investigate.Finding
	limits.each(func(x *group) {
		out = append(out, d.limitEviction(x, evs[x.key]))
	})
	pressure.each(func(x *group) {
		node, res, _ := strings.Cut(x.key, "|")
		eps := evs[x.key]
		sum := fmt.Sprintf("The kubelet on node %s evicted %s because the node was low on %s", node, describeEvicted(eps), res)
		if th := eps[0].ev.threshold; th != "" {
			sum += fmt.Sprintf(" (eviction threshold %s, available %s)", humanQty(th), humanQty(eps[0].ev.available))
		}
		sum += "."
		prevention := "Set requests and limits for " + res + " so the scheduler and the kubelet account for it."
		if res == "memory" {
			prevention = "Give every container a memory request close to its real usage (and a limit), so the scheduler does not overcommit the node and the container is OOM-killed at its own limit instead of starving the node."
		}
		out = append(out, investigate.Finding{
			Rule: "eviction", Severity: investigate.FindingWarning, Score: scoreContext + 10,
			Summary: sum,
			Objects: append([]string{"node/" + node}, x.refs()...), Proof: x.proof,
			Actions: []string{fmt.Sprintf("kubectl describe node %s", node),
				fmt.Sprintf("kubectl get pods -A --field-selector spec.nodeName=%s,status.phase=Failed", node)},
			Prevention: prevention,
			Impact:     "Evicted pods are recreated elsewhere if they have a controller; bare pods are gone.",
		})
	})
	return out
}

// limitEviction explains evictions for exceeding the pod's own
// local-storage limit.
func (d *diag) limitEviction(x *group, eps []evictedPod) investigate.Finding {
	p := x.pods[0]
	e := eps[0].ev
	wl := workloadOrPod(p)
	var what, act string
	switch e.limit {
	case "emptydir":
		mounted := ""
		for _, c := range p.Spec.Containers {
			for _, vm := range c.VolumeMounts {
				if vm.Name == e.volume {
					mounted = fmt.Sprintf(", mounted at %s in container %s", vm.MountPath, c.Name)
				}
			}
		}
		what = fmt.Sprintf("its emptyDir volume %q%s grew past its sizeLimit %s", e.volume, mounted, e.limitQty)
		act = fmt.Sprintf("Raise the emptyDir sizeLimit of volume %s in %s to what the work needs (and the ephemeral-storage request with it), or make the application write less there (stream/upload parts instead of spooling everything, clean up as it goes).", e.volume, wl)
	case "container":
		what = fmt.Sprintf("container %s wrote more to its writable layer, logs and emptyDirs than its ephemeral-storage limit %s", e.container, e.limitQty)
		act = fmt.Sprintf("Raise the ephemeral-storage limit of container %s in %s, or stop it writing locally (log to stdout, write to a volume).", e.container, wl)
	default:
		what = fmt.Sprintf("the pod's local storage exceeded the sum of its containers' ephemeral-storage limits %s", e.limitQty)
		act = fmt.Sprintf("Raise the ephemeral-storage limits of %s or make it write less locally.", wl)
	}
	sum := fmt.Sprintf("The kubelet evicted %d %s of %s (%s) because %s: %q", len(x.pods), plural(len(x.pods), "pod", "pods"), wl, x.names(), what, e.message)
	var nodes []string
	for _, q := range x.pods {
		nodes = appendUnique(nodes, q.Spec.NodeName)
	}
	detail := fmt.Sprintf("This is the pod's own limit, not node pressure: the kubelet evicts it on whichever node it runs (%s). Each eviction kills the pod's work and its replacement starts over.", joinNames(nodes))
	return investigate.Finding{
		Rule: "eviction-storage-limit", Severity: investigate.FindingCritical, Score: scoreCause,
		Summary: sum, Detail: detail, Objects: x.refs(), Proof: x.proof,
		Actions:    []string{act, fmt.Sprintf("kubectl get pods -n %s --field-selector status.phase=Failed   # the evicted pods", p.Namespace)},
		Prevention: "Size emptyDir sizeLimit and ephemeral-storage limits from measured peak usage of the largest job, and alert on evictions of a workload.",
		Impact:     fmt.Sprintf("%s loses pods and their in-flight work at every eviction and runs below its desired replicas meanwhile.", wl),
	}
}

// evictedOnNode returns the pods evicted on node under pressure res.
func (d *diag) evictedOnNode(node string, res corev1.NodeConditionType) []evictedPod {
	var out []evictedPod
	for _, e := range d.evictedPods() {
		if e.p.Spec.NodeName == node && e.ev.limit == "" && signalOf(e.ev.signal) == res {
			out = append(out, e)
		}
	}
	return out
}

// signalOf maps an eviction signal or condition to the node condition
// it belongs to.
func signalOf(sig string) corev1.NodeConditionType {
	switch {
	case strings.Contains(sig, "memory") || strings.Contains(sig, "Memory"):
		return corev1.NodeMemoryPressure
	case strings.Contains(sig, "pid") || strings.Contains(sig, "PID"):
		return corev1.NodePIDPressure
	case sig == "":
		return ""
	}
	return corev1.NodeDiskPressure
}

// humanQty renders a quantity the kubelet printed ("5921380Ki",
// "19327352832") in Mi/Gi; other values are returned as they are.
func humanQty(q string) string {
	v, err := resource.ParseQuantity(q)
	if err != nil || v.Value() < 1<<20 {
		return q
	}
	return fmtBytes(v.Value())
}
