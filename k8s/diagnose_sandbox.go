package k8s

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	// reCNIPlugin finds the CNI plugin a sandbox error names: the
	// runtime's `plugin type="calico"`, or a known plugin's own words.
	reCNIPlugin   = regexp.MustCompile(`plugin type="([^"]+)"`)
	reCNIKnown    = regexp.MustCompile(`(?i)\b(calico|cilium|flannel|weave|aws-cni|aws-node|vpc-cni|azure-vnet|azure-cni|antrea|kube-router|ovn-kubernetes|kindnet|canal|multus|gke|amazon-vpc-cni)\b`)
	reCNINoIP     = regexp.MustCompile(`(?i)no ip addresses available|failed to (?:assign|allocate) an? ip|no (?:more )?free (?:ips?|addresses|affinity blocks)|ipam.{0,60}(?:exhaust|no ips|full|failed to allocate)|insufficient (?:free )?ip|ip (?:pool|range).{0,40}(?:exhausted|full)|range set|no available ip|failed to request ipv[46] address|ip address(?:es)? (?:are )?exhausted|InsufficientFreeAddressesInSubnet`)
	reCNINotReady = regexp.MustCompile(`(?i)cni config uninitialized|cni plugin not initialized|network plugin is not ready|networkpluginnotready|no networks found in|failed to find plugin|unable to connect to cilium|dial unix [^ ]*(?:cilium|calico|cni)[^ ]*|connection is unauthorized|error getting clusterinformation|no such file or directory.{0,40}cni|networkready=false`)
	reCNIRange    = regexp.MustCompile(`(?i)range set:?\s*([0-9a-f.:/-]+)|subnet[ -]([\w-]+)|pool ([\w./-]+)`)
)

// diagnoseSandboxes reports pods whose sandbox the runtime cannot create
// (FailedCreatePodSandBox): the CNI plugin cannot assign an IP (the node's
// range or the subnet/IP pool is exhausted) or is not ready on the node.
// Pods of one node and failure class become one finding naming the node
// and the plugin.
func diagnoseSandboxes(d *diag) []investigate.Finding {
	type key struct{ class, node, cni string }
	var order []key
	seen := map[key]*investigate.Finding{}
	pods := map[key]int{}
	for _, p := range d.pods {
		for _, e := range d.eventsWithReason(p, "FailedCreatePodSandBox", "NetworkNotReady") {
			class := "other"
			switch {
			case reCNINoIP.MatchString(e.Message):
				class = "no-ip"
			case reCNINotReady.MatchString(e.Message) || e.Reason == "NetworkNotReady":
				class = "not-ready"
			}
			cni := ""
			if m := reCNIPlugin.FindStringSubmatch(e.Message); m != nil {
				cni = m[1]
			} else if m := reCNIKnown.FindStringSubmatch(e.Message); m != nil {
				cni = strings.ToLower(m[1])
			}
			k := key{class, p.Spec.NodeName, cni}
			f := seen[k]
			if f == nil {
				f = d.sandboxFinding(p, e, class, cni)
				seen[k] = f
				order = append(order, k)
			}
			if !slices.Contains(f.Objects, podRef(p)) {
				pods[k]++
			}
			f.Objects = appendUnique(f.Objects, podRef(p))
			f.Proof = appendUnique(f.Proof, podKey(p)+": "+evProof(e))
		}
	}
	var out []investigate.Finding
	for _, k := range order {
		f := seen[k]
		if n := pods[k]; n > 1 {
			f.Summary = strings.Replace(f.Summary, "Pod ", fmt.Sprintf("%d pods, among them ", n), 1)
		}
		out = append(out, *f)
	}
	return out
}

func (d *diag) sandboxFinding(p *corev1.Pod, e *corev1.Event, class, cni string) *investigate.Finding {
	node := p.Spec.NodeName
	plugin := "the CNI plugin"
	if cni != "" {
		plugin = "the CNI plugin " + cni
	}
	f := &investigate.Finding{Rule: "pod-sandbox", Severity: investigate.FindingCritical, Score: scoreCause + 5, Category: investigate.PodPending}
	var why string
	n := d.node(node)
	switch class {
	case "no-ip":
		why = fmt.Sprintf("%s cannot assign it an IP address: the pod IP range is exhausted", plugin)
		if m := reCNIRange.FindStringSubmatch(e.Message); m != nil {
			why += " (" + strings.TrimSpace(firstNonEmpty(m)) + ")"
		}
		if agent, line := d.agentShortage(node); agent != nil {
			why = fmt.Sprintf("%s cannot assign it an IP address: the node's network agent %s reports the address shortage: %q", plugin, podKey(agent), clip(line, 240))
			f.Objects = append(f.Objects, podRef(agent))
			f.Proof = append(f.Proof, fmt.Sprintf("%s log: %s", podKey(agent), clip(line, 300)))
		}
		if n != nil {
			onNode := 0
			for _, q := range d.podsOnNode(node) {
				if !q.Spec.HostNetwork && q.Status.Phase == corev1.PodRunning {
					onNode++
				}
			}
			s := fmt.Sprintf("node %s: podCIDR %s, %d running pods without hostNetwork known here, allocatable pods %s", node, orUnknown(n.Spec.PodCIDR), onNode, n.Status.Allocatable.Pods().String())
			f.Proof = append(f.Proof, s)
		}
		f.Actions = []string{fmt.Sprintf("kubectl get pods -A -o wide --field-selector spec.nodeName=%s | wc -l   # pods holding IPs on the node", node),
			"Free or add addresses: remove leaked IP allocations of deleted pods (the plugin's IPAM state), lower the node's max pods to what its range or subnet holds, or add a larger subnet/IP pool.",
		}
	case "not-ready":
		why = fmt.Sprintf("%s is not ready on node %s (no CNI configuration or its agent is down), so no pod network can be set up there", plugin, node)
		f.Actions = []string{"kubectl get pods -n kube-system -o wide --field-selector spec.nodeName=" + node + "   # is the CNI agent pod running on the node?",
			fmt.Sprintf("On node %s: ls /etc/cni/net.d; journalctl -u kubelet | grep -i cni", node)}
		if n != nil {
			if c := nodeCondition(n, corev1.NodeReady); c != nil && c.Status != corev1.ConditionTrue {
				f.Proof = append(f.Proof, fmt.Sprintf("node %s Ready=%s: %s", node, c.Status, c.Message))
			}
		}
	default:
		why = "the container runtime fails to create the pod sandbox: " + clip(e.Message, 250)
		f.Actions = []string{fmt.Sprintf("kubectl describe pod -n %s %s", p.Namespace, p.Name)}
	}
	f.Summary = fmt.Sprintf("Pod %s is stuck in ContainerCreating on node %s: the runtime cannot create its sandbox (FailedCreatePodSandBox) because %s.", podKey(p), node, why)
	f.Objects = append([]string{"node/" + node}, f.Objects...)
	f.Detail = "Before any container starts, the kubelet asks the runtime for the pod sandbox, whose network namespace the CNI plugin sets up and gives an IP; while that fails, the pod stays in ContainerCreating and the kubelet retries."
	f.Impact = fmt.Sprintf("New pods on node %s cannot start.", node)
	f.Prevention = "Alert on the CNI agents and on IP pool / subnet usage; size node max-pods to the addresses a node can get."
	return f
}

// reAgentShortage matches a network agent's own report that it has no
// address to give: an exhausted subnet, IP pool, CIDR block or range, as
// the common CNI agents (VPC CNIs, Calico, Cilium, host-local IPAM) word it.
var reAgentShortage = regexp.MustCompile(`(?i)insufficient ?free ?addresses|not have enough free (?:ip )?addresses|no (?:more )?free (?:ips?|addresses|affinity blocks|blocks)|no available ip|ip pool (?:is )?(?:too low|exhausted|full|empty)|no ip addresses available|(?:range|cidr|block|subnet|pool)s? (?:is |are )?(?:full|exhausted|depleted)|ipam.{0,60}(?:exhaust|full|no (?:more )?ips?|failed to allocate)|failed to allocate .{0,60}(?:\bips?\b|address|eni|prefix)|subnet.{0,60}(?:no free|not enough|exhausted)`)

// reAgentScope matches the words that say which address space ran out.
var reAgentScope = regexp.MustCompile(`(?i)subnet|pool|cidr|range|block|eni|prefix`)

// agentShortage returns the node's network agent (a hostNetwork DaemonSet
// pod recognised by networkAgentScore) whose log reports an address
// shortage, with the most telling line: one that names the exhausted
// address space (subnet, pool, CIDR, range) first, the latest of them.
func (d *diag) agentShortage(node string) (*corev1.Pod, string) {
	for _, p := range d.pods {
		if p.Spec.NodeName != node || networkAgentScore(p) == 0 {
			continue
		}
		best, bestScore := "", 0
		for _, cs := range p.Status.ContainerStatuses {
			for _, l := range d.logs(p.Namespace, p.Name, cs.Name, false) {
				msg := logMessage(l)
				if !reAgentShortage.MatchString(msg) {
					continue
				}
				score := 1
				if reAgentScope.MatchString(msg) {
					score = 2
				}
				if score >= bestScore {
					best, bestScore = msg, score
				}
			}
		}
		if best != "" {
			return p, best
		}
	}
	return nil, ""
}

// logMessage returns the message of a structured (JSON) log line, its
// "msg"/"message" field, or the line itself.
func logMessage(l string) string {
	l = strings.TrimSpace(reCompactMark.ReplaceAllString(l, ""))
	if !strings.HasPrefix(l, "{") {
		return l
	}
	var m map[string]any
	if err := json.Unmarshal([]byte(l), &m); err != nil {
		return l
	}
	for _, k := range []string{"msg", "message", "error", "err"} {
		if v, ok := m[k].(string); ok && v != "" {
			if e, ok := m["error"].(string); ok && k != "error" && e != "" && !strings.Contains(v, e) {
				v += ": " + e
			}
			return strings.Join(strings.Fields(v), " ")
		}
	}
	return l
}
