package k8s

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// jvmOptionEnvs are the environment variables JVM options are read from,
// lowest precedence first: the VM reads JAVA_TOOL_OPTIONS before the
// command line, the java launcher prepends JDK_JAVA_OPTIONS to it, start
// scripts put JAVA_OPTS on it, and _JAVA_OPTIONS overrides all of them.
// The container's command and args sit between JAVA_OPTS and _JAVA_OPTIONS.
var jvmOptionEnvs = []string{"JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "JAVA_OPTS", "_JAVA_OPTIONS"}

// jvmHeap is the maximum heap one set of JVM options asks for.
type jvmHeap struct {
	source  string  // where the options come from: "env JAVA_TOOL_OPTIONS", "args"
	options string  // the whole option string, for proof
	flag    string  // the deciding flag: "-Xmx3g", "-XX:MaxRAMPercentage=75.0"
	bytes   int64   // explicit maximum heap; 0 when set as a percentage
	percent float64 // -XX:MaxRAMPercentage when bytes is 0
}

var (
	reXmx        = regexp.MustCompile(`^(?:-Xmx|-XX:MaxHeapSize=)(\d+)([kKmMgGtT]?)$`)
	reMaxRAMPct  = regexp.MustCompile(`^-XX:MaxRAMPercentage=(\d+(?:\.\d+)?)$`)
	rePickedUp   = regexp.MustCompile(`Picked up (JAVA_TOOL_OPTIONS|JDK_JAVA_OPTIONS|_JAVA_OPTIONS): (.*)$`)
	reHeapMaxLog = regexp.MustCompile(`(?i)heap max capacity: \S+|max heap size\S*\s*[:=]\s*\S+`)
)

// parseJVMHeap returns the maximum heap an option string sets. An explicit
// -Xmx / -XX:MaxHeapSize wins over -XX:MaxRAMPercentage, as in the JVM; of
// several of the same kind the last wins.
func parseJVMHeap(options string) (h jvmHeap, ok bool) {
	var pct jvmHeap
	for _, f := range strings.Fields(options) {
		if m := reXmx.FindStringSubmatch(f); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err != nil {
				continue
			}
			shift := map[string]uint{"": 0, "k": 10, "m": 20, "g": 30, "t": 40}[strings.ToLower(m[2])]
			h, ok = jvmHeap{options: options, flag: f, bytes: n << shift}, true
		} else if m := reMaxRAMPct.FindStringSubmatch(f); m != nil {
			v, err := strconv.ParseFloat(m[1], 64)
			if err == nil {
				pct = jvmHeap{options: options, flag: f, percent: v}
			}
		}
	}
	if ok {
		return h, true
	}
	return pct, pct.flag != ""
}

// resolveEnv returns the value of a container's environment variable, read
// from the spec or from a gathered ConfigMap it references.
func (d *diag) resolveEnv(ns string, c *corev1.Container, name string) (string, bool) {
	val, found := "", false
	for _, ef := range c.EnvFrom {
		if ef.ConfigMapRef == nil || !strings.HasPrefix(name, ef.Prefix) {
			continue
		}
		if v, ok := d.configMapValue(ns, ef.ConfigMapRef.Name, strings.TrimPrefix(name, ef.Prefix)); ok {
			val, found = v, true
		}
	}
	for _, e := range c.Env { // env entries override envFrom
		if e.Name != name {
			continue
		}
		switch {
		case e.ValueFrom == nil:
			val, found = e.Value, true
		case e.ValueFrom.ConfigMapKeyRef != nil:
			if v, ok := d.configMapValue(ns, e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Key); ok {
				val, found = v, true
			}
		}
	}
	return val, found
}

func (d *diag) configMapValue(ns, name, key string) (string, bool) {
	for _, cm := range d.s.ConfigMaps {
		if cm.Namespace == ns && cm.Name == name {
			v, ok := cm.Data[key]
			return v, ok
		}
	}
	return "", false
}

// jvmMaxHeap returns the effective maximum heap a container's spec sets,
// or false when the spec sets none.
func (d *diag) jvmMaxHeap(ns string, c *corev1.Container) (jvmHeap, bool) {
	var best jvmHeap
	found := false
	consider := func(source, options string) {
		if h, ok := parseJVMHeap(options); ok && (!found || h.bytes > 0 || best.bytes == 0) {
			h.source = source
			best, found = h, true
		}
	}
	for _, name := range jvmOptionEnvs {
		if name == "_JAVA_OPTIONS" {
			consider("command/args", strings.Join(append(append([]string{}, c.Command...), c.Args...), " "))
		}
		if v, ok := d.resolveEnv(ns, c, name); ok {
			consider("env "+name, v)
		}
	}
	return best, found
}

// jvmHeapFromLog returns the options the JVM reports it picked up from the
// environment ("Picked up JAVA_TOOL_OPTIONS: ..."), for images that set
// them outside the pod spec.
func jvmHeapFromLog(lines []string) (jvmHeap, string, bool) {
	for i := len(lines) - 1; i >= 0; i-- {
		if m := rePickedUp.FindStringSubmatch(lines[i]); m != nil {
			if h, ok := parseJVMHeap(m[2]); ok {
				h.source = "env " + m[1] + " (as the JVM logs it)"
				return h, strings.TrimSpace(lines[i]), true
			}
		}
	}
	return jvmHeap{}, "", false
}

// diagnoseJVMHeap reports OOMKilled Java containers whose maximum heap is
// at (or within 10% of) the container's memory limit: the heap alone may
// outgrow the cgroup, so the kernel kills the process before the JVM ever
// throws OutOfMemoryError.
func diagnoseJVMHeap(d *diag) []investigate.Finding {
	var g groups
	type info struct {
		container, limit string
		heap             jvmHeap
		heapBytes        int64
		limitBytes       int64
		restarts         int32
	}
	infos := map[string]*info{}
	for _, p := range d.pods {
		for i := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[i]
			t := lastTermination(cs)
			c := containerSpec(p, cs.Name)
			if t == nil || t.Reason != "OOMKilled" || c == nil {
				continue
			}
			lim, ok := c.Resources.Limits[corev1.ResourceMemory]
			if !ok || lim.Value() <= 0 {
				continue
			}
			prev := d.logs(p.Namespace, p.Name, cs.Name, true)
			var logProof []string
			h, ok := d.jvmMaxHeap(p.Namespace, c)
			if !ok {
				var line string
				if h, line, ok = jvmHeapFromLog(prev); !ok {
					continue
				}
				logProof = append(logProof, line)
			}
			heapBytes := h.bytes
			if heapBytes == 0 {
				heapBytes = int64(h.percent * float64(lim.Value()) / 100)
			}
			if heapBytes*10 < lim.Value()*9 {
				continue // leaves at least 10% of the limit outside the heap
			}
			for _, l := range prev {
				if reHeapMaxLog.MatchString(l) {
					logProof = appendUnique(logProof, clip(l, 200))
					break
				}
			}
			key := workloadOrPod(p) + "|" + cs.Name
			proof := []string{
				oomProof(p, cs, t),
				fmt.Sprintf("%s %s: %s", cs.Name, h.source, clip(h.options, 200)),
				fmt.Sprintf("%s resources.limits.memory: %s", cs.Name, lim.String()),
			}
			for _, l := range logProof {
				proof = append(proof, fmt.Sprintf("%s previous log: %s", p.Name, l))
			}
			g.add(key, p, proof...)
			if infos[key] == nil {
				infos[key] = &info{container: cs.Name, limit: lim.String(), heap: h, heapBytes: heapBytes, limitBytes: lim.Value()}
			}
			infos[key].restarts = max(infos[key].restarts, cs.RestartCount)
		}
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		in := infos[x.key]
		p := x.pods[0]
		size := fmtBytes(in.heapBytes)
		if in.heap.bytes == 0 {
			size = fmt.Sprintf("%g%% of the limit = %s", in.heap.percent, size)
		}
		var why string
		if in.heapBytes >= in.limitBytes {
			why = fmt.Sprintf("is at or above the container's memory limit of %s: the heap is allowed to grow past the limit, so the kernel OOM-kills the container (exit code 137) before the JVM reaches its own heap limit and could throw OutOfMemoryError", in.limit)
		} else {
			why = fmt.Sprintf("leaves only %s of the container's %s memory limit for the JVM's non-heap memory (metaspace, thread stacks, code cache, direct buffers), so the process outgrows the limit and the kernel OOM-kills it (exit code 137)", fmtBytes(in.limitBytes-in.heapBytes), in.limit)
		}
		sum := fmt.Sprintf("Container %s of %s %s was OOMKilled because its JVM maximum heap %s (%s, from %s) %s",
			in.container, plural(len(x.pods), "pod", "pods"), x.names(), in.heap.flag, size, in.heap.source, why)
		detail := ""
		if was := d.previousJVMOptions(p, in.container, in.heap.options); was != "" {
			detail = was
		}
		lrClause, lrProof := d.injectedLimit(p, in.container, corev1.ResourceMemory)
		if lrClause != "" {
			sum += lrClause
			x.proof = appendUnique(x.proof, lrProof)
		}
		acts := []string{
			fmt.Sprintf("Set the maximum heap of container %s well below its %s limit (for example -XX:MaxRAMPercentage=75.0 instead of a fixed %s, so the heap follows the limit), or raise limits.memory above the heap plus the JVM's non-heap needs.", in.container, in.limit, in.heap.flag),
		}
		if lrClause != "" {
			acts = append(acts, fmt.Sprintf("Set resources.limits.memory of container %s explicitly in its workload's template instead of inheriting the namespace's LimitRange default (kubectl get limitrange -n %s -o yaml).", in.container, p.Namespace))
		}
		acts = append(acts,
			fmt.Sprintf("kubectl logs -n %s %s -c %s --previous   # heap and GC lines before the kill", p.Namespace, p.Name, in.container),
			rollbackAction(p))
		out = append(out, investigate.Finding{
			Rule: "oom-jvm-heap", Severity: investigate.FindingCritical, Score: scoreCause + 5,
			Summary: sum + ".", Detail: detail, Objects: x.refs(), Proof: x.proof,
			Actions:    acts,
			Prevention: "Size JVM heaps relative to the container limit (-XX:MaxRAMPercentage) rather than with fixed -Xmx values, and check in CI that a fixed -Xmx stays below limits.memory.",
			Impact:     oomImpact(p, in.restarts),
		})
	})
	return out
}

// previousJVMOptions describes the JVM options the container had in an
// older ReplicaSet of the same Deployment when they differ from options
// ("" when none is known).
func (d *diag) previousJVMOptions(p *corev1.Pod, container, options string) string {
	owner := ownerName(p)
	if !strings.HasPrefix(owner, "deployment/") {
		return ""
	}
	hash := p.Labels["pod-template-hash"]
	var prev *appsv1.ReplicaSet
	prevRev := -1
	for i := range d.s.ReplicaSets {
		rs := &d.s.ReplicaSets[i]
		if rs.Namespace != p.Namespace || rs.Labels["pod-template-hash"] == hash || !slices.ContainsFunc(rs.OwnerReferences, func(o metav1.OwnerReference) bool {
			return o.Kind == "Deployment" && "deployment/"+o.Name == owner
		}) {
			continue
		}
		rev := revision(rs)
		if rev > prevRev {
			prev, prevRev = rs, rev
		}
	}
	if prev == nil {
		return ""
	}
	for i := range prev.Spec.Template.Spec.Containers {
		c := &prev.Spec.Template.Spec.Containers[i]
		if c.Name != container {
			continue
		}
		if h, ok := d.jvmMaxHeap(p.Namespace, c); ok && h.options != options {
			return fmt.Sprintf("The previous revision (ReplicaSet %s, revision %d) ran with %s %q; the current pods run with %q.", prev.Name, prevRev, h.source, h.options, options)
		}
	}
	return ""
}
