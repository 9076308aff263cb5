package k8s

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// diagnoseNodes reports nodes that are NotReady or under pressure, with the
// kubelet's message, the heartbeat, taints and the pods affected.
func diagnoseNodes(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if c := nodeCondition(n, corev1.NodeReady); c != nil && c.Status != corev1.ConditionTrue {
			out = append(out, d.nodeNotReady(n, c))
		}
		for _, t := range []corev1.NodeConditionType{corev1.NodeDiskPressure, corev1.NodeMemoryPressure, corev1.NodePIDPressure, corev1.NodeNetworkUnavailable} {
			if c := nodeCondition(n, t); c != nil && c.Status == corev1.ConditionTrue {
				out = append(out, d.nodePressure(n, c))
			}
		}
	}
	return out
}

func (d *diag) podsOnNode(node string) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range d.pods {
		if p.Spec.NodeName == node {
			out = append(out, p)
		}
	}
	return out
}

func (d *diag) nodeNotReady(n *corev1.Node, c *corev1.NodeCondition) investigate.Finding {
	hb := c.LastHeartbeatTime.UTC().Format("2006-01-02T15:04:05Z")
	proof := []string{fmt.Sprintf("node %s condition Ready=%s reason=%s: %s (lastHeartbeatTime %s, lastTransitionTime %s)",
		n.Name, c.Status, c.Reason, c.Message, hb, c.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z"))}
	lease := d.s.nodeLease(n.Name)
	if lease != nil {
		proof = append(proof, fmt.Sprintf("lease %s/%s: %s", lease.Namespace, lease.Name, leaseState(lease)))
	}
	var taints []string
	for _, t := range n.Spec.Taints {
		taints = append(taints, t.Key+":"+string(t.Effect))
	}
	if len(taints) > 0 {
		proof = append(proof, fmt.Sprintf("node %s taints: %s", n.Name, strings.Join(taints, ", ")))
	}
	for _, e := range d.events[objKey{"Node", "", n.Name}] {
		proof = appendUnique(proof, "node "+n.Name+": "+evProof(e))
	}
	var terminating, affected []string
	for _, p := range d.podsOnNode(n.Name) {
		affected = append(affected, podKey(p))
		if isTerminating(p) {
			terminating = append(terminating, podKey(p))
		}
		for _, e := range d.eventsWithReason(p, "TaintManagerEviction") {
			proof = appendUnique(proof, fmt.Sprintf("%s: %s", p.Name, evProof(e)))
		}
	}
	sum := fmt.Sprintf("Node %s is NotReady (Ready=%s, %s): %s", n.Name, c.Status, c.Reason, strings.TrimSuffix(c.Message, "."))
	if c.Status == corev1.ConditionUnknown {
		sum += fmt.Sprintf(" — the kubelet stopped reporting; last heartbeat %s", hb)
	}
	var detail []string
	if c.Status == corev1.ConditionUnknown {
		detail = append(detail, "Ready=Unknown means the control plane has not heard from the node's kubelet: the kubelet or container runtime stopped, the node is down, or it lost its network path to the API server.")
	}
	if lease != nil && lease.Spec.RenewTime != nil {
		renewed := lease.Spec.RenewTime.Time
		switch {
		case c.Status == corev1.ConditionUnknown && !renewed.After(c.LastTransitionTime.Add(time.Minute)):
			detail = append(detail, fmt.Sprintf("Its kubelet last renewed its node lease at %s, and not since: the kubelet itself stopped (or lost the API server), not just its status reports.", renewed.UTC().Format(time.RFC3339)))
		case renewed.After(c.LastTransitionTime.Time):
			detail = append(detail, fmt.Sprintf("Its kubelet is alive: it renewed its node lease at %s, after the node turned NotReady (%s), so the kubelet runs and reports the node not ready; its message names the failing part (container runtime, network plugin, PLEG).",
				renewed.UTC().Format(time.RFC3339), c.LastTransitionTime.UTC().Format(time.RFC3339)))
		}
	}
	for _, t := range n.Spec.Taints {
		if t.Key == "node.kubernetes.io/unreachable" || t.Key == "node.kubernetes.io/not-ready" {
			detail = append(detail, fmt.Sprintf("The node controller tainted it %s (%s); pods without a longer toleration are evicted after their tolerationSeconds (300 s by default).", t.Key, t.Effect))
			break
		}
	}
	if len(terminating) > 0 {
		detail = append(detail, fmt.Sprintf("Pods marked for deletion but stuck Terminating because the kubelet cannot confirm: %s. StatefulSet pods are not replaced until they are gone.", strings.Join(terminating, ", ")))
	}
	return investigate.Finding{
		Rule: "node-not-ready", Severity: investigate.FindingCritical, Score: scoreRootCause,
		Summary: sum + ".", Detail: strings.Join(detail, " "), Objects: append([]string{"node/" + n.Name}, podRefsByName(affected)...), Proof: proof,
		Actions:    nodeNotReadyActions(n.Name, c, lease),
		Prevention: "Monitor kubelet health and node heartbeats, keep replicas spread across nodes (topologySpreadConstraints, PodDisruptionBudgets), and use node auto-repair where available.",
		Impact:     fmt.Sprintf("Pods on %s (%d known) are unreachable: %s.", n.Name, len(affected), joinNames(affected)),
	}
}

func podRefsByName(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "pod/" + n
	}
	return out
}

var (
	reVerboseLog = regexp.MustCompile(`(?i)(log[-_.]?level|verbosity|loglevel)[=: ]+"?(trace|debug|all|verbose)|(^|\s)(-v=?[4-9]|--debug|--verbose|--trace)\b`)
	reLogFile    = regexp.MustCompile(`(?i)--?(log[-_.]?(file|dir|path)|logfile)[= ]+(\S+)`)
)

func (d *diag) nodePressure(n *corev1.Node, c *corev1.NodeCondition) investigate.Finding {
	proof := []string{fmt.Sprintf("node %s condition %s=True reason=%s: %s (since %s)", n.Name, c.Type, c.Reason, c.Message, c.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z"))}
	for _, t := range n.Spec.Taints {
		if strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			proof = appendUnique(proof, fmt.Sprintf("node %s taint %s:%s", n.Name, t.Key, t.Effect))
		}
	}
	for _, e := range d.events[objKey{"Node", "", n.Name}] {
		proof = appendUnique(proof, "node "+n.Name+": "+evProof(e))
	}
	var evicted []string
	for _, p := range d.podsOnNode(n.Name) {
		if p.Status.Reason == "Evicted" {
			evicted = append(evicted, podKey(p))
			for _, e := range d.eventsWithReason(p, "Evicted") {
				proof = appendUnique(proof, fmt.Sprintf("%s: %s", podKey(p), evProof(e)))
			}
		}
	}
	var what, res string
	f := investigate.Finding{Severity: investigate.FindingCritical, Score: scoreRootCause - 5, Objects: []string{"node/" + n.Name}}
	switch c.Type {
	case corev1.NodeDiskPressure:
		what, res, f.Rule = "disk pressure (DiskPressure): its root filesystem (nodefs) or image filesystem is nearly full", "ephemeral-storage", "node-disk-pressure"
	case corev1.NodeMemoryPressure:
		what, res, f.Rule = "memory pressure (MemoryPressure): available memory is below the kubelet's eviction threshold", "memory", "node-memory-pressure"
	case corev1.NodePIDPressure:
		what, res, f.Rule = "PID pressure (PIDPressure): too many processes are running", "pids", "node-pid-pressure"
	default:
		what, res, f.Rule = "NetworkUnavailable: the node's pod network (CNI) is not configured", "", "node-network-unavailable"
	}
	f.Summary = fmt.Sprintf("Node %s has %s", n.Name, what)
	var detail []string
	if eps := d.evictedOnNode(n.Name, c.Type); len(eps) > 0 {
		who := describeEvicted(eps)
		if c.Type == corev1.NodeMemoryPressure {
			f.Summary = fmt.Sprintf("Node %s has %s; the kubelet evicted %s", n.Name, what, who)
		}
		if th := eps[0].ev.threshold; th != "" {
			detail = append(detail, fmt.Sprintf("Eviction threshold %s, available %s.", humanQty(th), humanQty(eps[0].ev.available)))
		}
		if qosClass(eps[0].p) == corev1.PodQOSBestEffort {
			detail = append(detail, "BestEffort pods have no request for the scheduler to reserve and are the first the kubelet evicts: pods without memory requests were packed onto the node beyond what it can hold.")
		}
		if c.Type != corev1.NodeMemoryPressure {
			detail = append(detail, fmt.Sprintf("The kubelet is evicting pods to reclaim %s: %s.", res, who))
		}
	} else if len(evicted) > 0 {
		detail = append(detail, fmt.Sprintf("The kubelet is evicting pods to reclaim %s: %s were evicted.", res, strings.Join(evicted, ", ")))
	}
	if c.Type == corev1.NodePIDPressure {
		d.explainPIDPressure(n, &f, &proof, &detail)
	}
	if c.Type == corev1.NodeDiskPressure {
		if gc := d.imageGCFailures(n.Name); len(gc) > 0 {
			proof = appendUnique(proof, gc...)
			detail = append(detail, "Image garbage collection cannot free enough (ImageGCFailed/FreeDiskSpaceFailed): the space is not held by unused images but by running containers' writable layers, their logs or emptyDir volumes.")
		}
		sus := d.diskConsumers(n.Name)
		if eps := d.evictedOnNode(n.Name, c.Type); len(sus) == 0 && len(eps) > 0 && len(eps[0].ev.uses) > 0 {
			f.Summary += fmt.Sprintf("; the largest consumers were %s, evicted for it", describeEvicted(eps))
		}
		if len(sus) > 0 {
			f.Summary += fmt.Sprintf("; the likely consumer is pod %s (%s)", sus[0].name, strings.Join(sus[0].why, ", "))
			f.Objects = append(f.Objects, "pod/"+sus[0].name)
			proof = append(proof, sus[0].proof...)
			if len(evicted) > 0 {
				detail = append(detail, fmt.Sprintf("The evicted pods used little ephemeral storage each, so evicting them does not free the disk while %s keeps writing.", sus[0].name))
			}
			if sus[0].priority != "" {
				detail = append(detail, fmt.Sprintf("%s has priorityClassName %s, so the kubelet evicts it last.", sus[0].name, sus[0].priority))
			}
			for _, s := range sus[1:] {
				detail = append(detail, fmt.Sprintf("Also writing locally: %s (%s).", s.name, strings.Join(s.why, ", ")))
			}
			ns, name, _ := strings.Cut(sus[0].name, "/")
			if sus[0].hostBuffer {
				f.Actions = append(f.Actions, hostBufferActions(ns, name, n.Name)...)
			} else {
				f.Actions = append(f.Actions,
					fmt.Sprintf("kubectl delete pod -n %s %s   # or lower its log level / write logs to stdout; it frees the space its writable layer holds", ns, name))
			}
		}
	}
	f.Summary += "."
	f.Detail = strings.Join(detail, " ")
	f.Proof = proof
	f.Objects = append(f.Objects, podRefsByName(evicted)...)
	f.Actions = append(f.Actions,
		fmt.Sprintf("kubectl describe node %s", n.Name),
		fmt.Sprintf("kubectl get pods -A --field-selector spec.nodeName=%s -o wide", n.Name))
	if c.Type == corev1.NodeDiskPressure {
		f.Actions = append(f.Actions, "On the node: df -h / /var/lib/containerd; du -xsh /var/lib/containerd/* /var/log/* | sort -h | tail   # what fills the disk",
			"crictl rmi --prune   # if unused images fill the image filesystem")
		f.Prevention = "Set ephemeral-storage requests/limits (and emptyDir sizeLimit) so the kubelet evicts the writer, not its neighbours; log to stdout with rotation instead of files in the container; alert on node filesystem usage before the eviction threshold."
	} else {
		f.Prevention = "Set requests and limits that reflect real usage so pods are not overcommitted on a node; alert on node resource usage before the kubelet's eviction thresholds."
	}
	f.Impact = fmt.Sprintf("Node %s is tainted against new pods and its pods are being evicted.", n.Name)
	return f
}

type diskSuspect struct {
	name, priority string
	score          int
	why, proof     []string
	// hostBuffer is set when the pod buffers to the host disk (a
	// hostPath or emptyDir) because its destination refuses its output.
	hostBuffer bool
}

// diskConsumers ranks running pods on the node that are likely to fill its
// disk: verbose logging to files in the container filesystem, no
// ephemeral-storage limit, hand-made pods.
func (d *diag) diskConsumers(node string) []diskSuspect {
	var out []diskSuspect
	for _, p := range d.podsOnNode(node) {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		s := diskSuspect{name: podKey(p), priority: p.Spec.PriorityClassName}
		for _, c := range p.Spec.Containers {
			args := strings.Join(append(append([]string{}, c.Command...), c.Args...), " ")
			var env []string
			for _, e := range c.Env {
				env = append(env, e.Name+"="+e.Value)
			}
			all := args + " " + strings.Join(env, " ")
			if m := reVerboseLog.FindString(all); m != "" {
				s.score += 2
				s.why = append(s.why, "verbose logging "+strings.TrimSpace(m))
			}
			if m := reLogFile.FindStringSubmatch(args); m != nil && !underMount(c, m[3]) {
				s.score += 2
				s.why = append(s.why, "writes its log file "+m[3]+" into the container filesystem")
			}
			if len(s.why) > 0 {
				s.proof = append(s.proof, fmt.Sprintf("%s container %s args: %s", podKey(p), c.Name, clip(args, 300)))
			}
			if _, ok := c.Resources.Limits[corev1.ResourceEphemeralStorage]; !ok && s.score > 0 {
				s.score++
				s.why = append(s.why, "no ephemeral-storage limit")
			}
		}
		if sc, why, proof := d.hostDiskWriter(p); sc > 0 {
			s.score += sc
			s.why = append(s.why, why...)
			s.proof = append(s.proof, proof...)
			s.hostBuffer = true
		}
		if s.score == 0 {
			continue
		}
		if len(p.OwnerReferences) == 0 {
			s.score++
			s.why = append(s.why, "a hand-made pod without a controller")
		}
		if s.priority != "" {
			s.proof = append(s.proof, fmt.Sprintf("%s priorityClassName: %s", podKey(p), s.priority))
		}
		if s.score >= 3 {
			out = append(out, s)
		}
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].score > out[j-1].score; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// underMount reports whether path lies on a volume mounted into c.
func underMount(c corev1.Container, path string) bool {
	for _, vm := range c.VolumeMounts {
		if strings.HasPrefix(path, strings.TrimSuffix(vm.MountPath, "/")+"/") {
			return true
		}
	}
	return false
}

// nodeLease returns the kubelet Lease of node name, nil when not read.
func (s *Snapshot) nodeLease(name string) *coordinationv1.Lease {
	for i := range s.NodeLeases {
		if s.NodeLeases[i].Name == name {
			return &s.NodeLeases[i]
		}
	}
	return nil
}

// leaseState renders a node lease's heartbeat.
func leaseState(l *coordinationv1.Lease) string {
	renewed := "never renewed"
	if l.Spec.RenewTime != nil {
		renewed = "renewed " + l.Spec.RenewTime.UTC().Format(time.RFC3339)
	}
	holder, secs := "", int32(0)
	if l.Spec.HolderIdentity != nil {
		holder = *l.Spec.HolderIdentity
	}
	if l.Spec.LeaseDurationSeconds != nil {
		secs = *l.Spec.LeaseDurationSeconds
	}
	return fmt.Sprintf("%s (holder %s, duration %ds)", renewed, holder, secs)
}

// nodeNotReadyActions are the next steps for a NotReady node: for a
// kubelet that still reports (Ready=False, or a lease renewed after the
// transition) they follow the part its message names; for a silent one
// they start at the machine and the kubelet.
func nodeNotReadyActions(node string, c *corev1.NodeCondition, lease *coordinationv1.Lease) []string {
	alive := c.Status == corev1.ConditionFalse ||
		(lease != nil && lease.Spec.RenewTime != nil && lease.Spec.RenewTime.After(c.LastTransitionTime.Time))
	acts := []string{fmt.Sprintf("kubectl describe node %s", node)}
	if !alive {
		return append(acts,
			"On the node: systemctl status kubelet containerd; journalctl -u kubelet --since '-1h'   # why the kubelet stopped posting status",
			"Check the machine in the cloud console (stopped, failed status checks, network).",
			fmt.Sprintf("If the node is gone for good: kubectl drain %s --ignore-daemonsets --delete-emptydir-data --force, then kubectl delete node %s", node, node),
		)
	}
	msg := strings.ToLower(c.Message)
	switch {
	case strings.Contains(msg, "network") || strings.Contains(msg, "cni"):
		acts = append(acts,
			fmt.Sprintf("kubectl get pods -A -o wide --field-selector spec.nodeName=%s   # the network plugin's agent (a DaemonSet pod) on this node must be Running and Ready", node),
			"On the node: ls /etc/cni/net.d; journalctl -u kubelet --since '-1h' | grep -i cni   # the CNI config is written by that agent once it starts")
	case strings.Contains(msg, "runtime") || strings.Contains(msg, "pleg"):
		acts = append(acts, "On the node: systemctl status containerd; crictl info; journalctl -u containerd --since '-1h'   # the kubelet runs but its container runtime does not answer")
	default:
		acts = append(acts, "On the node: journalctl -u kubelet --since '-1h'   # the kubelet runs and says why it reports NotReady")
	}
	return acts
}

// imageGCFailures returns the node's image garbage collection failures
// as proof lines.
func (d *diag) imageGCFailures(node string) []string {
	var out []string
	for _, e := range d.events[objKey{"Node", "", node}] {
		if e.Reason == "ImageGCFailed" || e.Reason == "FreeDiskSpaceFailed" {
			out = append(out, "node "+node+": "+evProof(e))
		}
	}
	return out
}
