package k8s

import (
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// This file explains each reason of the scheduler's FailedScheduling
// histogram ("0/5 nodes are available: 2 Insufficient memory, 3 node(s)
// didn't match pod anti-affinity rules. preemption: ...") with the objects
// behind it: the nodes' taints and labels, the pods holding a boundPort, the
// affinity terms and the domains they leave, the volumes' node affinity.

// schedExplain is one scheduler reason explained.
type schedExplain struct {
	reason string // as printed, count removed
	nodes  int    // nodes that gave the reason; 0 for a pre-filter reason (all nodes)
	// benign marks a reason that is by design and that no fix should
	// touch: a DaemonSet pod excluded from every node but its own, a
	// control-plane taint.
	benign                  bool
	why                     string
	details, actions, proof []string
	objects                 []string
}

// rank orders explanations: the cause first. A pre-filter reason (it
// applies to every node) and reasons covering more nodes come first;
// reasons that are by design come last.
func rankSched(xs []schedExplain) {
	sort.SliceStable(xs, func(i, j int) bool {
		a, b := xs[i], xs[j]
		if a.benign != b.benign {
			return !a.benign
		}
		an, bn := a.nodes, b.nodes
		if an == 0 {
			an = 1 << 30
		}
		if bn == 0 {
			bn = 1 << 30
		}
		return an > bn
	})
}

// explainSched explains one reason of the scheduler's message for pod p.
func (d *diag) explainSched(p *corev1.Pod, raw string) schedExplain {
	x := schedExplain{reason: raw}
	if m := reSchedCount.FindStringSubmatch(raw); m != nil {
		x.nodes, _ = strconv.Atoi(m[1])
		x.reason = m[2]
	}
	r := x.reason
	lower := strings.ToLower(r)
	switch {
	case reInsufficent.MatchString(r):
		d.explainInsufficient(p, corev1.ResourceName(reInsufficent.FindStringSubmatch(r)[1]), &x)
	case strings.Contains(lower, "too many pods"):
		d.explainTooManyPods(&x)
	case strings.Contains(lower, "taint"):
		d.explainTaints(p, &x)
	case strings.Contains(lower, "volume node affinity") || strings.Contains(lower, "persistentvolume's node affinity"):
		x.why, x.details, x.actions, x.proof = d.explainVolumeAffinity(p)
	case strings.Contains(lower, "existing pods anti-affinity"):
		d.explainExistingAntiAffinity(p, &x)
	case strings.Contains(lower, "pod anti-affinity"):
		d.explainPodAffinity(p, &x, true)
	case strings.Contains(lower, "pod affinity rules") || strings.Contains(lower, "pod affinity terms"):
		d.explainPodAffinity(p, &x, false)
	case strings.Contains(lower, "topology spread"):
		d.explainTopologySpread(p, &x)
	case strings.Contains(lower, "node affinity/selector") || strings.Contains(lower, "node selector") || strings.Contains(lower, "node affinity"):
		d.explainNodeAffinity(p, &x)
	case strings.Contains(lower, "free ports"):
		d.explainHostPorts(p, &x)
	case strings.Contains(lower, "were unschedulable"):
		d.explainCordoned(&x)
	case strings.Contains(lower, "persistentvolumeclaim") || strings.Contains(lower, "persistent volumes to bind") ||
		strings.Contains(lower, "enough free storage") || strings.Contains(lower, "non-existent pv"):
		x.why, x.details, x.actions, x.proof = d.explainUnboundPVC(p)
		if strings.Contains(lower, "readwriteoncepod") {
			d.explainClaimInUse(p, &x, "its PersistentVolumeClaim has access mode ReadWriteOncePod and is already used by another pod")
		}
	case strings.Contains(lower, "available volume zone"):
		x.why, x.details, x.actions, x.proof = d.explainVolumeAffinity(p)
		x.why = strings.Replace(x.why, "volume node affinity", "volume zone (no available volume zone)", 1)
	case strings.Contains(lower, "max volume count"):
		x.why = fmt.Sprintf("%s reached the maximum number of volumes that can be attached to them (the CSI driver's or cloud's attach limit); the pod needs %d more", nodesWord(x.nodes), len(podClaims(p)))
		x.actions = append(x.actions, "kubectl get csinode -o yaml   # allocatable.count per driver; spread volume-heavy pods or use larger instance types with a higher attach limit")
	case strings.Contains(lower, "no available disk"):
		d.explainClaimInUse(p, &x, "its volume (a disk that can be attached to one node only) is already in use by another pod")
	case strings.Contains(lower, "unknown conditions"):
		x.why = fmt.Sprintf("%s report unknown conditions (NotReady/unreachable)", nodesWord(x.nodes))
	case strings.Contains(lower, "requested node name"):
		x.why = fmt.Sprintf("the pod asks for node %s (spec.nodeName) and the other nodes do not count", p.Spec.NodeName)
		x.benign = true
	case strings.Contains(lower, "no nodes available"):
		x.why = "the cluster has no nodes registered to schedule pods on"
	default:
		x.why = r
	}
	return x
}

func nodesWord(n int) string {
	if n <= 0 {
		return "nodes"
	}
	return fmt.Sprintf("%d %s", n, plural(n, "node", "nodes"))
}

// explainInsufficient compares the pod's request with every node's
// allocatable minus what the known pods on it request.
func (d *diag) explainInsufficient(p *corev1.Pod, res corev1.ResourceName, x *schedExplain) {
	req := podRequests(p)
	q, ok := req[res]
	x.why = fmt.Sprintf("insufficient %s on %s", res, nodesWord(x.nodes))
	if ok {
		x.why = fmt.Sprintf("insufficient %s — the pod requests %s %s (%s request %s), more than %s have unrequested", res, fmtQty(res, q), res, res, q.String(), nodesWord(x.nodes))
		if res == corev1.ResourceCPU {
			x.why = fmt.Sprintf("insufficient cpu — the pod requests %s CPU (cpu request %s = %dm), more than %s have unrequested", fmtQty(res, q), q.String(), q.MilliValue(), nodesWord(x.nodes))
		}
		x.proof = append(x.proof, fmt.Sprintf("%s requests: %s=%s", p.Name, res, q.String()))
	}
	var alloc []string
	bigger := 0
	counted := 0
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		a, has := n.Status.Allocatable[res]
		if !has {
			if strings.Contains(string(res), "/") {
				alloc = append(alloc, fmt.Sprintf("%s has no %s", n.Name, res))
			}
			continue
		}
		counted++
		if ok && q.Cmp(a) > 0 {
			bigger++
		}
		s := fmt.Sprintf("%s allocatable %s", n.Name, fmtQty(res, a))
		if free := d.unrequested(n, res); free != nil {
			s += fmt.Sprintf(" (%s unrequested)", fmtQty(res, *free))
		}
		alloc = append(alloc, s)
	}
	if ok && counted > 0 && bigger == counted {
		x.why += fmt.Sprintf("; the request is larger than the allocatable %s of every node, so no node can ever fit it", res)
	}
	if len(alloc) > 0 {
		x.details = append(x.details, fmt.Sprintf("Nodes: %s.", strings.Join(alloc, "; ")))
	}
	if prev := d.previousRevisionRequest(p, res); prev != "" {
		x.details = append(x.details, prev)
	}
	x.actions = append(x.actions, fmt.Sprintf("Lower the %s request of %s to what it needs, or add nodes with enough allocatable %s (cluster autoscaler / bigger node pool).", res, workloadOrPod(p), res),
		"kubectl describe nodes | grep -A8 'Allocated resources'")
	d.explainExtendedResource(p, res, x)
}

func (d *diag) explainTooManyPods(x *schedExplain) {
	x.why = fmt.Sprintf("%s are at their pod limit (Too many pods: status.allocatable.pods is used up)", nodesWord(x.nodes))
	var full []string
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		max := n.Status.Allocatable[corev1.ResourcePods]
		cnt := 0
		for _, q := range d.podsOnNode(n.Name) {
			if q.Status.Phase != corev1.PodSucceeded && q.Status.Phase != corev1.PodFailed {
				cnt++
			}
		}
		if !max.IsZero() && int64(cnt) >= max.Value() {
			full = append(full, fmt.Sprintf("%s runs %d pods, allocatable pods %d", n.Name, cnt, max.Value()))
		}
	}
	if len(full) > 0 {
		x.details = append(x.details, strings.Join(full, "; ")+".")
	}
	x.actions = append(x.actions, "Add nodes, or raise the kubelet's maxPods (and the node's pod CIDR size) where the CNI allows it.")
}

// untolerated returns the NoSchedule/NoExecute taints of n that the pod
// does not tolerate.
func untolerated(p *corev1.Pod, n *corev1.Node) []corev1.Taint {
	var out []corev1.Taint
	for _, t := range n.Spec.Taints {
		if t.Effect == corev1.TaintEffectPreferNoSchedule {
			continue
		}
		ok := false
		for _, tol := range p.Spec.Tolerations {
			if tolerates(tol, t) {
				ok = true
				break
			}
		}
		if !ok {
			out = append(out, t)
		}
	}
	return out
}

// tolerates reports whether toleration tol matches taint t.
func tolerates(tol corev1.Toleration, t corev1.Taint) bool {
	if tol.Effect != "" && tol.Effect != t.Effect {
		return false
	}
	if tol.Key == "" {
		return tol.Operator == corev1.TolerationOpExists
	}
	if tol.Key != t.Key {
		return false
	}
	if tol.Operator == corev1.TolerationOpExists {
		return true
	}
	return tol.Value == t.Value
}

func taintString(t corev1.Taint) string {
	s := t.Key
	if t.Value != "" {
		s += "=" + t.Value
	}
	return s + ":" + string(t.Effect)
}

// taintMeaning names what the well-known taints say about the node.
func taintMeaning(key string) string {
	switch key {
	case "node.kubernetes.io/not-ready":
		return "the node is NotReady"
	case "node.kubernetes.io/unreachable":
		return "the node controller cannot reach the node's kubelet"
	case "node.kubernetes.io/unschedulable":
		return "the node is cordoned"
	case "node.kubernetes.io/memory-pressure":
		return "the node has MemoryPressure"
	case "node.kubernetes.io/disk-pressure":
		return "the node has DiskPressure"
	case "node.kubernetes.io/pid-pressure":
		return "the node has PIDPressure"
	case "node.kubernetes.io/network-unavailable":
		return "the node's network is not configured"
	case "node.cloudprovider.kubernetes.io/uninitialized":
		return "the cloud controller has not initialised the node yet"
	case "node-role.kubernetes.io/control-plane", "node-role.kubernetes.io/master":
		return "a control-plane node, reserved for system pods"
	}
	return ""
}

// explainTaints names the nodes and the taints the pod does not tolerate.
// The message names the taint in older schedulers ("untolerated taint {k:
// v}") and not in newer ones ("untolerated taint(s)"); either way the
// taints come from the nodes and the pod's tolerations.
func (d *diag) explainTaints(p *corev1.Pod, x *schedExplain) {
	want := ""
	if m := reTaint.FindStringSubmatch(x.reason); m != nil {
		want = strings.TrimSpace(m[1])
	}
	type tg struct {
		taint string
		key   string
		nodes []string
	}
	var order []string
	byTaint := map[string]*tg{}
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		for _, t := range untolerated(p, n) {
			if want != "" && t.Key != want {
				continue
			}
			s := taintString(t)
			g := byTaint[s]
			if g == nil {
				g = &tg{taint: s, key: t.Key}
				byTaint[s] = g
				order = append(order, s)
			}
			g.nodes = append(g.nodes, n.Name)
		}
	}
	if len(order) == 0 {
		taint := want
		if m := reTaint.FindStringSubmatch(x.reason); m != nil {
			if v := strings.TrimSpace(m[2]); v != "" {
				taint += "=" + v
			}
		}
		if taint == "" {
			taint = "taints"
		}
		x.why = fmt.Sprintf("%s have %s that the pod does not tolerate", nodesWord(x.nodes), taint)
		x.actions = append(x.actions, "kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints   # then add a matching toleration to the pod spec, or remove the taint")
		if taintMeaning(want) != "" {
			x.why += " (" + taintMeaning(want) + ")"
		}
		x.benign = strings.HasPrefix(want, "node-role.kubernetes.io/")
		return
	}
	var parts []string
	allControlPlane := true
	for _, s := range order {
		g := byTaint[s]
		part := fmt.Sprintf("%s %s %s taint %s", plural(len(g.nodes), "node", "nodes"), joinNames(g.nodes), plural(len(g.nodes), "has", "have"), g.taint)
		if m := taintMeaning(g.key); m != "" {
			part += " (" + m + ")"
		}
		parts = append(parts, part)
		x.proof = append(x.proof, fmt.Sprintf("node %s taint %s", strings.Join(g.nodes, ", "), g.taint))
		allControlPlane = allControlPlane && strings.HasPrefix(g.key, "node-role.kubernetes.io/")
		untaint := fmt.Sprintf("kubectl taint nodes %s %s-", strings.Join(g.nodes, " "), g.taint)
		if strings.HasPrefix(g.key, "node.kubernetes.io/") {
			x.actions = append(x.actions, fmt.Sprintf("Fix the node state behind %s (the node controller/kubelet sets and removes it): kubectl describe node %s", g.key, g.nodes[0]))
		} else {
			x.actions = append(x.actions, fmt.Sprintf("Add a toleration for %s to %s if it should run there, or remove the taint: %s", g.taint, workloadOrPod(p), untaint))
		}
	}
	x.benign = allControlPlane
	x.why = fmt.Sprintf("untolerated taint — %s, which the pod does not tolerate", strings.Join(parts, "; "))
	if len(p.Spec.Tolerations) > 0 {
		var tols []string
		for _, t := range p.Spec.Tolerations {
			if strings.HasPrefix(t.Key, "node.kubernetes.io/not-ready") || strings.HasPrefix(t.Key, "node.kubernetes.io/unreachable") {
				continue
			}
			s := t.Key
			if t.Operator == corev1.TolerationOpExists {
				s += " (Exists)"
			} else if t.Value != "" {
				s += "=" + t.Value
			}
			tols = append(tols, s)
		}
		if len(tols) > 0 {
			x.details = append(x.details, fmt.Sprintf("The pod tolerates only %s.", strings.Join(tols, ", ")))
		}
	}
}

// pinnedNode returns the node a DaemonSet pod is pinned to (the
// controller sets a required node affinity on metadata.name), or "".
func pinnedNode(p *corev1.Pod) string {
	a := p.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return ""
	}
	for _, t := range a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms {
		for _, f := range t.MatchFields {
			if f.Key == "metadata.name" && f.Operator == corev1.NodeSelectorOpIn && len(f.Values) == 1 {
				return f.Values[0]
			}
		}
	}
	return ""
}

// matchRequirement evaluates one node selector requirement on labels.
func matchRequirement(r corev1.NodeSelectorRequirement, lbls map[string]string) bool {
	v, has := lbls[r.Key]
	switch r.Operator {
	case corev1.NodeSelectorOpIn:
		return has && slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpNotIn:
		return !has || !slices.Contains(r.Values, v)
	case corev1.NodeSelectorOpExists:
		return has
	case corev1.NodeSelectorOpDoesNotExist:
		return !has
	case corev1.NodeSelectorOpGt, corev1.NodeSelectorOpLt:
		if !has || len(r.Values) != 1 {
			return false
		}
		a, err1 := strconv.ParseInt(v, 10, 64)
		b, err2 := strconv.ParseInt(r.Values[0], 10, 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if r.Operator == corev1.NodeSelectorOpGt {
			return a > b
		}
		return a < b
	}
	return false
}

func requirementString(r corev1.NodeSelectorRequirement) string {
	switch r.Operator {
	case corev1.NodeSelectorOpExists, corev1.NodeSelectorOpDoesNotExist:
		return fmt.Sprintf("%s %s", r.Key, r.Operator)
	}
	return fmt.Sprintf("%s %s [%s]", r.Key, r.Operator, strings.Join(r.Values, ", "))
}

// labelValues renders the values the nodes carry for key: "zone=a (n1, n2);
// no label (n3)".
func (d *diag) labelValues(key string) string {
	byVal := map[string][]string{}
	var order []string
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		v, ok := n.Labels[key]
		k := key + "=" + v
		if !ok {
			k = "no " + key + " label"
		}
		if _, seen := byVal[k]; !seen {
			order = append(order, k)
		}
		byVal[k] = append(byVal[k], n.Name)
	}
	var parts []string
	for _, k := range order {
		parts = append(parts, fmt.Sprintf("%s on %s", k, joinNames(byVal[k])))
	}
	return strings.Join(parts, "; ")
}

// explainNodeAffinity checks the pod's nodeSelector and required node
// affinity against every node's labels. A DaemonSet pod is pinned to
// its node by design: the other nodes' refusal is no cause.
func (d *diag) explainNodeAffinity(p *corev1.Pod, x *schedExplain) {
	if pin := pinnedNode(p); pin != "" {
		x.benign = true
		x.why = fmt.Sprintf("excluded by design, as the DaemonSet pins each pod to one node (this one to %s)", pin)
		return
	}
	var sel []string
	for k, v := range p.Spec.NodeSelector {
		sel = append(sel, k+"="+v)
	}
	sort.Strings(sel)
	var reqs []string
	var failing []string
	for _, k := range sortedKeys(p.Spec.NodeSelector) {
		v := p.Spec.NodeSelector[k]
		matched := false
		for i := range d.s.Nodes {
			matched = matched || d.s.Nodes[i].Labels[k] == v
		}
		if !matched && len(d.s.Nodes) > 0 {
			failing = append(failing, fmt.Sprintf("no node has %s=%s (%s)", k, v, d.labelValues(k)))
		}
	}
	if a := p.Spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
		for _, t := range terms {
			for _, r := range t.MatchExpressions {
				reqs = append(reqs, requirementString(r))
				matched := false
				for i := range d.s.Nodes {
					matched = matched || matchRequirement(r, d.s.Nodes[i].Labels)
				}
				if !matched && len(d.s.Nodes) > 0 {
					failing = append(failing, fmt.Sprintf("no node satisfies %s (%s)", requirementString(r), d.labelValues(r.Key)))
				}
			}
		}
	}
	switch {
	case len(sel) > 0:
		x.why = fmt.Sprintf("no node matches the pod's nodeSelector %s", strings.Join(sel, ","))
		x.proof = append(x.proof, fmt.Sprintf("%s spec.nodeSelector: %s", p.Name, strings.Join(sel, ",")))
	case len(reqs) > 0:
		x.why = fmt.Sprintf("no node matches the pod's required node affinity (%s)", strings.Join(reqs, "; "))
		x.proof = append(x.proof, fmt.Sprintf("%s spec.affinity.nodeAffinity required: %s", p.Name, strings.Join(reqs, "; ")))
	default:
		x.why = fmt.Sprintf("%s do not match the pod's node selector/affinity", nodesWord(x.nodes))
	}
	if len(failing) > 0 {
		x.why += ": " + strings.Join(failing, "; ")
	}
	label := "kubectl get nodes --show-labels   # then label the intended node with the pod's selector"
	if len(sel) > 0 {
		label = "kubectl label node NODE_NAME " + strings.Join(sel, " ") + "   # NODE_NAME: the node meant to run it"
	}
	x.actions = append(x.actions, "Fix the pod's nodeSelector/affinity, or label the intended node: "+label)
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

type boundPort struct {
	port  int32
	proto corev1.Protocol
	ip    string
}

func (h boundPort) String() string { return fmt.Sprintf("%d/%s", h.port, h.proto) }

// hostPorts returns the host ports a pod binds: its hostPorts, or every
// container port with hostNetwork.
func hostPorts(p *corev1.Pod) []boundPort {
	var out []boundPort
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, cp := range c.Ports {
			port := cp.HostPort
			if p.Spec.HostNetwork && port == 0 {
				port = cp.ContainerPort
			}
			if port == 0 {
				continue
			}
			proto := cp.Protocol
			if proto == "" {
				proto = corev1.ProtocolTCP
			}
			out = append(out, boundPort{port, proto, cp.HostIP})
		}
	}
	return out
}

func (h boundPort) conflicts(o boundPort) bool {
	if h.port != o.port || h.proto != o.proto {
		return false
	}
	any := func(ip string) bool { return ip == "" || ip == "0.0.0.0" || ip == "::" }
	return any(h.ip) || any(o.ip) || h.ip == o.ip
}

// hostPortHolders returns, per node, the known running pods that bind one
// of want on that node.
func (d *diag) hostPortHolders(p *corev1.Pod, want []boundPort, onlyNode string) (holders []string, proof []string, ports []string) {
	for _, q := range d.pods {
		if q == p || q.Spec.NodeName == "" || (onlyNode != "" && q.Spec.NodeName != onlyNode) ||
			q.Status.Phase == corev1.PodSucceeded || q.Status.Phase == corev1.PodFailed {
			continue
		}
		if ownerName(q) != "" && ownerName(q) == ownerName(p) && q.Namespace == p.Namespace {
			continue
		}
		var clash []string
		for _, h := range hostPorts(q) {
			for _, w := range want {
				if w.conflicts(h) {
					clash = appendUnique(clash, w.String())
				}
			}
		}
		if len(clash) == 0 {
			continue
		}
		who := "pod " + podKey(q)
		if o := ownerName(q); o != "" {
			who += " (" + o + ")"
		}
		holders = append(holders, fmt.Sprintf("%s already binds %s on node %s", who, strings.Join(clash, ", "), q.Spec.NodeName))
		proof = append(proof, fmt.Sprintf("pod %s on node %s binds hostPort %s", podKey(q), q.Spec.NodeName, strings.Join(clash, ", ")))
		ports = appendUnique(ports, clash...)
	}
	return
}

// explainHostPorts names the host ports the pod asks for and the pods
// that already bind them on its candidate nodes.
func (d *diag) explainHostPorts(p *corev1.Pod, x *schedExplain) {
	want := hostPorts(p)
	var ws []string
	for _, w := range want {
		ws = append(ws, w.String())
	}
	pin := pinnedNode(p)
	where := nodesWord(x.nodes)
	if pin != "" {
		where = "its node " + pin
	}
	x.why = fmt.Sprintf("the pod's hostPort %s is already in use on %s (node(s) didn't have free ports)", strings.Join(ws, ", "), where)
	if len(ws) == 0 {
		x.why = fmt.Sprintf("the host ports the pod requests are already in use on %s", where)
	}
	holders, proof, ports := d.hostPortHolders(p, want, pin)
	ds := pin != "" && strings.HasPrefix(ownerName(p), "daemonset/")
	if len(holders) == 0 && ds {
		// The DaemonSet's other pods are pinned to the other nodes: the
		// same port is what blocks them there.
		holders, proof, ports = d.hostPortHolders(p, want, "")
	}
	if len(holders) > 0 {
		x.why = fmt.Sprintf("host port conflict — the pod asks for hostPort %s, which %s", strings.Join(ports, ", "), holders[0])
		if ds {
			x.why += " (each DaemonSet pod is pinned to its own node, where the port is taken)"
		}
		if len(holders) > 1 {
			x.details = append(x.details, "Also: "+strings.Join(holders[1:], "; ")+".")
		}
		x.proof = append(x.proof, proof...)
		x.actions = append(x.actions, fmt.Sprintf("Free the port: remove the hostPort from one of the two workloads (or the older one, if %s replaces it), or give %s another hostPort.", workloadOrPod(p), workloadOrPod(p)))
	} else {
		x.actions = append(x.actions, fmt.Sprintf("Find the pod binding the port: kubectl get pods -A -o wide --field-selector spec.nodeName=%s, then look for hostPort %s (or hostNetwork) in their specs.", orPlaceholder(pin, "NODE"), strings.Join(ws, ", ")))
	}
	x.proof = append(x.proof, fmt.Sprintf("%s requests hostPort %s", p.Name, strings.Join(ws, ", ")))
}

func orPlaceholder(s, ph string) string {
	if s == "" {
		return ph
	}
	return s
}

func (d *diag) explainCordoned(x *schedExplain) {
	var cordoned []string
	for _, n := range d.s.Nodes {
		if n.Spec.Unschedulable {
			cordoned = append(cordoned, n.Name)
		}
	}
	x.why = fmt.Sprintf("%s are cordoned (unschedulable)", nodesWord(x.nodes))
	if len(cordoned) > 0 {
		x.why = fmt.Sprintf("node %s %s cordoned (spec.unschedulable)", joinNames(cordoned), plural(len(cordoned), "is", "are"))
		if len(cordoned) == len(d.s.Nodes) && len(cordoned) > 1 {
			x.why = fmt.Sprintf("every node is cordoned (spec.unschedulable): %s", joinNames(cordoned))
		}
		x.proof = append(x.proof, "node "+strings.Join(cordoned, ", ")+": spec.unschedulable=true")
		for _, n := range cordoned {
			x.objects = appendUnique(x.objects, "node/"+n)
		}
	}
	uncordon := "kubectl get nodes   # find the cordoned nodes (SchedulingDisabled), then kubectl uncordon them"
	if len(cordoned) > 0 {
		uncordon = "kubectl uncordon " + strings.Join(cordoned, " ") + "   # once maintenance is finished"
	}
	x.actions = append(x.actions, uncordon)
}

// requiredPodTerms returns the pod's required (anti-)affinity terms.
func requiredPodTerms(p *corev1.Pod, anti bool) []corev1.PodAffinityTerm {
	a := p.Spec.Affinity
	if a == nil {
		return nil
	}
	if anti {
		if a.PodAntiAffinity == nil {
			return nil
		}
		return a.PodAntiAffinity.RequiredDuringSchedulingIgnoredDuringExecution
	}
	if a.PodAffinity == nil {
		return nil
	}
	return a.PodAffinity.RequiredDuringSchedulingIgnoredDuringExecution
}

// termSelects reports whether the affinity term of owner pod o selects q.
func termSelects(t corev1.PodAffinityTerm, o, q *corev1.Pod) bool {
	if len(t.Namespaces) > 0 {
		if !slices.Contains(t.Namespaces, q.Namespace) {
			return false
		}
	} else if t.NamespaceSelector == nil && q.Namespace != o.Namespace {
		return false
	}
	if t.LabelSelector == nil {
		return false
	}
	sel, err := metav1.LabelSelectorAsSelector(t.LabelSelector)
	if err != nil {
		return false
	}
	return sel.Matches(labels.Set(q.Labels))
}

func labelSelectorString(s *metav1.LabelSelector) string {
	if s == nil {
		return "<none>"
	}
	return metav1.FormatLabelSelector(s)
}

// desiredReplicas returns the replicas the pod's workload wants and the
// HPA that sets them ("" when none), or -1 when unknown.
func (d *diag) desiredReplicas(p *corev1.Pod) (int32, string) {
	owner := ownerName(p)
	kind, name, _ := strings.Cut(owner, "/")
	want := int32(-1)
	switch kind {
	case "deployment":
		for _, x := range d.s.Deployments {
			if x.Namespace == p.Namespace && x.Name == name && x.Spec.Replicas != nil {
				want = *x.Spec.Replicas
			}
		}
	case "statefulset":
		for _, x := range d.s.StatefulSets {
			if x.Namespace == p.Namespace && x.Name == name && x.Spec.Replicas != nil {
				want = *x.Spec.Replicas
			}
		}
	case "replicaset":
		for _, x := range d.s.ReplicaSets {
			if x.Namespace == p.Namespace && x.Name == name && x.Spec.Replicas != nil {
				want = *x.Spec.Replicas
			}
		}
	}
	hpa := ""
	for _, h := range d.s.HorizontalPodAutoscalers {
		if h.Namespace == p.Namespace && strings.EqualFold(h.Spec.ScaleTargetRef.Kind, kind) && h.Spec.ScaleTargetRef.Name == name {
			hpa = fmt.Sprintf("HorizontalPodAutoscaler %s (minReplicas %d, maxReplicas %d, desired %d)", h.Name, ptrOr(h.Spec.MinReplicas, 1), h.Spec.MaxReplicas, h.Status.DesiredReplicas)
		}
	}
	return want, hpa
}

func ptrOr(p *int32, def int32) int32 {
	if p == nil {
		return def
	}
	return *p
}

// explainPodAffinity explains "didn't match pod (anti-)affinity rules":
// the pod's required terms, the pods they match and the topology domains
// left.
func (d *diag) explainPodAffinity(p *corev1.Pod, x *schedExplain, anti bool) {
	kind := "podAffinity"
	if anti {
		kind = "podAntiAffinity"
	}
	terms := requiredPodTerms(p, anti)
	if len(terms) == 0 {
		x.why = fmt.Sprintf("%s do not satisfy the pod's required %s", nodesWord(x.nodes), kind)
		return
	}
	t := terms[0]
	for _, tt := range terms {
		if tt.TopologyKey == corev1.LabelHostname {
			t = tt
		}
	}
	var matched []string
	domains := map[string][]string{}
	for _, q := range d.pods {
		if q == p || q.Spec.NodeName == "" || q.Status.Phase == corev1.PodSucceeded || q.Status.Phase == corev1.PodFailed || !termSelects(t, p, q) {
			continue
		}
		matched = append(matched, q.Name+" on "+q.Spec.NodeName)
		if n := d.node(q.Spec.NodeName); n != nil {
			if v, ok := n.Labels[t.TopologyKey]; ok {
				domains[v] = append(domains[v], q.Name)
			}
		}
	}
	allDomains := map[string]bool{}
	for i := range d.s.Nodes {
		if v, ok := d.s.Nodes[i].Labels[t.TopologyKey]; ok {
			allDomains[v] = true
		}
	}
	desc := fmt.Sprintf("required %s (topologyKey %s, labelSelector %s)", kind, t.TopologyKey, labelSelectorString(t.LabelSelector))
	x.proof = append(x.proof, fmt.Sprintf("%s spec.affinity.%s.requiredDuringSchedulingIgnoredDuringExecution: topologyKey=%s labelSelector=%s", p.Name, kind, t.TopologyKey, labelSelectorString(t.LabelSelector)))
	domainWord := "topology domain (" + t.TopologyKey + ")"
	if t.TopologyKey == corev1.LabelHostname {
		domainWord = "node"
	}
	if !anti {
		x.why = fmt.Sprintf("its %s matches no running pod", desc)
		if len(matched) > 0 {
			x.why = fmt.Sprintf("its %s only matches pods in domains the pod cannot use (%s)", desc, joinNames(matched))
		}
		x.actions = append(x.actions, "Start the pods the affinity term needs first, or relax it to preferredDuringSchedulingIgnoredDuringExecution.")
		return
	}
	want, hpa := d.desiredReplicas(p)
	x.why = fmt.Sprintf("pod anti-affinity — its %s allows one matching pod per %s, and %s already hold one (%s)", desc, domainWord, nodesWord(x.nodes), joinNames(matched))
	if want > 0 {
		eligible := len(d.s.Nodes) - d.otherReasonNodes(p, x.reason)
		if eligible < 0 || eligible > len(allDomains) {
			eligible = len(allDomains)
		}
		x.why += fmt.Sprintf(": %s wants %d replicas but only %d %s can take one", workloadOrPod(p), want, eligible, plural(eligible, domainWord, domainWord+"s"))
	}
	if hpa != "" {
		x.details = append(x.details, fmt.Sprintf("The replica count is driven by %s.", hpa))
	}
	x.actions = append(x.actions,
		fmt.Sprintf("Add nodes (or raise the node pool's autoscaler maximum) so every replica of %s has its own %s, or cap the replicas (and HPA maxReplicas) at the number of %ss.", workloadOrPod(p), domainWord, domainWord),
		"Or relax the rule to preferredDuringSchedulingIgnoredDuringExecution / a topologySpreadConstraint with whenUnsatisfiable: ScheduleAnyway if co-location is acceptable.")
}

// otherReasonNodes counts the nodes the scheduler rejected for reasons
// other than reason in the pod's latest message.
func (d *diag) otherReasonNodes(p *corev1.Pod, reason string) int {
	msg, _ := d.schedulingMessage(p)
	n := 0
	for _, r := range schedulerReasons(msg) {
		if m := reSchedCount.FindStringSubmatch(r); m != nil && m[2] != reason {
			c, _ := strconv.Atoi(m[1])
			n += c
		}
	}
	return n
}

// explainExistingAntiAffinity names the running pods whose required
// anti-affinity rejects this pod.
func (d *diag) explainExistingAntiAffinity(p *corev1.Pod, x *schedExplain) {
	var who []string
	for _, q := range d.pods {
		if q == p || q.Spec.NodeName == "" {
			continue
		}
		for _, t := range requiredPodTerms(q, true) {
			if termSelects(t, q, p) {
				who = append(who, fmt.Sprintf("%s on %s (topologyKey %s, labelSelector %s)", podKey(q), q.Spec.NodeName, t.TopologyKey, labelSelectorString(t.LabelSelector)))
				x.proof = append(x.proof, fmt.Sprintf("pod %s spec.affinity.podAntiAffinity required: topologyKey=%s labelSelector=%s", podKey(q), t.TopologyKey, labelSelectorString(t.LabelSelector)))
				break
			}
		}
	}
	x.why = fmt.Sprintf("running pods on %s have a required podAntiAffinity that excludes this pod", nodesWord(x.nodes))
	if len(who) > 0 {
		x.why = fmt.Sprintf("pod anti-affinity of existing pods — %s repel pods labelled like this one", joinNames(who))
	}
	x.actions = append(x.actions, "Change the labels of this pod or the existing pods' anti-affinity selector, or add nodes.")
}

// explainTopologySpread shows the pod's hard spread constraints and the
// matching pods per domain.
func (d *diag) explainTopologySpread(p *corev1.Pod, x *schedExplain) {
	var cs []string
	for _, c := range p.Spec.TopologySpreadConstraints {
		if c.WhenUnsatisfiable != corev1.DoNotSchedule {
			continue
		}
		counts := map[string]int{}
		for i := range d.s.Nodes {
			if v, ok := d.s.Nodes[i].Labels[c.TopologyKey]; ok {
				counts[v] += 0
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(c.LabelSelector)
		if err == nil {
			for _, q := range d.pods {
				if q.Namespace != p.Namespace || q.Spec.NodeName == "" || q == p || !sel.Matches(labels.Set(q.Labels)) {
					continue
				}
				if n := d.node(q.Spec.NodeName); n != nil {
					if v, ok := n.Labels[c.TopologyKey]; ok {
						counts[v]++
					}
				}
			}
		}
		var per []string
		for _, k := range sortedIntKeys(counts) {
			per = append(per, fmt.Sprintf("%s=%d", k, counts[k]))
		}
		cs = append(cs, fmt.Sprintf("maxSkew %d on %s (whenUnsatisfiable DoNotSchedule, selector %s; matching pods per domain: %s)", c.MaxSkew, c.TopologyKey, labelSelectorString(c.LabelSelector), strings.Join(per, ", ")))
	}
	x.why = fmt.Sprintf("%s would break the pod's topology spread constraints", nodesWord(x.nodes))
	if strings.Contains(x.reason, "missing required label") {
		x.why = fmt.Sprintf("%s lack the topologyKey label of the pod's topology spread constraint", nodesWord(x.nodes))
	}
	if len(cs) > 0 {
		x.why += ": " + strings.Join(cs, "; ")
	}
	x.actions = append(x.actions, "Add capacity in the under-filled domains, or set whenUnsatisfiable: ScheduleAnyway / a larger maxSkew.")
}

func sortedIntKeys(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// explainClaimInUse names the other pods that use the pod's claims.
func (d *diag) explainClaimInUse(p *corev1.Pod, x *schedExplain, what string) {
	x.why = what
	claims := podClaims(p)
	for _, q := range d.pods {
		if q == p || q.Namespace != p.Namespace || q.Spec.NodeName == "" {
			continue
		}
		for _, c := range podClaims(q) {
			if slices.Contains(claims, c) {
				x.why = fmt.Sprintf("%s: PVC %s is used by pod %s on node %s", what, c, q.Name, q.Spec.NodeName)
				x.proof = append(x.proof, fmt.Sprintf("pod %s on %s mounts PVC %s", podKey(q), q.Spec.NodeName, c))
			}
		}
	}
	x.actions = append(x.actions, "Stop the other pod using the volume first (e.g. a Recreate strategy for single-writer volumes), or give each pod its own claim.")
}
