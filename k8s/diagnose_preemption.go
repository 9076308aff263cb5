package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// rePreemptedBy reads the scheduler's Preempted event: "Preempted by pod
// <uid> on node <node>" (older schedulers: "by <ns>/<name> on node").
var rePreemptedBy = regexp.MustCompile(`(?i)preempted by (?:pod )?(\S+) on node (\S+)`)

// diagnosePreemption reports pods evicted to make room for a pod of higher
// priority: the scheduler's Preempted events (the preemptor in their
// related object or by UID), a DisruptionTarget condition with reason
// PreemptionByScheduler, or the kubelet's critical-pod preemption
// (status.reason Preempting). The finding names the victims' workload, the
// preemptor with its priorityClassName and priority, the node, and the
// victims' replacements that now stay Pending.
func diagnosePreemption(d *diag) []investigate.Finding {
	type group struct {
		preemptor        string // ns/name or uid
		pod              *corev1.Pod
		node, ns, owner  string
		victims, proof   []string
		kubelet          bool
		victimPriorities []int32
	}
	var order []string
	groups := map[string]*group{}
	get := func(key string) *group {
		g := groups[key]
		if g == nil {
			g = &group{preemptor: key}
			groups[key] = g
			order = append(order, key)
		}
		return g
	}
	for i := range d.s.Events {
		e := &d.s.Events[i]
		if e.Reason != "Preempted" || e.InvolvedObject.Kind != "Pod" {
			continue
		}
		m := rePreemptedBy.FindStringSubmatch(e.Message)
		key, node := "", ""
		if m != nil {
			key, node = m[1], m[2]
		}
		var pre *corev1.Pod
		if e.Related != nil && e.Related.Kind == "Pod" {
			ns := e.Related.Namespace
			if ns == "" {
				ns = e.InvolvedObject.Namespace
			}
			pre = d.podByName(ns, e.Related.Name)
			if key == "" || pre != nil {
				key = ns + "/" + e.Related.Name
			}
		}
		if pre == nil && key != "" {
			pre = d.podByUID(key)
			if pre != nil {
				key = podKey(pre)
			}
		}
		if key == "" {
			key = "?"
		}
		g := get(key)
		if pre != nil {
			g.pod = pre
		}
		if node != "" {
			g.node = node
		}
		g.ns = e.InvolvedObject.Namespace
		g.victims = appendUnique(g.victims, e.InvolvedObject.Name)
		g.proof = appendUnique(g.proof, "pod "+e.InvolvedObject.Namespace+"/"+e.InvolvedObject.Name+": "+evProof(e))
	}
	for _, p := range d.pods {
		byKubelet := p.Status.Reason == "Preempting"
		cond := false
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue && strings.HasPrefix(c.Reason, "Preemption") {
				cond = true
			}
		}
		if !byKubelet && !cond {
			continue
		}
		key := "kubelet"
		if cond && !byKubelet {
			key = "scheduler"
		}
		g := groups[key]
		if g == nil && len(order) > 0 && !byKubelet {
			g = groups[order[0]] // the events already name the preemptor
		}
		if g == nil {
			g = get(key)
		}
		g.kubelet = g.kubelet || byKubelet
		g.ns = p.Namespace
		g.node = orPlaceholder(g.node, p.Spec.NodeName)
		g.victims = appendUnique(g.victims, p.Name)
		line := "pod " + podKey(p) + ": status.reason " + p.Status.Reason + " " + p.Status.Message
		for _, c := range p.Status.Conditions {
			if c.Type == corev1.DisruptionTarget && c.Status == corev1.ConditionTrue {
				line = fmt.Sprintf("pod %s condition DisruptionTarget=True reason=%s: %s", podKey(p), c.Reason, c.Message)
			}
		}
		g.proof = appendUnique(g.proof, strings.TrimSpace(line))
		if p.Spec.Priority != nil {
			g.victimPriorities = append(g.victimPriorities, *p.Spec.Priority)
		}
	}
	var out []investigate.Finding
	for _, key := range order {
		g := groups[key]
		out = append(out, d.preemptionFinding(g.ns, g.node, g.victims, g.proof, g.pod, key, g.kubelet))
	}
	return out
}

func (d *diag) preemptionFinding(ns, node string, victims, proof []string, pre *corev1.Pod, key string, kubelet bool) investigate.Finding {
	// The victims' workload and its pods that wait now.
	owner := ""
	var waiting []*corev1.Pod
	var victimPrio string
	for _, p := range d.pods {
		if p.Namespace != ns {
			continue
		}
		for _, v := range victims {
			if sameController(p.Name, v) {
				if owner == "" {
					owner = workloadOrPod(p)
				}
				if p.Spec.Priority != nil && victimPrio == "" {
					victimPrio = fmt.Sprint(*p.Spec.Priority)
					if p.Spec.PriorityClassName != "" {
						victimPrio = fmt.Sprintf("%s (priorityClassName %s)", victimPrio, p.Spec.PriorityClassName)
					}
				}
				if p.Status.Phase == corev1.PodPending && p.Spec.NodeName == "" && !containsPodPtr(waiting, p) {
					waiting = append(waiting, p)
				}
			}
		}
	}
	victimsText := fmt.Sprintf("%d pod(s) of %s", len(victims), orPlaceholder(owner, "namespace "+ns))
	if len(victims) <= 3 {
		victimsText += " (" + strings.Join(victims, ", ") + ")"
	}
	onNode := ""
	if node != "" {
		onNode = " on node " + node
	}
	who := "a pod of higher priority"
	objects := []string{}
	switch {
	case pre != nil:
		who = "pod " + podKey(pre)
		if o := workloadOrPod(pre); !strings.HasPrefix(o, "pod/") {
			who += " (" + o + ")"
		}
		var attrs []string
		if pre.Spec.PriorityClassName != "" {
			attrs = append(attrs, "PriorityClass "+pre.Spec.PriorityClassName)
		}
		if pre.Spec.Priority != nil {
			attrs = append(attrs, fmt.Sprintf("priority %d", *pre.Spec.Priority))
		}
		if len(attrs) > 0 {
			who += " of " + strings.Join(attrs, ", ")
		}
		objects = append(objects, podRef(pre))
		proof = append(proof, fmt.Sprintf("preemptor %s: priorityClassName %s, priority %s, node %s", podKey(pre), orPlaceholder(pre.Spec.PriorityClassName, "(none)"), prioText(pre.Spec.Priority), orPlaceholder(pre.Spec.NodeName, "(not bound; nominatedNodeName "+orPlaceholder(pre.Status.NominatedNodeName, "none")+")")))
	case kubelet:
		who = "a critical pod the kubelet had to admit"
	case key != "?" && key != "scheduler":
		who = "pod " + key + " (a pod of higher priority)"
	}
	by := "the scheduler preempted"
	if kubelet {
		by = "the kubelet preempted"
	}
	sum := fmt.Sprintf("Priority preemption: %s %s%s to make room for %s", by, victimsText, onNode, who)
	if victimPrio != "" {
		sum += "; the victims run at priority " + victimPrio
	}
	if len(waiting) > 0 {
		msg := scheduledMessage(waiting[0])
		sum += fmt.Sprintf(". Their replacements (%s) stay Pending", joinPodNames(waiting))
		if msg != "" {
			sum += ": " + strings.TrimRight(clip(msg, 160), ". ")
		}
		for _, w := range waiting {
			objects = append(objects, podRef(w))
		}
	}
	sum += "."
	f := investigate.Finding{
		Rule: "pod-preempted", Severity: investigate.FindingCritical, Score: scoreRootCause, Category: investigate.PodPending,
		Summary: sum,
		Detail:  "When a pod cannot be scheduled, the scheduler may evict (preempt) pods of lower priority — spec.priority, set from the pod's priorityClassName — to free a node for it, unless its PriorityClass has preemptionPolicy Never. The evicted pods' controllers recreate them, but the capacity now belongs to the higher-priority pod, so the replacements stay Pending until capacity frees up.",
		Objects: objects, Proof: proof,
		Actions: []string{
			"kubectl get priorityclass   # values, globalDefault and preemptionPolicy",
			fmt.Sprintf("kubectl get pods -A -o custom-columns=NS:.metadata.namespace,NAME:.metadata.name,PRIO:.spec.priority,CLASS:.spec.priorityClassName,NODE:.spec.nodeName --sort-by=.spec.priority | tail   # who holds %s", orPlaceholder(node, "the nodes")),
			"Give the preempted workload a PriorityClass of its own (above batch work), set preemptionPolicy: Never on PriorityClasses meant for batch queues, or add capacity (cluster autoscaler) for the high-priority work.",
		},
		Impact:     fmt.Sprintf("%s lost pods to preemption and cannot get them back while the higher-priority pod holds the capacity.", orPlaceholder(owner, "namespace "+ns)),
		Prevention: "Reserve high PriorityClass values for what must displace everything else; give serving workloads a PriorityClass above batch jobs, and limit who may use high classes (ResourceQuota scopeSelector on PriorityClass).",
	}
	return f
}

// sameController reports whether two pod names share the generated prefix
// of one controller ("<rs>-<suffix>", "<job>-<suffix>").
func sameController(a, b string) bool {
	i, j := strings.LastIndexByte(a, '-'), strings.LastIndexByte(b, '-')
	return i > 0 && j > 0 && a[:i] == b[:j]
}

func (d *diag) podByName(ns, name string) *corev1.Pod {
	for _, p := range d.pods {
		if p.Namespace == ns && p.Name == name {
			return p
		}
	}
	return nil
}

func (d *diag) podByUID(uid string) *corev1.Pod {
	for _, p := range d.pods {
		if string(p.UID) == uid {
			return p
		}
	}
	return nil
}

func prioText(p *int32) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

func joinPodNames(ps []*corev1.Pod) string {
	var names []string
	for _, p := range ps {
		names = append(names, p.Name)
	}
	return strings.Join(names, ", ")
}
