package k8s

import (
	"context"
	"errors"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

const (
	// maxAgentNodes bounds the nodes whose network agent is read.
	maxAgentNodes = 2
	// maxAgentsPerNode bounds the agent pods read per node.
	maxAgentsPerNode = 1
)

// cniHostPaths are the host directories a CNI plugin's agent writes: the
// CNI configuration the runtime reads and the plugin binaries it calls.
var cniHostPaths = []string{"/etc/cni/net.d", "/opt/cni/bin", "/etc/cni", "/var/lib/cni"}

// collectNetworkAgents follows a pod whose sandbox cannot be created to
// the agent of the node's pod network. The runtime calls the CNI plugin,
// whose agent runs as a DaemonSet pod on every node: when a pod of the
// graph is bound to a node and still waits in ContainerCreating (no
// container started yet), the pods on that node are listed and the
// network agent among them is recognised by its shape, not its name — a
// hostNetwork DaemonSet pod that mounts the CNI host directories
// (/etc/cni/net.d, /opt/cni/bin) or holds the NET_ADMIN capability. It
// joins RelatedPods and its current log is read: the agent says why it
// cannot hand out an address (an exhausted subnet or IP pool).
func collectNetworkAgents(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	var nodes []string
	for _, p := range append(pods, related...) {
		if p.Spec.NodeName != "" && sandboxPending(&p) && !slices.Contains(nodes, p.Spec.NodeName) && len(nodes) < maxAgentNodes {
			nodes = append(nodes, p.Spec.NodeName)
		}
	}
	var errs []error
	var agents []corev1.Pod
	for _, node := range nodes {
		onNode, err := r.podsOnNode(ctx, node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var cands []corev1.Pod
		for _, p := range onNode {
			if networkAgentScore(&p) > 0 {
				cands = append(cands, p)
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return networkAgentScore(&cands[i]) > networkAgentScore(&cands[j]) })
		if len(cands) > maxAgentsPerNode {
			cands = cands[:maxAgentsPerNode]
		}
		agents = append(agents, cands...)
	}
	if len(agents) == 0 {
		return errors.Join(errs...)
	}
	r.addRelated(agents...)
	var reqs []logRequest
	for _, a := range agents {
		for _, cs := range a.Status.ContainerStatuses {
			if cs.State.Running != nil || cs.State.Terminated != nil {
				reqs = append(reqs, logRequest{ns: a.Namespace, pod: a.Name, container: cs.Name})
			}
		}
	}
	r.addLogs(r.readLogs(ctx, "network-agents", reqs))
	return errors.Join(errs...)
}

// sandboxPending reports whether the pod is bound to a node and none of
// its containers has started: the state in which the runtime is still
// creating (or failing to create) its sandbox.
func sandboxPending(p *corev1.Pod) bool {
	if p.Status.Phase != corev1.PodPending || p.Spec.HostNetwork {
		return false
	}
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if cs.State.Running != nil || cs.State.Terminated != nil || cs.LastTerminationState.Terminated != nil {
			return false
		}
		if cs.State.Waiting != nil && cs.State.Waiting.Reason != "ContainerCreating" && cs.State.Waiting.Reason != "PodInitializing" {
			return false
		}
	}
	return true
}

// networkAgentScore rates how surely a pod is the node's pod-network
// agent: 0 unless it is a hostNetwork DaemonSet pod; then 3 when it
// mounts a CNI host directory, 2 when a container holds NET_ADMIN, 1 when
// a container is privileged (kube-proxy and other node agents look so).
func networkAgentScore(p *corev1.Pod) int {
	ref := controllerOf(p)
	if !p.Spec.HostNetwork || ref == nil || ref.Kind != "DaemonSet" {
		return 0
	}
	for _, v := range p.Spec.Volumes {
		if v.HostPath == nil {
			continue
		}
		for _, dir := range cniHostPaths {
			if strings.TrimSuffix(v.HostPath.Path, "/") == dir {
				return 3
			}
		}
	}
	score := 0
	for _, c := range append(slices.Clone(p.Spec.InitContainers), p.Spec.Containers...) {
		sc := c.SecurityContext
		if sc == nil {
			continue
		}
		if sc.Capabilities != nil && slices.Contains(sc.Capabilities.Add, "NET_ADMIN") {
			score = max(score, 2)
		}
		if sc.Privileged != nil && *sc.Privileged {
			score = max(score, 1)
		}
	}
	return score
}
