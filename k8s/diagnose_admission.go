package k8s

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// The kubelet re-checks a pod against its node when it receives it; a pod
// that does not fit is never started: the kubelet sets phase Failed,
// status.reason to the failed check (OutOfcpu, OutOfmemory, NodeAffinity,
// TaintToleration, NodePorts, UnexpectedAdmissionError,
// TopologyAffinityError, SysctlForbidden, …) and status.message to
// "Pod was rejected: " + its message, and records an event of the same
// reason on the pod.
const kubeletRejectedPrefix = "Pod was rejected: "

// reInsufficient is the kubelet's message for a resource the node lacks.
var reInsufficient = regexp.MustCompile(`Node didn't have enough resource: ([\w./-]+), requested: (\d+), used: (\d+), capacity: (\d+)`)

// admissionMechanisms says, per reason, what the kubelet found wrong.
var admissionMechanisms = map[string]string{
	"NodeAffinity":                       "the node's labels do not satisfy the pod's nodeSelector or required node affinity",
	"TaintToleration":                    "the node has a NoExecute/NoSchedule taint the pod does not tolerate",
	"NodePorts":                          "a hostPort the pod asks for is already taken on the node",
	"NodeName":                           "spec.nodeName names another node",
	"UnexpectedAdmissionError":           "a kubelet resource manager (device plugin, CPU or memory manager) failed to allocate the pod's resources",
	"TopologyAffinityError":              "the Topology Manager cannot align the pod's CPUs, memory and devices on one NUMA node under its policy",
	"SMTAlignmentError":                  "the CPU manager's full-pcpus-only policy requires CPU requests in whole physical cores",
	"SysctlForbidden":                    "the pod sets an unsafe sysctl the kubelet does not allow (--allowed-unsafe-sysctls)",
	"AppArmor":                           "the node cannot enforce the pod's AppArmor profile (not loaded there)",
	"PodOSNotSupported":                  "the pod's spec.os.name differs from the node's operating system",
	"PodOSSelectorNodeLabelDoesNotMatch": "the pod's kubernetes.io/os node selector differs from the node's OS label",
	"InvalidNodeInfo":                    "the kubelet cannot read its own Node object",
	"EmptyPodSharedPoolError":            "the CPU manager's shared pool would be left empty",
	"VolumeAttachmentLimitExceeded":      "the node is at its CSI driver's limit of attached volumes",
}

// rejection is the kubelet refusing the pods of one owner on one node for
// one reason.
type rejection struct {
	owner, ns, node, reason, message string
	pods                             []string
	sample                           *corev1.Pod
}

// diagnoseAdmissionRejections reports pods the kubelet refused at
// admission, grouped by owner, node and reason: the node, the failed check
// and its values (the resource requested, used and the node's capacity),
// how the pod reached a node it does not fit (spec.nodeName set directly,
// another scheduler), and how many replacements the controller has made.
func diagnoseAdmissionRejections(d *diag) []investigate.Finding {
	groups := map[string]*rejection{}
	var order []string
	for _, p := range d.pods {
		if p.Status.Phase != corev1.PodFailed || !strings.HasPrefix(p.Status.Message, kubeletRejectedPrefix) || p.Status.Reason == "" {
			continue
		}
		if !d.target[podKey(p)] && !d.siblingOfTarget(p) {
			continue
		}
		owner := ownerName(p)
		k := p.Namespace + "|" + owner + "|" + p.Spec.NodeName + "|" + p.Status.Reason
		g := groups[k]
		if g == nil {
			g = &rejection{owner: owner, ns: p.Namespace, node: p.Spec.NodeName, reason: p.Status.Reason,
				message: strings.TrimPrefix(p.Status.Message, kubeletRejectedPrefix), sample: p}
			groups[k] = g
			order = append(order, k)
		}
		g.pods = append(g.pods, p.Name)
	}
	var out []investigate.Finding
	for _, k := range order {
		out = append(out, d.rejectionFinding(groups[k]))
	}
	return out
}

// siblingOfTarget reports whether the pod has the same controller as a pod
// under investigation.
func (d *diag) siblingOfTarget(p *corev1.Pod) bool {
	o := ownerName(p)
	if o == "" {
		return false
	}
	for _, q := range d.pods {
		if d.target[podKey(q)] && q.Namespace == p.Namespace && ownerName(q) == o {
			return true
		}
	}
	return false
}

func (d *diag) rejectionFinding(g *rejection) investigate.Finding {
	p := g.sample
	subject := "Pod " + qualified(g.ns, p.Name)
	objs := []string{"pod/" + g.ns + "/" + p.Name}
	if g.owner != "" {
		subject = fmt.Sprintf("%d pod(s) of %s %s/%s", len(g.pods), ownerKindTitle(g.owner), g.ns, strings.SplitN(g.owner, "/", 2)[1])
		objs = append([]string{g.owner[:strings.Index(g.owner, "/")+1] + g.ns + "/" + g.owner[strings.Index(g.owner, "/")+1:]}, objs...)
	}
	if g.node != "" {
		objs = append(objs, "node/"+g.node)
	}
	proof := []string{fmt.Sprintf("pod %s/%s phase=Failed status.reason=%s status.message=%q node=%s", g.ns, p.Name, g.reason, clip(p.Status.Message, 300), g.node)}
	for _, e := range d.eventsWithReason(p, g.reason) {
		proof = appendUnique(proof, "pod "+p.Name+": "+evProof(e))
	}
	if len(g.pods) > 1 {
		names := append([]string(nil), g.pods...)
		sort.Strings(names)
		proof = append(proof, fmt.Sprintf("rejected pods with reason %s on %s: %s", g.reason, g.node, strings.Join(clipList(names, 6), ", ")))
	}
	var what string
	var actions []string
	if m := reInsufficient.FindStringSubmatch(g.message); m != nil {
		res := corev1.ResourceName(m[1])
		req, used, capa := admissionQty(res, m[2]), admissionQty(res, m[3]), admissionQty(res, m[4])
		what = fmt.Sprintf("node %s has not enough %s for it: the pod requests %s, the pods admitted there already use %s of the node's allocatable %s", g.node, res, req, used, capa)
		actions = append(actions, fmt.Sprintf("kubectl describe node %s   # Allocated resources: what holds the %s", g.node, res))
	} else if mech, ok := admissionMechanisms[g.reason]; ok {
		what = fmt.Sprintf("on node %s %s: %s", g.node, mech, clip(g.message, 300))
	} else {
		what = fmt.Sprintf("on node %s: %s", g.node, clip(g.message, 300))
	}
	how := d.howPodReachedNode(p)
	if how != "" {
		proof = append(proof, how)
	}
	sum := fmt.Sprintf("The kubelet refused %s at admission (%s): %s.", subject, g.reason, what)
	if how != "" {
		sum += " " + upperFirst(how) + "."
	}
	actions = append(actions, fmt.Sprintf("kubectl get pods -n %s --field-selector=status.phase=Failed -o wide   # the rejected pods (they stay until deleted)", g.ns))
	if strings.Contains(how, "spec.nodeName") {
		actions = append(actions, "Remove spec.nodeName from the pod template and let the scheduler place the pod (use a nodeSelector or node affinity to constrain it).")
	}
	return investigate.Finding{
		Rule: "pod-admission-rejected", Severity: investigate.FindingCritical, Score: scoreCause,
		Summary: sum,
		Detail: "The kubelet re-runs the node checks when it receives a pod; a pod that fails them is never started: it is marked Failed with the check's reason and stays so. " +
			"A controller replaces it with a new pod that is refused again whenever it reaches the same node the same way.",
		Objects: objs, Proof: proof, Actions: actions,
		Impact:     "The workload runs fewer replicas than desired; Failed pods pile up while the controller keeps replacing them.",
		Prevention: "Let the scheduler bind pods (no spec.nodeName in templates) so its resource and label checks run before the kubelet's.",
	}
}

// howPodReachedNode says how a rejected pod came to be bound to a node it
// does not fit, when the evidence shows it.
func (d *diag) howPodReachedNode(p *corev1.Pod) string {
	pinned := false
	if ref := metav1.GetControllerOf(p); ref != nil {
		if ref.Kind == "DaemonSet" {
			return "" // the DaemonSet controller binds its pods itself
		}
		if tpl := d.template(ref.Kind, p.Namespace, ref.Name); tpl != nil && tpl.Spec.NodeName != "" {
			pinned = true
		}
	} else if p.Spec.NodeName != "" && !podScheduledByScheduler(p) {
		pinned = true
	}
	switch {
	case pinned:
		return fmt.Sprintf("its spec.nodeName pins it to %s, so the scheduler never checked the node's free resources, labels or taints", p.Spec.NodeName)
	case p.Spec.SchedulerName != "" && p.Spec.SchedulerName != corev1.DefaultSchedulerName:
		return fmt.Sprintf("it is placed by scheduler %q (spec.schedulerName), whose view of the node disagrees with the kubelet's", p.Spec.SchedulerName)
	}
	return ""
}

// podScheduledByScheduler reports whether the pod carries the PodScheduled
// condition the scheduler sets when it binds a pod.
func podScheduledByScheduler(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionTrue {
			return true
		}
	}
	return false
}

// admissionQty renders a value of the kubelet's InsufficientResourceError:
// CPU in millicores, other resources in their base unit.
func admissionQty(res corev1.ResourceName, v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return v
	}
	switch res {
	case corev1.ResourceCPU:
		return fmtQty(res, *resource.NewMilliQuantity(n, resource.DecimalSI))
	case corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return humanBytes(n)
	}
	return v
}

func ownerKindTitle(owner string) string {
	kind, _, _ := strings.Cut(owner, "/")
	switch kind {
	case "replicaset":
		return "ReplicaSet"
	case "statefulset":
		return "StatefulSet"
	case "daemonset":
		return "DaemonSet"
	case "deployment":
		return "Deployment"
	case "job":
		return "Job"
	}
	return kind
}

func clipList(xs []string, n int) []string {
	if len(xs) <= n {
		return xs
	}
	return append(xs[:n:n], fmt.Sprintf("… %d more", len(xs)-n))
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// humanBytes renders a byte count in binary units, rounded to one decimal
// ("12Gi", "1.5Gi", "512Mi").
func humanBytes(n int64) string {
	units := []string{"Ki", "Mi", "Gi", "Ti"}
	v, u := float64(n), ""
	for _, x := range units {
		if v < 1024 {
			break
		}
		v, u = v/1024, x
	}
	s := strconv.FormatFloat(v, 'f', 1, 64)
	return strings.TrimSuffix(s, ".0") + u
}
