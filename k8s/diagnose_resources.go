package k8s

import (
	"fmt"
	"regexp"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/k8flex/k8flex/investigate"
)

// containerUsage returns a container's current usage of res from PodMetrics.
func (d *diag) containerUsage(p *corev1.Pod, container string, res corev1.ResourceName) (resource.Quantity, bool) {
	u, ok := containerUsage(d.s.PodMetrics, p, container)
	if !ok {
		return resource.Quantity{}, false
	}
	q, ok := u[res]
	return q, ok
}

var reSlowLog = regexp.MustCompile(`(?i)\bslow\b|latency|took_ms|took \d|deadline exceeded|saturat|timed out|timeout`)

// diagnoseCPUThrottling reports containers whose CPU usage sits at their
// CPU limit (CFS quota throttling), and the LimitRange that set the limit
// when the pod spec did not. Without a usage sample (no metrics.k8s.io in
// the cluster) a throttling alert is the measurement: the alerted
// container's CPU limit is reported as the cause all the same.
func diagnoseCPUThrottling(d *diag) []investigate.Finding {
	var g groups
	type info struct {
		container   string
		limit       resource.Quantity
		usages      []string
		limitRanger string
		asAlerted   bool
		goRuntime   string // why a Go runtime outruns the limit
	}
	infos := map[string]*info{}
	for _, p := range d.pods {
		if !d.target[podKey(p)] {
			continue
		}
		for _, c := range p.Spec.Containers {
			lim, ok := c.Resources.Limits[corev1.ResourceCPU]
			if !ok || lim.MilliValue() == 0 {
				continue
			}
			u, measured := d.containerUsage(p, c.Name, corev1.ResourceCPU)
			// The alert's own throttled share counts even when the
			// average usage sits below the limit: bursts hit the quota.
			alerted := d.throttlingAlerted(c.Name) && (!measured || d.alertThrottledPct() != "")
			if !alerted && (!measured || u.MilliValue()*100 < lim.MilliValue()*90) {
				continue
			}
			key := workloadOrPod(p) + "|" + c.Name
			in := infos[key]
			if in == nil {
				in = &info{container: c.Name, limit: lim, asAlerted: alerted}
				infos[key] = in
			}
			var proof []string
			if why, more := d.goMaxProcsOverLimit(p, &c, lim); why != "" && in.goRuntime == "" {
				in.goRuntime = why
				proof = append(proof, more...)
			}
			if measured {
				pct := u.MilliValue() * 100 / lim.MilliValue()
				in.usages = append(in.usages, fmt.Sprintf("%s %dm (%d%%)", p.Name, u.MilliValue(), pct))
				proof = append(proof, fmt.Sprintf("PodMetrics %s %s cpu: %s (≈%dm)", p.Name, c.Name, u.String(), u.MilliValue()))
			}
			proof = append(proof, fmt.Sprintf("%s resources.limits.cpu: %s", c.Name, lim.String()))
			if a := p.Annotations["kubernetes.io/limit-ranger"]; strings.Contains(a, "cpu") && strings.Contains(a, "limit for container "+c.Name) {
				in.limitRanger = a
				proof = append(proof, fmt.Sprintf("%s annotation kubernetes.io/limit-ranger: %s", p.Name, a))
			}
			lines := d.logs(p.Namespace, p.Name, c.Name, false)
			n := 0
			for i := len(lines) - 1; i >= 0 && n < 2; i-- {
				if reSlowLog.MatchString(lines[i]) {
					proof = append(proof, p.Name+" log: "+clip(lines[i], 300))
					n++
				}
			}
			g.add(key, p, proof...)
		}
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		in := infos[x.key]
		p := x.pods[0]
		lim := fmtQty(corev1.ResourceCPU, in.limit)
		sum := fmt.Sprintf("Container %s of pod %s is CPU-throttled: its usage (%s) sits at its CPU limit of %s (%dm), so the kernel's CFS quota throttles it",
			in.container, x.names(), strings.Join(in.usages, ", "), lim, in.limit.MilliValue())
		var detail []string
		if in.asAlerted {
			if pct := d.alertThrottledPct(); pct != "" {
				sum = fmt.Sprintf("Container %s of pod %s is CPU-throttled: the alert measures %s%% of its CFS periods throttled, against its CPU limit of %s (%dm), the quota the kernel throttles it to",
					in.container, x.names(), pct, lim, in.limit.MilliValue())
			} else {
				sum = fmt.Sprintf("Container %s of pod %s is CPU-throttled, as the alert reports: its CPU limit of %s (%dm) is the CFS quota the kernel throttles it to",
					in.container, x.names(), lim, in.limit.MilliValue())
			}
			detail = append(detail, "Its usage could not be read (no metrics.k8s.io sample); the throttling is the alert's own measurement.")
			if timeouts := d.probeTimeouts(x.pods, in.container); len(timeouts) > 0 {
				detail = append(detail, "Its probes time out meanwhile: "+strings.Join(timeouts, " / ")+".")
			}
		}
		if in.goRuntime != "" {
			sum += "; " + in.goRuntime
		}
		if in.limitRanger != "" {
			if lr, def := d.limitRangeDefault(p.Namespace, corev1.ResourceCPU); lr != "" {
				sum += fmt.Sprintf("; the pod spec sets no CPU limit — the %s limit was injected by the LimitRange %s/%s (default cpu %s)", lim, p.Namespace, lr, def)
			} else {
				sum += "; the limit was injected by a LimitRange default (kubernetes.io/limit-ranger annotation), not set in the pod spec"
			}
		}
		if idle := d.nodeHeadroom(x.pods); idle != "" {
			detail = append(detail, "The nodes have spare CPU ("+idle+"): the limit, not the node, is the bottleneck.")
		}
		detail = append(detail, "A container at its CPU limit gets throttled in every CFS period, so request latency rises although the node is not busy.")
		act := []string{
			fmt.Sprintf("Set explicit resources in %s: a CPU request matching real usage and a higher CPU limit (or none), e.g. kubectl set resources -n %s %s -c %s --requests=cpu=500m --limits=cpu=2", workloadOrPod(p), p.Namespace, workloadOrPod(p), in.container),
			fmt.Sprintf("kubectl top pod -n %s --containers", p.Namespace),
		}
		if in.goRuntime != "" {
			act = append([]string{fmt.Sprintf("Set GOMAXPROCS to the CPU limit in %s (env GOMAXPROCS=%d, or valueFrom resourceFieldRef limits.cpu; or build with automaxprocs / Go ≥ 1.25, which read the cgroup limit)", workloadOrPod(p), max(1, in.limit.Value()))}, act...)
		}
		if in.limitRanger != "" {
			act = append(act, fmt.Sprintf("kubectl get limitrange -n %s -o yaml   # the namespace default applies to every container without its own limit", p.Namespace))
		}
		score := scoreCause
		switch {
		case in.asAlerted && d.alertThrottledPct() != "":
			score = scoreCause + 5 // the alert's own measurement; it explains probe timeouts
		case d.s.Category != "" && d.s.Category != investigate.CPUThrottling:
			score = scoreContext + 10 // true, but not what the alert is about
		}
		out = append(out, investigate.Finding{
			Rule: "cpu-throttling", Severity: investigate.FindingWarning, Score: score,
			Summary: sum + ".", Detail: strings.Join(detail, " "), Objects: x.refs(), Proof: x.proof, Actions: act,
			Prevention: "Give every workload explicit requests/limits sized from measured usage, and review namespace LimitRange defaults with the teams whose pods inherit them.",
			Impact:     fmt.Sprintf("%s responds slowly (timeouts, queueing) while throttled.", workloadOrPod(p)),
		})
	})
	return out
}

// reThrottledPct finds the throttled share an alert states
// ("84.5% throttling of CPU", "throttled 91% of the time").
var reThrottledPct = regexp.MustCompile(`(?i)(\d+(?:\.\d+)?)\s*%\s*(?:of\s+)?(?:cpu\s+)?throttl|throttl\w*[^.%\d]{0,40}?(\d+(?:\.\d+)?)\s*%`)

// throttlingAlerted reports whether the investigation is about CPU
// throttling of this container by the alert's own account: a
// cpu-throttling category, or an alert stating a throttled share, naming
// this container or none.
func (d *diag) throttlingAlerted(container string) bool {
	if d.s.Category != investigate.CPUThrottling && d.alertThrottledPct() == "" {
		return false
	}
	want := d.s.Target.Container
	if want == "" && d.s.Alert != nil {
		want = d.s.Alert.Labels["container"]
	}
	return want == "" || want == container
}

// alertThrottledPct returns the throttled share of CFS periods a
// throttling alert states ("84.5"), or "".
func (d *diag) alertThrottledPct() string {
	a := d.s.Alert
	if a == nil || !strings.Contains(strings.ToLower(a.Name()), "throttl") {
		return ""
	}
	text := strings.Join([]string{a.Annotations["description"], a.Annotations["summary"], a.Annotations["message"]}, " ")
	if m := reThrottledPct.FindStringSubmatch(text); m != nil {
		return firstNonEmpty(m)
	}
	return ""
}

// probeTimeouts returns up to two probe failures of the container that are
// timeouts (the symptom throttling causes).
func (d *diag) probeTimeouts(pods []*corev1.Pod, container string) []string {
	var out []string
	for _, p := range pods {
		for _, e := range d.eventsWithReason(p, "Unhealthy") {
			l := strings.ToLower(e.Message)
			if len(out) < 2 && (strings.Contains(l, "timeout") || strings.Contains(l, "deadline exceeded") || strings.Contains(l, "timed out")) {
				out = appendUnique(out, clip(e.Message, 200))
			}
		}
	}
	return out
}

// limitRangeDefault returns the LimitRange of ns with a default limit for
// res, and that default.
func (d *diag) limitRangeDefault(ns string, res corev1.ResourceName) (string, string) {
	for _, lr := range d.s.LimitRanges {
		if lr.Namespace != ns {
			continue
		}
		for _, l := range lr.Spec.Limits {
			if q, ok := l.Default[res]; ok && l.Type == corev1.LimitTypeContainer {
				return lr.Name, fmtQty(res, q)
			}
		}
	}
	return "", ""
}

// nodeHeadroom describes node CPU usage of the pods' nodes from NodeMetrics.
func (d *diag) nodeHeadroom(pods []*corev1.Pod) string {
	var out []string
	for _, n := range uniqueNodes(pods) {
		node := d.node(n)
		for _, m := range d.s.NodeMetrics {
			if m.Name != n {
				continue
			}
			u := m.Usage[corev1.ResourceCPU]
			s := fmt.Sprintf("%s uses %s CPU", n, fmtQty(corev1.ResourceCPU, *resource.NewMilliQuantity(u.MilliValue(), resource.DecimalSI)))
			if node != nil {
				a := node.Status.Allocatable[corev1.ResourceCPU]
				s += " of " + fmtQty(corev1.ResourceCPU, a)
			}
			out = append(out, s)
		}
	}
	return strings.Join(out, ", ")
}

// rerunAction is how to run a failed Job again once its cause is fixed:
// from its CronJob when it has one, else by re-applying it.
func rerunAction(j *batchv1.Job) string {
	for _, o := range j.OwnerReferences {
		if o.Kind == "CronJob" {
			return fmt.Sprintf("Fix the error above, then run it once by hand: kubectl create job -n %s --from=cronjob/%s %s-manual", j.Namespace, o.Name, o.Name)
		}
	}
	return fmt.Sprintf("Fix the error above, then re-run the Job: kubectl get job -n %s %s -o yaml > job.yaml; kubectl delete job -n %s %s; kubectl apply -f job.yaml (after removing its selector and controller-uid labels)", j.Namespace, j.Name, j.Namespace, j.Name)
}
