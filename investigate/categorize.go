package investigate

import (
	"fmt"
	"strings"
	"unicode"
)

// Rule confidences. Rules at or above ConfidentRule decide alone; below it
// the engine asks the Categorizer (a model) when one is configured.
const (
	ConfidentRule = 0.8
	exactName     = 0.95
	keywordName   = 0.75
	keywordText   = 0.6
	defaultGuess  = 0.3
)

// knownAlerts maps alert names of kube-prometheus-stack (kubernetes-mixin,
// node-mixin, coredns-mixin, blackbox/probe alerts) to their category.
var knownAlerts = map[string]Category{
	// kubernetes-mixin: apps
	"KubePodCrashLooping":               PodCrash,
	"KubePodNotReady":                   PodPending,
	"KubeDeploymentReplicasMismatch":    PodPending,
	"KubeDeploymentRolloutStuck":        PodPending,
	"KubeDeploymentGenerationMismatch":  PodPending,
	"KubeStatefulSetReplicasMismatch":   PodPending,
	"KubeStatefulSetUpdateNotRolledOut": PodPending,
	"KubeDaemonSetRolloutStuck":         PodPending,
	"KubeDaemonSetNotScheduled":         PodPending,
	"KubeDaemonSetMisScheduled":         PodPending,
	"KubeContainerWaiting":              PodPending,
	"KubeJobFailed":                     PodCrash,
	"KubeJobNotCompleted":               PodCrash,
	"KubeHpaMaxedOut":                   CPUThrottling,
	"KubeHpaReplicasMismatch":           CPUThrottling,
	// kubernetes-mixin: resources
	"CPUThrottlingHigh":      CPUThrottling,
	"KubeCPUOvercommit":      PodPending,
	"KubeMemoryOvercommit":   PodPending,
	"KubeQuotaExceeded":      PodPending,
	"KubeQuotaFullyUsed":     PodPending,
	"KubeContainerOOMKilled": OOMKilled,
	// kubernetes-mixin: storage
	"KubePersistentVolumeFillingUp":       DiskPressure,
	"KubePersistentVolumeInodesFillingUp": DiskPressure,
	"KubePersistentVolumeErrors":          PodPending,
	// kubernetes-mixin: system / kubelet
	"KubeNodeNotReady":             NodeNotReady,
	"KubeNodeUnreachable":          NodeNotReady,
	"KubeNodeReadinessFlapping":    NodeNotReady,
	"KubeNodePressure":             DiskPressure,
	"KubeletDown":                  NodeNotReady,
	"KubeletTooManyPods":           PodPending,
	"KubeletPlegDurationHigh":      NodeNotReady,
	"KubeletPodStartUpLatencyHigh": PodPending,
	// node-mixin
	"NodeFilesystemSpaceFillingUp":   DiskPressure,
	"NodeFilesystemAlmostOutOfSpace": DiskPressure,
	"NodeFilesystemFilesFillingUp":   DiskPressure,
	"NodeFilesystemAlmostOutOfFiles": DiskPressure,
	"NodeDiskIOSaturation":           DiskPressure,
	"NodeNetworkReceiveErrs":         NodeNotReady,
	"NodeNetworkTransmitErrs":        NodeNotReady,
	"NodeClockNotSynchronising":      NodeNotReady,
	"NodeMemoryHighUtilization":      OOMKilled,
	"NodeSystemdServiceFailed":       NodeNotReady,
	// coredns-mixin
	"CoreDNSDown":                           DNSIssues,
	"CoreDNSLatencyHigh":                    DNSIssues,
	"CoreDNSErrorsHigh":                     DNSIssues,
	"CoreDNSForwardLatencyHigh":             DNSIssues,
	"CoreDNSForwardErrorsHigh":              DNSIssues,
	"CoreDNSForwardHealthcheckFailureCount": DNSIssues,
	"CoreDNSForwardHealthcheckBrokenCount":  DNSIssues,
	"KubeDNSDown":                           DNSIssues,
	// kube-state-metrics / cAdvisor based alerts commonly added by teams
	"KubePodOOMKilled":         OOMKilled,
	"ContainerOOMKilled":       OOMKilled,
	"KubeContainerRestarts":    PodRestart,
	"KubePodRestartingTooMuch": PodRestart,
	// endpoints / probes
	"KubeServiceNoEndpoints": EndpointMissing,
	"TargetDown":             ServiceDown,
	"BlackboxProbeFailed":    ServiceDown,
	"ProbeFailed":            ServiceDown,
	"KubeAPIDown":            ServiceDown,
}

// symptomAlerts are known alerts about a symptom that many kinds of
// trouble cause (a workload short of replicas, a failed probe, a pressured
// node): their category is where investigation starts, and the diagnosis'
// strongest finding decides where it ends.
var symptomAlerts = map[string]bool{
	"KubePodNotReady": true, "KubeDeploymentReplicasMismatch": true, "KubeDeploymentRolloutStuck": true,
	"KubeDeploymentGenerationMismatch": true, "KubeStatefulSetReplicasMismatch": true,
	"KubeStatefulSetUpdateNotRolledOut": true, "KubeDaemonSetRolloutStuck": true, "KubeDaemonSetNotScheduled": true,
	"KubeDaemonSetMisScheduled": true, "KubeContainerWaiting": true, "KubeJobFailed": true, "KubeJobNotCompleted": true,
	"KubeHpaMaxedOut": true, "KubeHpaReplicasMismatch": true, "KubeNodePressure": true, "KubePersistentVolumeErrors": true,
	"KubeletPodStartUpLatencyHigh": true, "TargetDown": true, "BlackboxProbeFailed": true, "ProbeFailed": true,
}

// keyword rules for team-written alert names, checked in order: the first
// whose words all occur in the normalised name wins.
var nameKeywords = []struct {
	words []string
	cat   Category
}{
	{[]string{"oom"}, OOMKilled},
	{[]string{"outofmemory"}, OOMKilled},
	{[]string{"throttl"}, CPUThrottling},
	{[]string{"crashloop"}, PodCrash},
	{[]string{"crash"}, PodCrash},
	{[]string{"imagepull"}, PodPending},
	{[]string{"pending"}, PodPending},
	{[]string{"unschedulable"}, PodPending},
	{[]string{"restart"}, PodRestart},
	{[]string{"dns"}, DNSIssues},
	{[]string{"coredns"}, DNSIssues},
	{[]string{"networkpolicy"}, NetworkPolicy},
	{[]string{"netpol"}, NetworkPolicy},
	{[]string{"diskpressure"}, DiskPressure},
	{[]string{"disk"}, DiskPressure},
	{[]string{"filesystem"}, DiskPressure},
	{[]string{"ephemeral"}, DiskPressure},
	{[]string{"inode"}, DiskPressure},
	{[]string{"node", "notready"}, NodeNotReady},
	{[]string{"node", "down"}, NodeNotReady},
	{[]string{"node", "unreachable"}, NodeNotReady},
	{[]string{"kubelet"}, NodeNotReady},
	{[]string{"noendpoint"}, EndpointMissing},
	{[]string{"endpoint"}, EndpointMissing},
	{[]string{"readyendpoint"}, EndpointMissing},
	{[]string{"notready"}, PodPending},
	{[]string{"probe"}, ServiceDown},
	{[]string{"upstream"}, ServiceDown},
	{[]string{"unavailable"}, ServiceDown},
	{[]string{"5xx"}, ServiceDown},
	{[]string{"errorrate"}, ServiceDown},
	{[]string{"servicedown"}, ServiceDown},
	{[]string{"down"}, ServiceDown},
	{[]string{"cpu"}, CPUThrottling},
	{[]string{"memory"}, OOMKilled},
}

// textKeywords are phrases looked for in labels (reason, etc.) and the
// summary/description annotations when the name says nothing.
var textKeywords = []struct {
	phrase string
	cat    Category
}{
	{"oomkilled", OOMKilled},
	{"out of memory", OOMKilled},
	{"crashloopbackoff", PodCrash},
	{"crash loop", PodCrash},
	{"crashlooping", PodCrash},
	{"imagepullbackoff", PodPending},
	{"errimagepull", PodPending},
	{"createcontainerconfigerror", PodCrash},
	{"throttl", CPUThrottling},
	{"networkpolicy", NetworkPolicy},
	{"network policy", NetworkPolicy},
	{"nxdomain", DNSIssues},
	{"dns", DNSIssues},
	{"diskpressure", DiskPressure},
	{"disk pressure", DiskPressure},
	{"no space left", DiskPressure},
	{"filesystem", DiskPressure},
	{"evicted", DiskPressure},
	{"notready", NodeNotReady},
	{"not ready", PodPending},
	{"no endpoints", EndpointMissing},
	{"no ready endpoints", EndpointMissing},
	{"endpoints", EndpointMissing},
	{"pending", PodPending},
	{"unschedulable", PodPending},
	{"failedscheduling", PodPending},
	{"restart", PodRestart},
	{"liveness", PodRestart},
	{"timed out", NetworkPolicy},
	{"timeout", ServiceDown},
	{"connection refused", ServiceDown},
	{"5xx", ServiceDown},
	{"503", ServiceDown},
	{"502", ServiceDown},
	{"504", ServiceDown},
	{"unreachable", ServiceDown},
	{"down", ServiceDown},
}

// CategorizeByRules categorises an alert from its name, labels and
// annotations alone. It always returns a category; Confidence says how sure
// the rules are (see ConfidentRule).
func CategorizeByRules(a *Alert) Categorization {
	name := a.Name()
	if c, ok := knownAlerts[name]; ok {
		c, why := refineKnown(a, c)
		return Categorization{Category: c, Confidence: exactName, DecidedBy: DecidedByRules,
			Reason:      fmt.Sprintf("alert %s is a known %s alert%s", name, c, why),
			Provisional: symptomAlerts[name] && why == ""}
	}
	n, starts := normaliseWords(name)
	for _, k := range nameKeywords {
		if containsAllAtWordStart(n, starts, k.words) {
			c, why := refineKnown(a, k.cat)
			return Categorization{Category: c, Confidence: keywordName, DecidedBy: DecidedByRules,
				Reason: fmt.Sprintf("alert name %s mentions %q%s", name, strings.Join(k.words, "+"), why)}
		}
	}
	text := strings.ToLower(strings.Join([]string{a.Labels["reason"], a.Annotations["summary"],
		a.Annotations["description"], a.Annotations["message"]}, " "))
	for _, k := range textKeywords {
		if strings.Contains(text, k.phrase) {
			return Categorization{Category: k.cat, Confidence: keywordText, DecidedBy: DecidedByRules,
				Reason: fmt.Sprintf("alert text mentions %q", k.phrase)}
		}
	}
	t := TargetFromLabels(a.Labels)
	return Categorization{Category: guessByTarget(t), Confidence: defaultGuess, DecidedBy: DecidedByRules,
		Reason: fmt.Sprintf("no rule matched alert %s; guessed from its %s target", name, orNone(string(t.Kind)))}
}

// refineKnown adjusts a category using the alert's reason label and text,
// e.g. KubePodNotReady whose reason is CrashLoopBackOff, or
// KubeContainerWaiting with reason ImagePullBackOff.
func refineKnown(a *Alert, c Category) (Category, string) {
	reason := strings.ToLower(a.Labels["reason"])
	switch {
	case reason == "oomkilled":
		return OOMKilled, " (reason OOMKilled)"
	case reason == "crashloopbackoff" && c != OOMKilled:
		return PodCrash, " (reason CrashLoopBackOff)"
	case reason == "imagepullbackoff" || reason == "errimagepull":
		return PodPending, " (reason " + a.Labels["reason"] + ")"
	case reason == "createcontainerconfigerror":
		return PodCrash, " (reason CreateContainerConfigError)"
	}
	// A node condition alert (kube_node_status_condition) names the
	// condition: memory pressure evicts pods for memory, PID pressure
	// stops the node from starting processes.
	if c == DiskPressure || c == NodeNotReady {
		switch a.Labels["condition"] {
		case "MemoryPressure":
			return OOMKilled, " (condition MemoryPressure)"
		case "PIDPressure":
			return NodeNotReady, " (condition PIDPressure)"
		case "DiskPressure":
			return DiskPressure, " (condition DiskPressure)"
		}
	}
	return c, ""
}

// normaliseWords lower-cases an alert name and drops its separators, and
// reports where each of its words starts in the result: a new word begins
// after a separator, at an upper-case letter following a lower-case one,
// at the last capital of an acronym followed by lower case ("CDNSlow" →
// cdn slow), and where letters and digits meet ("HTTP5xx" → http 5xx).
func normaliseWords(name string) (string, map[int]bool) {
	var b strings.Builder
	starts := map[int]bool{}
	r := []rune(name)
	kind := func(c rune) int {
		switch {
		case unicode.IsUpper(c):
			return 1
		case unicode.IsLower(c):
			return 2
		case unicode.IsDigit(c):
			return 3
		}
		return 0
	}
	newWord := true
	for i, c := range r {
		k := kind(c)
		if k == 0 {
			newWord = true
			continue
		}
		if i > 0 && !newWord {
			p := kind(r[i-1])
			switch {
			case k == 1 && p != 1, // fooBar
				k == 1 && i+1 < len(r) && kind(r[i+1]) == 2, // CDNSlow
				(k == 3) != (p == 3):                        // HTTP5xx
				newWord = true
			}
		}
		if newWord {
			starts[b.Len()] = true
			newWord = false
		}
		b.WriteRune(unicode.ToLower(c))
	}
	return b.String(), starts
}

// containsAllAtWordStart reports whether every keyword occurs in s starting
// at the start of a word, so that "oom" matches KubePodOOMKilled but not
// ZoomIntegrationDown.
func containsAllAtWordStart(s string, starts map[int]bool, words []string) bool {
	for _, w := range words {
		found := false
		for off := 0; off <= len(s)-len(w); {
			i := strings.Index(s[off:], w)
			if i < 0 {
				break
			}
			if starts[off+i] {
				found = true
				break
			}
			off += i + 1
		}
		if !found {
			return false
		}
	}
	return true
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

// guessByTarget is the category to start from when nothing but the
// target's kind is known; the evidence may correct it.
func guessByTarget(t Target) Category {
	switch t.Kind {
	case KindNode, KindPodDisruptionBudget:
		return NodeNotReady // a budget at its limit blocks node drains
	case KindService:
		return ServiceDown
	}
	return PodCrash
}
