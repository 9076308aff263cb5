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

// Scores rank findings as root-cause candidates. A cause scores higher than
// the symptoms it explains: a node or configuration fault outranks the pods
// that crash because of it.
const (
	scoreRootCause  = 90 // a broken object that explains everything else
	scoreCause      = 80 // a concrete cause (scheduling, throttling, probe design)
	scoreDependency = 70 // a workload fails because something it calls fails
	scoreMechanism  = 60 // how the symptom happens (probe kills, readiness)
	scoreSymptom    = 50 // the alerting symptom itself (crash loop)
	scoreContext    = 30 // facts worth knowing that explain nothing alone
)

// Diagnose returns the deterministic findings of the snapshot, most likely
// root cause first (highest Score; ties keep rule order). It is pure: it
// reads only the snapshot and never calls the API server.
func (s *Snapshot) Diagnose() []investigate.Finding {
	d := newDiag(s)
	var out []investigate.Finding
	for _, rule := range []func(*diag) []investigate.Finding{
		diagnoseNodes,
		diagnoseScheduling,
		diagnoseConfigRefs,
		diagnoseImagePull,
		diagnoseSandboxes,
		diagnoseVolumeAttach,
		diagnoseContainerMounts,
		diagnoseVolumeFull,
		diagnosePIDExhaustion,
		diagnoseOOM,
		diagnoseJVMHeap,
		diagnoseProbes,
		diagnoseInitContainers,
		diagnoseInitWaits,
		diagnoseCrashLoop,
		diagnoseAppErrors,
		diagnoseEvictions,
		diagnoseDisruptionBudgets,
		diagnoseServices,
		diagnoseServiceSubsets,
		diagnoseIngresses,
		diagnoseIngressTLS,
		diagnoseReadinessGates,
		diagnoseNetworkPolicies,
		diagnoseEgressDestinations,
		diagnoseIngressCallers,
		diagnoseDNS,
		diagnoseDNSNdots,
		diagnoseDependencies,
		diagnoseSaturation,
		diagnoseCPUThrottling,
		diagnoseWorkloads,
		diagnoseFailedCreate,
		diagnoseDaemonSets,
		diagnoseJobDeadlines,
		diagnoseAdmissionRejections,
		diagnoseLifecycleHooks,
		diagnoseCronJobSchedules,
		diagnoseCronJobsStopped,
		diagnosePreemption,
		diagnoseMeshMTLS,
	} {
		out = append(out, rule(d)...)
	}
	out = append(out, diagnoseWarningEvents(d, out)...)
	for i := range out {
		if out[i].Category == "" {
			out[i].Category = impliedCategory(out[i].Rule)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// impliedCategory is the alert category a rule's finding is evidence of
// (the engine uses it to correct a category its rules were unsure about),
// or "" when the finding implies none.
func impliedCategory(rule string) investigate.Category {
	switch {
	case strings.HasPrefix(rule, "dns-"):
		return investigate.DNSIssues
	case strings.HasPrefix(rule, "netpol-"):
		return investigate.NetworkPolicy
	case strings.HasPrefix(rule, "dependency-"):
		return ""
	case strings.HasPrefix(rule, "failedcreate"):
		return investigate.PodPending
	}
	switch rule {
	case "node-not-ready", "node-network-unavailable", "node-pid-pressure", "pdb-blocks-eviction":
		return investigate.NodeNotReady
	case "node-disk-pressure":
		return investigate.DiskPressure
	case "node-memory-pressure", "oom-killed", "oom-jvm-heap":
		return investigate.OOMKilled
	case "failed-scheduling", "image-pull", "init-container-waiting", "pod-admission-rejected":
		return investigate.PodPending
	case "crashloop", "missing-config", "init-container", "job-failed", "job-deadline-exceeded", "volume-full":
		return investigate.PodCrash
	case "liveness-probe", "eviction-storage-limit":
		return investigate.PodRestart
	case "readiness-probe", "endpoints-not-ready", "readiness-gate":
		return investigate.EndpointMissing
	case "mesh-mtls-strict-plaintext", "service-selector", "service-target-port", "scaled-to-zero", "ingress-backend-missing", "ingress-backend-port", "ingress-tls-secret":
		return investigate.ServiceDown
	case "cpu-throttling":
		return investigate.CPUThrottling
	case "cronjob-suspended", "cronjob-blocked", "pod-preempted":
		return investigate.PodPending
	}
	return ""
}

// diag indexes a snapshot for the rules.
type diag struct {
	s      *Snapshot
	pods   []*corev1.Pod // Pods, then RelatedPods, then DNS pods; unique
	target map[string]bool
	events map[objKey][]*corev1.Event
}

type objKey struct{ kind, ns, name string }

func newDiag(s *Snapshot) *diag {
	d := &diag{s: s, target: map[string]bool{}, events: map[objKey][]*corev1.Event{}}
	seen := map[string]bool{}
	add := func(ps []corev1.Pod, target bool) {
		for i := range ps {
			p := &ps[i]
			k := p.Namespace + "/" + p.Name
			if seen[k] {
				continue
			}
			seen[k] = true
			d.pods = append(d.pods, p)
			if target {
				d.target[k] = true
			}
		}
	}
	add(s.Pods, true)
	add(s.RelatedPods, false)
	if s.DNS != nil {
		add(s.DNS.Pods, false)
	}
	for i := range s.Events {
		e := &s.Events[i]
		ns := e.InvolvedObject.Namespace
		if e.InvolvedObject.Kind == "Node" {
			ns = ""
		}
		k := objKey{e.InvolvedObject.Kind, ns, e.InvolvedObject.Name}
		d.events[k] = append(d.events[k], e)
	}
	return d
}

// podEvents returns the events of a pod, newest last.
func (d *diag) podEvents(p *corev1.Pod) []*corev1.Event {
	return d.events[objKey{"Pod", p.Namespace, p.Name}]
}

// eventsWithReason returns the pod's events whose reason is one of reasons.
func (d *diag) eventsWithReason(p *corev1.Pod, reasons ...string) []*corev1.Event {
	var out []*corev1.Event
	for _, e := range d.podEvents(p) {
		for _, r := range reasons {
			if e.Reason == r {
				out = append(out, e)
			}
		}
	}
	return out
}

// logs returns the log lines of a container instance (nil when not gathered).
func (d *diag) logs(ns, pod, container string, previous bool) []string {
	all := d.s.Logs
	if d.s.DNS != nil {
		all = append(all[:len(all):len(all)], d.s.DNS.Logs...)
	}
	for _, l := range all {
		if l.Namespace == ns && l.Pod == pod && l.Container == container && l.Previous == previous {
			return l.Lines
		}
	}
	return nil
}

// crashLogs returns the log that shows why the container last stopped: the
// previous instance's log when there is one, else the current log.
func (d *diag) crashLogs(p *corev1.Pod, container string) (lines []string, previous bool) {
	if l := d.logs(p.Namespace, p.Name, container, true); len(l) > 0 {
		return l, true
	}
	return d.logs(p.Namespace, p.Name, container, false), false
}

func (d *diag) node(name string) *corev1.Node {
	for i := range d.s.Nodes {
		if d.s.Nodes[i].Name == name {
			return &d.s.Nodes[i]
		}
	}
	return nil
}

func (d *diag) service(ns, name string) *corev1.Service {
	for i := range d.s.Services {
		if d.s.Services[i].Namespace == ns && d.s.Services[i].Name == name {
			return &d.s.Services[i]
		}
	}
	return nil
}

// selectedPods returns the known pods in ns matched by selector.
func (d *diag) selectedPods(ns string, selector map[string]string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range d.pods {
		if p.Namespace == ns && selects(selector, p.Labels) {
			out = append(out, p)
		}
	}
	return out
}

// missingRef reports whether the object is recorded in MissingRefs as
// required by some pod (an optional-only reference does not count).
func (d *diag) missingRef(kind, ns, name string) bool {
	missing, optional := d.lookupMissingRef(kind, ns, name)
	return missing && !optional
}

// lookupMissingRef reports whether the object is recorded in MissingRefs,
// and whether only optional references to it were recorded.
func (d *diag) lookupMissingRef(kind, ns, name string) (missing, optional bool) {
	want := kind + "/" + ns + "/" + name
	optional = true
	for _, e := range d.s.MissingRefs {
		ref, opt := parseMissingRef(e)
		if strings.EqualFold(ref, want) {
			missing, optional = true, optional && opt
		}
	}
	return missing, missing && optional
}

func podRef(p *corev1.Pod) string { return "pod/" + p.Namespace + "/" + p.Name }

// ownerName returns the workload that owns the pod ("deployment/x" for a
// ReplicaSet-owned pod when the hash suffix can be removed), or "".
func ownerName(p *corev1.Pod) string {
	for _, o := range p.OwnerReferences {
		if o.Controller == nil || !*o.Controller {
			continue
		}
		if o.Kind == "ReplicaSet" {
			if h := p.Labels["pod-template-hash"]; h != "" && strings.HasSuffix(o.Name, "-"+h) {
				return "deployment/" + strings.TrimSuffix(o.Name, "-"+h)
			}
		}
		return strings.ToLower(o.Kind) + "/" + o.Name
	}
	return ""
}

func isTerminating(p *corev1.Pod) bool { return p.DeletionTimestamp != nil }

// containerSpec returns the spec of the named (init) container.
func containerSpec(p *corev1.Pod, name string) *corev1.Container {
	for i := range p.Spec.Containers {
		if p.Spec.Containers[i].Name == name {
			return &p.Spec.Containers[i]
		}
	}
	for i := range p.Spec.InitContainers {
		if p.Spec.InitContainers[i].Name == name {
			return &p.Spec.InitContainers[i]
		}
	}
	return nil
}

// group collects per-pod observations of one kind so that several pods of a
// workload with the same problem become one finding.
type group struct {
	key   string
	pods  []*corev1.Pod
	proof []string
}

type groups struct {
	order []string
	m     map[string]*group
}

func (g *groups) add(key string, p *corev1.Pod, proof ...string) *group {
	if g.m == nil {
		g.m = map[string]*group{}
	}
	x, ok := g.m[key]
	if !ok {
		x = &group{key: key}
		g.m[key] = x
		g.order = append(g.order, key)
	}
	for _, q := range x.pods {
		if q == p {
			x.proof = appendUnique(x.proof, proof...)
			return x
		}
	}
	x.pods = append(x.pods, p)
	x.proof = appendUnique(x.proof, proof...)
	return x
}

func (g *groups) each(f func(*group)) {
	for _, k := range g.order {
		f(g.m[k])
	}
}

func (x *group) names() string {
	n := make([]string, 0, len(x.pods))
	for _, p := range x.pods {
		n = append(n, p.Name)
	}
	return joinNames(n)
}

func (x *group) refs() []string {
	out := make([]string, 0, len(x.pods))
	for _, p := range x.pods {
		out = append(out, podRef(p))
	}
	return out
}

// joinNames renders a short list of names: "a", "a and b", "a, b and 3 more".
func joinNames(n []string) string {
	switch {
	case len(n) == 0:
		return ""
	case len(n) == 1:
		return n[0]
	case len(n) <= 3:
		return strings.Join(n[:len(n)-1], ", ") + " and " + n[len(n)-1]
	}
	return strings.Join(n[:2], ", ") + fmt.Sprintf(" and %d more", len(n)-2)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func appendUnique(dst []string, xs ...string) []string {
	for _, x := range xs {
		x = strings.TrimSpace(x)
		if x == "" {
			continue
		}
		dup := false
		for _, y := range dst {
			if y == x {
				dup = true
				break
			}
		}
		if !dup {
			dst = append(dst, x)
		}
	}
	return dst
}

// evProof renders an event as a proof line: `Warning BackOff (x71): message`.
func evProof(e *corev1.Event) string {
	s := e.Type + " " + e.Reason
	if e.Count > 1 {
		s += fmt.Sprintf(" (x%d)", e.Count)
	}
	return s + ": " + strings.TrimSpace(e.Message)
}

// fmtQty renders a quantity for people: CPU in cores or millicores, memory
// in binary units as written.
func fmtQty(name corev1.ResourceName, q resource.Quantity) string {
	if name == corev1.ResourceCPU {
		m := q.MilliValue()
		if m%1000 == 0 {
			return fmt.Sprintf("%d", m/1000)
		}
		return fmt.Sprintf("%dm", m)
	}
	return q.String()
}

// fmtBytes renders a byte count in Mi (or Gi when large or a whole
// number of Gi).
func fmtBytes(b int64) string {
	const mi = 1 << 20
	if b > 0 && b%(1<<30) == 0 {
		return fmt.Sprintf("%dGi", b>>30)
	}
	if b >= 10*(1<<30) {
		return fmt.Sprintf("%.1fGi", float64(b)/(1<<30))
	}
	return fmt.Sprintf("%dMi", (b+mi/2)/mi)
}

var (
	stackFrame = regexp.MustCompile(`^\s*(at |File "|\.\.\. \d+|raise\b|Traceback|During handling|The above exception|\^|~+$|goroutine \d+|/\S+\.go:\d+|\s+\S+\(.*\)$)`)
	errorWord  = regexp.MustCompile(`(?i)(error|fatal|panic|exception|fail|refused|denied|unable|cannot|can't|could not|couldn't|not found|no such|timeout|timed out|invalid|missing|expired|syntax|unauthori[sz]ed|forbidden|not set|undefined|unreachable|crit|emerg|\bkilled\b)`)
	levelInfo  = regexp.MustCompile(`(?i)("level":\s*"?(info|debug|trace|30|20|10)"?|\blevel=(info|debug|trace)\b|\s(INFO|DEBUG|TRACE)\s)`)
)

// errorLines returns the last n distinct error lines of a log, oldest
// first: lines that name an error, not stack frames nor info lines.
func errorLines(lines []string, n int) []string {
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		l := strings.TrimRight(lines[i], " \t\r")
		if strings.TrimSpace(l) == "" || stackFrame.MatchString(l) || !errorWord.MatchString(l) || levelInfo.MatchString(l) {
			continue
		}
		dup := false
		for _, o := range out {
			if sameMessage(o, l) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, strings.TrimSpace(l))
		}
	}
	for i, j := 0, len(out)-1; i < j; i, j = i+1, j-1 {
		out[i], out[j] = out[j], out[i]
	}
	return out
}

// sameMessage compares two log lines ignoring timestamps and numbers, as
// log compaction does.
func sameMessage(a, b string) bool { return repeatKey(a) == repeatKey(b) }

// lastErrorLine returns the most telling last error line of a log: the
// last error line, or the one before it when the last is a bare exception
// name without detail. "" when the log shows no error.
func lastErrorLine(lines []string) string {
	el := errorLines(lines, 3)
	if len(el) == 0 {
		return ""
	}
	last := el[len(el)-1]
	if len(last) < 60 && len(el) > 1 && len(el[len(el)-2]) > len(last) {
		last = el[len(el)-2]
	}
	return withContinuation(lines, last)
}

// withContinuation completes an error line that announces its detail on
// the next lines ("decoding failed due to the following error(s):"): the
// next non-empty lines (two at most, not stack frames) are appended.
func withContinuation(lines []string, line string) string {
	if !strings.HasSuffix(line, ":") {
		return line
	}
	at := -1
	for i := len(lines) - 1; i >= 0; i-- {
		if strings.TrimSpace(lines[i]) == line {
			at = i
			break
		}
	}
	if at < 0 {
		return line
	}
	out, n := line, 0
	for _, l := range lines[at+1:] {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		if n == 2 || stackFrame.MatchString(l) || sameMessage(l, line) {
			break
		}
		out += " " + l
		n++
		if !strings.HasSuffix(l, ":") {
			break
		}
	}
	return out
}

// lastLines returns the last n non-empty lines.
func lastLines(lines []string, n int) []string {
	var out []string
	for i := len(lines) - 1; i >= 0 && len(out) < n; i-- {
		if strings.TrimSpace(lines[i]) != "" {
			out = append([]string{strings.TrimSpace(lines[i])}, out...)
		}
	}
	return out
}

// clip shortens s to n runes for summaries.
func clip(s string, n int) string {
	r := []rune(strings.TrimSpace(s))
	if len(r) <= n {
		return string(r)
	}
	return string(r[:n-1]) + "…"
}
