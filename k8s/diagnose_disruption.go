package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

var (
	// reEvictionBlocked matches what the eviction API, kubectl drain and
	// the cluster-autoscaler print when a budget refuses an eviction.
	reEvictionBlocked = regexp.MustCompile(`(?i)violate the pod'?s disruption budget|disruption budget|\bpdb\b|cannot evict pod`)
	// reDrainAlert matches alert text about node maintenance: a drain, a
	// cordon, an upgrade, a scale-down, evictions.
	reDrainAlert = regexp.MustCompile(`(?i)drain|cordon|upgrad|scale[- ]?down|evict|disruption|maintenance`)
)

// diagnoseDisruptionBudgets reports PodDisruptionBudgets that allow no
// disruption (status.disruptionsAllowed 0) while something needs to evict
// their pods: eviction events that cite the budget, a pod of theirs on a
// cordoned node, an alert about a drain, an upgrade or a scale-down. It
// explains the 0 from the spec and status (minAvailable equal to the pods
// it selects, maxUnavailable 0, unhealthy pods) and names the drained node.
func diagnoseDisruptionBudgets(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.PodDisruptionBudgets {
		b := &d.s.PodDisruptionBudgets[i]
		if b.Status.DisruptionsAllowed > 0 || b.Status.ObservedGeneration == 0 && b.Status.ExpectedPods == 0 {
			continue
		}
		if f, ok := d.pdbFinding(b); ok {
			out = append(out, f)
		}
	}
	return out
}

func (d *diag) pdbFinding(b *policyv1.PodDisruptionBudget) (investigate.Finding, bool) {
	ref := b.Namespace + "/" + b.Name
	st := b.Status
	var pods []*corev1.Pod
	if sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector); err == nil && b.Spec.Selector != nil {
		for _, p := range d.pods {
			if p.Namespace == b.Namespace && sel.Matches(labels.Set(p.Labels)) {
				pods = append(pods, p)
			}
		}
	}
	proof := []string{fmt.Sprintf("poddisruptionbudget %s: %s; currentHealthy %d, desiredHealthy %d, expectedPods %d, disruptionsAllowed %d",
		ref, pdbSpec(b), st.CurrentHealthy, st.DesiredHealthy, st.ExpectedPods, st.DisruptionsAllowed)}
	objects := []string{"poddisruptionbudget/" + ref}
	// Why the budget allows nothing.
	var why string
	expected := int(st.ExpectedPods)
	switch {
	case b.Spec.MaxUnavailable != nil && scaled(b.Spec.MaxUnavailable, expected, true) == 0:
		why = fmt.Sprintf("its maxUnavailable: %s allows no pod to be disrupted at all", b.Spec.MaxUnavailable.String())
	case b.Spec.MinAvailable != nil && expected > 0 && scaled(b.Spec.MinAvailable, expected, true) >= expected:
		why = fmt.Sprintf("its minAvailable: %s requires all %d pods it selects to stay available (desiredHealthy %d = expectedPods %d), none may be evicted",
			b.Spec.MinAvailable.String(), expected, st.DesiredHealthy, st.ExpectedPods)
	case st.CurrentHealthy < st.DesiredHealthy:
		why = fmt.Sprintf("only %d of the %d pods it requires are healthy", st.CurrentHealthy, st.DesiredHealthy)
		var bad []string
		for _, p := range pods {
			if s := podProblem(p); s != "" {
				bad = append(bad, p.Name+" is "+s)
			}
		}
		if len(bad) > 0 {
			why += " (" + strings.Join(bad[:min(len(bad), 3)], "; ") + ")"
		}
		why += ": evicting a healthy pod would drop below the budget"
	default:
		why = fmt.Sprintf("its %d healthy pods are exactly the %d it requires", st.CurrentHealthy, st.DesiredHealthy)
	}
	// What it blocks.
	blocked := false
	var evictions []string
	var nodes []string
	isPod := map[string]bool{}
	for _, p := range pods {
		isPod[p.Name] = true
	}
	for i := range d.s.Events {
		e := &d.s.Events[i]
		io := e.InvolvedObject
		if !reEvictionBlocked.MatchString(e.Message) {
			continue
		}
		mine := io.Kind == "PodDisruptionBudget" && io.Name == b.Name && io.Namespace == b.Namespace ||
			io.Kind == "Pod" && io.Namespace == b.Namespace && isPod[io.Name]
		if io.Kind == "Node" {
			for _, p := range pods {
				if strings.Contains(e.Message, p.Name) || strings.Contains(e.Message, b.Name) {
					mine = true
				}
			}
			if mine {
				nodes = appendUnique(nodes, io.Name)
			}
		}
		if mine {
			blocked = true
			evictions = appendUnique(evictions, evProof(e))
		}
	}
	var onCordoned []string
	for _, p := range pods {
		objects = append(objects, podRef(p))
		if n := d.node(p.Spec.NodeName); n != nil && n.Spec.Unschedulable {
			blocked = true
			nodes = appendUnique(nodes, n.Name)
			onCordoned = appendUnique(onCordoned, p.Name)
			proof = appendUnique(proof, fmt.Sprintf("node %s spec.unschedulable: true (cordoned) and still runs pod %s", n.Name, p.Name))
		}
	}
	alertSays := ""
	if a := d.s.Alert; a != nil {
		text := a.Name() + " " + a.Summary() + " " + a.Description()
		if reDrainAlert.MatchString(text) {
			alertSays = strings.TrimSpace(a.Name() + ": " + clip(firstNonBlank(a.Summary(), a.Description()), 160))
			blocked = true
		}
	}
	if d.s.Target.Kind == investigate.KindPodDisruptionBudget && d.s.Target.Name == b.Name {
		blocked = true
	}
	proof = append(proof, evictions...)
	for _, n := range nodes {
		objects = appendUnique(objects, "node/"+n)
	}
	workload := ""
	if len(pods) > 0 {
		workload = ownerName(pods[0])
	}
	sum := fmt.Sprintf("PodDisruptionBudget %s allows 0 disruptions (disruptionsAllowed: 0): %s", ref, why)
	switch {
	case len(nodes) > 0 && len(onCordoned) > 0:
		sum += fmt.Sprintf("; the eviction API therefore refuses to evict %s, and the drain of cordoned node %s cannot finish", joinNames(onCordoned), joinNames(nodes))
	case len(nodes) > 0:
		sum += fmt.Sprintf("; the drain of node %s therefore cannot evict its pods", joinNames(nodes))
	case len(evictions) > 0:
		sum += "; the eviction API therefore refuses the evictions of its pods"
	default:
		sum += "; any drain, node upgrade or cluster-autoscaler scale-down that must evict one of its pods is blocked"
	}
	if len(evictions) > 0 {
		sum += " (\"Cannot evict pod as it would violate the pod's disruption budget\")"
	}
	if alertSays != "" {
		proof = append(proof, "alert "+alertSays)
	}
	score := scoreCause + 5
	if !blocked {
		score = scoreContext
	}
	fix := "Lower minAvailable below the number of replicas (or use maxUnavailable: 1)"
	if workload != "" {
		fix += fmt.Sprintf(", or scale %s up by one", workload)
	}
	fix += ", so one pod may be evicted at a time; the drain then proceeds."
	if st.CurrentHealthy < st.DesiredHealthy {
		fix = "Make the unhealthy pods healthy, or set spec.unhealthyPodEvictionPolicy: AlwaysAllow so pods that are not ready can be evicted; the drain then proceeds."
	}
	act := []string{fmt.Sprintf("kubectl get pdb -n %s %s -o yaml", b.Namespace, b.Name), fix}
	if len(nodes) > 0 {
		act = append(act, fmt.Sprintf("kubectl get pods -A --field-selector spec.nodeName=%s   # what the drain of %s still waits for", nodes[0], nodes[0]))
	}
	return investigate.Finding{
		Rule: "pdb-blocks-eviction", Severity: investigate.FindingWarning, Score: score,
		Summary: sum + ".", Objects: objects, Proof: proof, Actions: act,
		Detail:     "Voluntary disruptions (kubectl drain, node upgrades, the cluster-autoscaler's scale-down) go through the eviction API, which refuses with 429 while a PodDisruptionBudget selecting the pod has disruptionsAllowed 0; the drain retries forever.",
		Impact:     "Node maintenance (drain, upgrade, scale-down) is stuck while the budget allows no eviction.",
		Prevention: "Keep minAvailable below the replica count (or maxUnavailable ≥ 1) for every budget, and check budgets against replicas in CI.",
	}, true
}

// pdbSpec renders a budget's minAvailable/maxUnavailable.
func pdbSpec(b *policyv1.PodDisruptionBudget) string {
	var parts []string
	if b.Spec.MinAvailable != nil {
		parts = append(parts, "minAvailable: "+b.Spec.MinAvailable.String())
	}
	if b.Spec.MaxUnavailable != nil {
		parts = append(parts, "maxUnavailable: "+b.Spec.MaxUnavailable.String())
	}
	if b.Spec.UnhealthyPodEvictionPolicy != nil {
		parts = append(parts, "unhealthyPodEvictionPolicy: "+string(*b.Spec.UnhealthyPodEvictionPolicy))
	}
	return strings.Join(parts, ", ")
}

// scaled resolves an int-or-percent against total (rounding up when
// roundUp, as the disruption controller does for minAvailable).
func scaled(v *intstr.IntOrString, total int, roundUp bool) int {
	n, err := intstr.GetScaledValueFromIntOrPercent(v, total, roundUp)
	if err != nil {
		return -1
	}
	return n
}

func firstNonBlank(xs ...string) string {
	for _, x := range xs {
		if strings.TrimSpace(x) != "" {
			return strings.TrimSpace(x)
		}
	}
	return ""
}
