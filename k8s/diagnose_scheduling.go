package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/k8flex/k8flex/investigate"
)

var (
	reSchedCount  = regexp.MustCompile(`^(\d+) (.*)$`)
	reInsufficent = regexp.MustCompile(`^Insufficient (\S+)$`)
	reTaint       = regexp.MustCompile(`taint \{([^:}]+):?\s*([^}]*)\}`)
)

// schedulerReasons splits a FailedScheduling message ("0/3 nodes are
// available: 1 node(s) were unschedulable, 2 node(s) had volume node
// affinity conflict. preemption: ...") into its reasons.
func schedulerReasons(msg string) []string {
	if _, rest, ok := strings.Cut(msg, "nodes are available: "); ok {
		msg = rest
	}
	if i := strings.Index(msg, " preemption:"); i >= 0 {
		msg = msg[:i]
	}
	msg = strings.TrimSuffix(strings.TrimSpace(msg), ".")
	var out []string
	for _, part := range strings.Split(msg, ", ") {
		part = strings.TrimSpace(part)
		// A taint value may contain ", "; rejoin pieces that do not start a reason.
		if len(out) > 0 && strings.Count(out[len(out)-1], "{") > strings.Count(out[len(out)-1], "}") {
			out[len(out)-1] += ", " + part
			continue
		}
		out = append(out, part)
	}
	return out
}

// podRequests sums the pod's container requests (init containers: the max).
func podRequests(p *corev1.Pod) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, c := range p.Spec.Containers {
		for k, v := range c.Resources.Requests {
			q := sum[k]
			q.Add(v)
			sum[k] = q
		}
		// Extended resources (GPUs) may be set only as limits.
		for k, v := range c.Resources.Limits {
			if _, ok := c.Resources.Requests[k]; !ok && strings.Contains(string(k), "/") {
				q := sum[k]
				q.Add(v)
				sum[k] = q
			}
		}
	}
	for _, c := range p.Spec.InitContainers {
		for k, v := range c.Resources.Requests {
			if q := sum[k]; v.Cmp(q) > 0 {
				sum[k] = v.DeepCopy()
			}
		}
	}
	return sum
}

// schedulingMessage returns the scheduler's latest message for a Pending pod.
func (d *diag) schedulingMessage(p *corev1.Pod) (string, []string) {
	var msg string
	var proof []string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Message != "" {
			msg = c.Message
			proof = append(proof, fmt.Sprintf("%s condition PodScheduled=False reason=%s: %s", p.Name, c.Reason, c.Message))
		}
	}
	for _, e := range d.eventsWithReason(p, "FailedScheduling") {
		msg = e.Message
		proof = []string{fmt.Sprintf("%s: %s", p.Name, evProof(e))}
	}
	return msg, proof
}

// diagnoseScheduling reports Pending pods the scheduler cannot place,
// explaining each reason of its message with the objects behind it.
func diagnoseScheduling(d *diag) []investigate.Finding {
	var g groups
	msgs := map[string]string{}
	for _, p := range d.pods {
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
			continue
		}
		msg, proof := d.schedulingMessage(p)
		if msg == "" {
			continue
		}
		key := workloadOrPod(p) + "|" + repeatKey(msg)
		g.add(key, p, proof...)
		msgs[key] = msg
	}
	var out []investigate.Finding
	g.each(func(x *group) {
		p := x.pods[0]
		msg := msgs[x.key]
		var xs []schedExplain
		for _, r := range schedulerReasons(msg) {
			xs = append(xs, d.explainSched(p, r))
		}
		rankSched(xs)
		var why, details, actions, objects []string
		proof := x.proof
		for i, e := range xs {
			w := e.why
			if i > 0 && nodesNamedIn(e.objects, strings.Join(why, "; ")) {
				// An earlier reason already explains these nodes (the
				// volume's only node is the cordoned one).
				w = ""
			} else if i > 0 && e.nodes > 0 {
				w = fmt.Sprintf("on the other %s: %s", nodesWord(e.nodes), w)
			}
			if w != "" {
				why = appendUnique(why, w)
			}
			details = appendUnique(details, e.details...)
			actions = appendUnique(actions, e.actions...)
			proof = appendUnique(proof, e.proof...)
			objects = appendUnique(objects, e.objects...)
		}
		sum := fmt.Sprintf("Pod %s is Pending and cannot be scheduled (%s)", x.names(), msg)
		if len(why) > 0 && (strings.Contains(msg, "nodes are available") || len(xs) > 1 || xs[0].why != xs[0].reason) {
			sum = fmt.Sprintf("Pod %s is Pending and cannot be scheduled: %s", x.names(), strings.Join(why, "; "))
		}
		if len(x.pods) > 1 {
			sum = strings.Replace(sum, "Pod ", fmt.Sprintf("%d pods of %s (", len(x.pods), workloadOrPod(p)), 1)
			sum = strings.Replace(sum, " is Pending", ") are Pending", 1)
		}
		actions = append(actions, fmt.Sprintf("kubectl describe pod -n %s %s   # scheduler events", p.Namespace, p.Name))
		out = append(out, investigate.Finding{
			Rule: "failed-scheduling", Severity: investigate.FindingCritical, Score: scoreCause,
			Summary: sum + ".", Detail: strings.Join(details, " "), Objects: append(x.refs(), objects...), Proof: proof, Actions: actions,
			Prevention: "Check new resource requests, selectors and storage classes against the cluster's capacity before rollout (e.g. a dry-run in staging with the same node shapes); alert on pods Pending for more than a few minutes.",
			Impact:     fmt.Sprintf("%s runs with fewer replicas than desired (or not at all) while these pods stay Pending; anything that depends on them fails.", workloadOrPod(p)),
		})
	})
	return out
}

// unrequested returns allocatable minus the requests of the known pods on
// the node, or nil when the pods on the node are not known.
func (d *diag) unrequested(n *corev1.Node, res corev1.ResourceName) *resource.Quantity {
	a := n.Status.Allocatable[res]
	free := a.DeepCopy()
	seen := false
	for _, p := range d.pods {
		if p.Spec.NodeName != n.Name || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		seen = true
		if q, ok := podRequests(p)[res]; ok {
			free.Sub(q)
		}
	}
	if !seen {
		return nil
	}
	return &free
}

// previousRevisionRequest compares the pod's request with running pods of
// the same Deployment from another ReplicaSet.
func (d *diag) previousRevisionRequest(p *corev1.Pod, res corev1.ResourceName) string {
	owner := ownerName(p)
	if !strings.HasPrefix(owner, "deployment/") {
		return ""
	}
	mine := podRequests(p)[res]
	for _, q := range d.pods {
		if q.Namespace != p.Namespace || ownerName(q) != owner || q.Labels["pod-template-hash"] == p.Labels["pod-template-hash"] || q.Status.Phase != corev1.PodRunning {
			continue
		}
		if other, ok := podRequests(q)[res]; ok && other.Cmp(mine) != 0 {
			return fmt.Sprintf("The running pods of the previous revision (%s) request %s %s; the new revision requests %s.", q.Name, fmtQty(res, other), res, fmtQty(res, mine))
		}
	}
	return ""
}

func (d *diag) pvc(ns, name string) *corev1.PersistentVolumeClaim {
	for i := range d.s.PVCs {
		if d.s.PVCs[i].Namespace == ns && d.s.PVCs[i].Name == name {
			return &d.s.PVCs[i]
		}
	}
	return nil
}

func podClaims(p *corev1.Pod) []string {
	var out []string
	for _, v := range p.Spec.Volumes {
		if v.PersistentVolumeClaim != nil {
			out = append(out, v.PersistentVolumeClaim.ClaimName)
		}
	}
	return out
}

func (d *diag) explainUnboundPVC(p *corev1.Pod) (why string, details, actions, proof []string) {
	why = "its PersistentVolumeClaim is not bound"
	for _, name := range podClaims(p) {
		c := d.pvc(p.Namespace, name)
		if c == nil {
			if d.missingRef("pvc", p.Namespace, name) || d.missingRef("persistentvolumeclaim", p.Namespace, name) {
				why = fmt.Sprintf("its PersistentVolumeClaim %s does not exist", name)
			}
			continue
		}
		if c.Status.Phase == corev1.ClaimBound {
			continue
		}
		proof = append(proof, fmt.Sprintf("pvc %s/%s: status.phase=%s", c.Namespace, c.Name, c.Status.Phase))
		for _, e := range d.events[objKey{"PersistentVolumeClaim", c.Namespace, c.Name}] {
			if e.Type == corev1.EventTypeWarning {
				proof = appendUnique(proof, fmt.Sprintf("pvc %s: %s", c.Name, evProof(e)))
			}
		}
		sc := ""
		if c.Spec.StorageClassName != nil {
			sc = *c.Spec.StorageClassName
		}
		why = fmt.Sprintf("its PersistentVolumeClaim %s is unbound (Pending)", c.Name)
		if sc != "" && !d.storageClassExists(sc) {
			why = fmt.Sprintf("its PersistentVolumeClaim %s is unbound because it asks for StorageClass %s, which does not exist (not found)", c.Name, sc)
			var have []string
			for _, s := range d.s.StorageClasses {
				n := s.Name
				if s.Annotations["storageclass.kubernetes.io/is-default-class"] == "true" {
					n += " (default)"
				}
				have = append(have, n)
			}
			if len(have) > 0 {
				details = append(details, fmt.Sprintf("StorageClasses in the cluster: %s.", strings.Join(have, ", ")))
			}
			actions = append(actions,
				fmt.Sprintf("Use an existing StorageClass (kubectl get storageclass) in the claim / volumeClaimTemplate, or create StorageClass %s. A PVC's storageClassName is immutable: delete PVC %s/%s and let the StatefulSet recreate it after fixing the template.", sc, c.Namespace, c.Name))
		} else if w, det, act, pr, ok := d.claimPending(c); ok {
			why = w
			details = append(details, det...)
			actions = append(actions, act...)
			proof = appendUnique(proof, pr...)
		} else {
			details = append(details, det...)
			proof = appendUnique(proof, pr...)
			if sc != "" {
				details = append(details, fmt.Sprintf("Claim %s uses StorageClass %s; check its provisioner.", c.Name, sc))
			}
		}
		actions = append(actions, fmt.Sprintf("kubectl describe pvc -n %s %s", c.Namespace, c.Name))
	}
	return
}

func (d *diag) storageClassExists(name string) bool {
	for _, s := range d.s.StorageClasses {
		if s.Name == name {
			return true
		}
	}
	if len(d.s.StorageClasses) == 0 {
		// Not gathered: only an explicit not-found event proves absence.
		for k, evs := range d.events {
			if k.kind != "PersistentVolumeClaim" {
				continue
			}
			for _, e := range evs {
				if strings.Contains(e.Message, fmt.Sprintf("storageclass.storage.k8s.io %q not found", name)) {
					return false
				}
			}
		}
		return true
	}
	return false
}

func (d *diag) explainVolumeAffinity(p *corev1.Pod) (why string, details, actions, proof []string) {
	why = "its PersistentVolume's node affinity matches none of the nodes it could run on (volume node affinity conflict)"
	for _, name := range podClaims(p) {
		c := d.pvc(p.Namespace, name)
		if c == nil || c.Spec.VolumeName == "" {
			continue
		}
		for _, pv := range d.s.PVs {
			if pv.Name != c.Spec.VolumeName || pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
				continue
			}
			var reqs, hosts []string
			var byLabel []corev1.NodeSelectorRequirement
			for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
				for _, e := range t.MatchExpressions {
					reqs = append(reqs, requirementString(e))
					if e.Key == corev1.LabelHostname {
						hosts = append(hosts, e.Values...)
					} else {
						byLabel = append(byLabel, e)
					}
				}
			}
			proof = append(proof, fmt.Sprintf("pv %s nodeAffinity: %s", pv.Name, strings.Join(reqs, "; ")))
			if len(hosts) > 0 {
				why = fmt.Sprintf("its volume (PVC %s, PV %s) is pinned by volume node affinity to node %s", c.Name, pv.Name, joinNames(hosts))
			} else {
				why = fmt.Sprintf("volume node affinity conflict — its volume (PVC %s, PV %s) requires %s", c.Name, pv.Name, strings.Join(reqs, "; "))
				for _, e := range byLabel {
					ok := false
					for i := range d.s.Nodes {
						ok = ok || matchRequirement(e, d.s.Nodes[i].Labels)
					}
					if !ok && len(d.s.Nodes) > 0 {
						why += fmt.Sprintf(", but no node satisfies it (%s)", d.labelValues(e.Key))
					}
				}
				actions = append(actions, fmt.Sprintf("Add a node that satisfies %s (e.g. a node group in that zone), or restore the data to a new volume where the nodes are: a zonal disk cannot attach across zones.", strings.Join(reqs, "; ")))
			}
			for _, n := range hosts {
				node := d.node(n)
				if node == nil {
					why += fmt.Sprintf(", and node %s is not in the cluster any more", n)
					continue
				}
				var state []string
				if node.Spec.Unschedulable {
					state = append(state, "cordoned (spec.unschedulable, drained)")
					proof = append(proof, "node "+n+": spec.unschedulable=true")
				}
				if c := nodeCondition(node, corev1.NodeReady); c != nil && c.Status != corev1.ConditionTrue {
					state = append(state, "NotReady")
				}
				for _, t := range node.Spec.Taints {
					if t.Effect == corev1.TaintEffectNoSchedule || t.Effect == corev1.TaintEffectNoExecute {
						proof = appendUnique(proof, fmt.Sprintf("node %s taint %s:%s", n, t.Key, t.Effect))
					}
				}
				if len(state) > 0 {
					why += fmt.Sprintf(", and %s is %s", n, strings.Join(state, " and "))
					actions = append(actions, fmt.Sprintf("kubectl uncordon %s   # if its maintenance is over; a local volume can only be used on its node", n))
				}
			}
			if len(hosts) > 0 {
				actions = append(actions, "Or move the data: restore it to a new PVC on another node (local volumes do not follow pods).")
			}
		}
	}
	return
}

func nodeCondition(n *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		if n.Status.Conditions[i].Type == t {
			return &n.Status.Conditions[i]
		}
	}
	return nil
}

// nodesNamedIn reports whether objects name at least one node and every
// node they name occurs in text.
func nodesNamedIn(objects []string, text string) bool {
	n := 0
	for _, o := range objects {
		name, ok := strings.CutPrefix(o, "node/")
		if !ok {
			continue
		}
		if !strings.Contains(text, name) {
			return false
		}
		n++
	}
	return n > 0
}
