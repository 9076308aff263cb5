package k8s

import (
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/k8flex/k8flex/investigate"
)

// diagnoseDaemonSets reports DaemonSets that the DaemonSet controller
// keeps off nodes it should cover: a node taint (NoSchedule or NoExecute)
// the pod template does not tolerate, or node labels its nodeSelector or
// required node affinity no longer match. The controller creates no pod
// on such a node, and a pod already running there (placed before the
// taint or label change) counts as misscheduled.
func diagnoseDaemonSets(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.DaemonSets {
		if f, ok := d.daemonSetNodes(&d.s.DaemonSets[i]); ok {
			out = append(out, f)
		}
	}
	return out
}

func (d *diag) daemonSetNodes(ds *appsv1.DaemonSet) (investigate.Finding, bool) {
	spec := &ds.Spec.Template.Spec
	hasPod := map[string]bool{}
	for _, p := range d.pods {
		if o := controllerOf(p); o != nil && o.Kind == "DaemonSet" && o.Name == ds.Name && p.Namespace == ds.Namespace && p.Spec.NodeName != "" && !isTerminating(p) {
			hasPod[p.Spec.NodeName] = true
		}
	}
	type blocked struct{ nodes, without, with []string }
	byTaint := map[string]*blocked{}
	var taintOrder []string
	var unmatched, unmatchedWith []string
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		selOK := nodeMatchesPodSpec(spec, n)
		t := untoleratedTaint(spec.Tolerations, n.Spec.Taints)
		switch {
		case t != nil && selOK:
			k := t.ToString()
			b := byTaint[k]
			if b == nil {
				b = &blocked{}
				byTaint[k] = b
				taintOrder = append(taintOrder, k)
			}
			b.nodes = append(b.nodes, n.Name)
			if hasPod[n.Name] {
				b.with = append(b.with, n.Name)
			} else {
				b.without = append(b.without, n.Name)
			}
		case !selOK && hasPod[n.Name]:
			unmatchedWith = append(unmatchedWith, n.Name)
			unmatched = append(unmatched, n.Name)
		}
	}
	mis := ds.Status.NumberMisscheduled
	target := d.s.Target
	isTarget := strings.EqualFold(string(target.Kind), "DaemonSet") && target.Name == ds.Name || target.Workload.Name == ds.Name && strings.EqualFold(string(target.Workload.Kind), "DaemonSet")
	misplaced := len(unmatchedWith)
	for _, b := range byTaint {
		misplaced += len(b.with)
	}
	if len(byTaint) == 0 && len(unmatched) == 0 {
		return investigate.Finding{}, false
	}
	// Taints that keep a DaemonSet off some nodes are often deliberate;
	// they explain an alert about this DaemonSet, or pods it counts as
	// misscheduled.
	if !isTarget && (mis == 0 || misplaced == 0) {
		return investigate.Finding{}, false
	}
	sort.Strings(taintOrder)
	ref := "daemonset/" + ds.Namespace + "/" + ds.Name
	objs := []string{ref}
	var parts, proof, actions []string
	proof = append(proof, fmt.Sprintf("daemonset %s status: desiredNumberScheduled %d, currentNumberScheduled %d, numberMisscheduled %d, numberReady %d",
		ds.Name, ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, mis, ds.Status.NumberReady))
	var tols []string
	for _, t := range spec.Tolerations {
		tols = append(tols, tolerationString(t))
	}
	proof = append(proof, fmt.Sprintf("daemonset %s tolerations: %s", ds.Name, orNoneList(tols)))
	for _, k := range taintOrder {
		b := byTaint[k]
		s := fmt.Sprintf("it does not tolerate the taint %s of %s %s", k, plural(len(b.nodes), "node", "nodes"), joinNames(b.nodes))
		var what []string
		if len(b.without) > 0 {
			what = append(what, fmt.Sprintf("%s %s no pod", joinNames(b.without), plural(len(b.without), "gets", "get")))
		}
		if len(b.with) > 0 {
			what = append(what, fmt.Sprintf("the %s already on %s %s counted as misscheduled", plural(len(b.with), "pod", "pods"), joinNames(b.with), plural(len(b.with), "is", "are")))
		}
		if len(what) > 0 {
			s += " (" + strings.Join(what, "; ") + ")"
		}
		parts = append(parts, s)
		for _, n := range b.nodes {
			objs = append(objs, "node/"+n)
			proof = append(proof, fmt.Sprintf("node %s taint %s", n, k))
		}
		key, rest, _ := strings.Cut(k, "=")
		val, eff, ok := strings.Cut(rest, ":")
		if !ok { // a taint without a value renders as key:Effect
			key, eff, _ = strings.Cut(k, ":")
			val = ""
		}
		tol := fmt.Sprintf(`{key: %q, operator: "Equal", value: %q, effect: %q}`, key, val, eff)
		if val == "" {
			tol = fmt.Sprintf(`{key: %q, operator: "Exists", effect: %q}`, key, eff)
		}
		actions = append(actions, fmt.Sprintf("Add the toleration %s to the pod template of DaemonSet %s/%s if it must run on those nodes (node agents usually must).", tol, ds.Namespace, ds.Name))
	}
	if len(unmatched) > 0 {
		parts = append(parts, fmt.Sprintf("%s no longer %s its nodeSelector/node affinity (%s), so the pods there are misscheduled", joinNames(unmatched), plural(len(unmatched), "matches", "match"), selectorDesc(spec)))
		for _, n := range unmatched {
			objs = append(objs, "node/"+n)
		}
		actions = append(actions, fmt.Sprintf("Align the nodeSelector/affinity of DaemonSet %s/%s with the nodes' labels (kubectl get nodes --show-labels).", ds.Namespace, ds.Name))
	}
	sum := fmt.Sprintf("DaemonSet %s/%s does not cover every node: %s", ds.Namespace, ds.Name, strings.Join(parts, "; "))
	if mis > 0 {
		sum += fmt.Sprintf(" (numberMisscheduled %d)", mis)
	}
	actions = append(actions, fmt.Sprintf("kubectl get nodes -o custom-columns=NAME:.metadata.name,TAINTS:.spec.taints; kubectl get ds -n %s %s -o jsonpath='{.spec.template.spec.tolerations}'", ds.Namespace, ds.Name))
	return investigate.Finding{
		Rule: "daemonset-nodes", Severity: investigate.FindingCritical, Score: scoreCause + 5, Category: investigate.PodPending,
		Summary: sum + ".",
		Detail:  "The DaemonSet controller places a pod only on nodes whose NoSchedule/NoExecute taints it tolerates and whose labels match its nodeSelector and required node affinity; it tolerates the node.kubernetes.io/* condition taints by itself, any other taint needs a toleration in the pod template.",
		Objects: objs, Proof: proof, Actions: actions,
		Impact:     fmt.Sprintf("The nodes without a pod of DaemonSet %s/%s lack what it provides there (log shipping, monitoring, networking or storage agent).", ds.Namespace, ds.Name),
		Prevention: "When adding a taint to a node pool, list the DaemonSets that must still run there and add their tolerations first; alert on KubeDaemonSetNotScheduled/MisScheduled.",
	}, true
}

// untoleratedTaint returns the first NoSchedule/NoExecute taint of the node
// that no toleration tolerates, skipping the node.kubernetes.io/* taints
// the DaemonSet controller tolerates by itself.
func untoleratedTaint(tols []corev1.Toleration, taints []corev1.Taint) *corev1.Taint {
	for i := range taints {
		t := &taints[i]
		if t.Effect == corev1.TaintEffectPreferNoSchedule || strings.HasPrefix(t.Key, "node.kubernetes.io/") {
			continue
		}
		ok := false
		for j := range tols {
			if tolerates(tols[j], *t) {
				ok = true
				break
			}
		}
		if !ok {
			return t
		}
	}
	return nil
}

// nodeMatchesPodSpec reports whether the node's labels satisfy the pod's
// nodeSelector and required node affinity.
func nodeMatchesPodSpec(spec *corev1.PodSpec, n *corev1.Node) bool {
	if len(spec.NodeSelector) > 0 && !labels.SelectorFromSet(spec.NodeSelector).Matches(labels.Set(n.Labels)) {
		return false
	}
	a := spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return true
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	if len(terms) == 0 {
		return true
	}
	for _, t := range terms {
		if termMatches(t, n) {
			return true
		}
	}
	return false
}

// termMatches evaluates one NodeSelectorTerm (its expressions ANDed).
func termMatches(t corev1.NodeSelectorTerm, n *corev1.Node) bool {
	if len(t.MatchExpressions) == 0 && len(t.MatchFields) == 0 {
		return false
	}
	for _, e := range t.MatchExpressions {
		if !matchRequirement(e, n.Labels) {
			return false
		}
	}
	for _, e := range t.MatchFields {
		if e.Key != "metadata.name" || !matchRequirement(corev1.NodeSelectorRequirement{Key: e.Key, Operator: e.Operator, Values: e.Values}, map[string]string{e.Key: n.Name}) {
			return false
		}
	}
	return true
}

func tolerationString(t corev1.Toleration) string {
	s := t.Key
	if t.Operator == corev1.TolerationOpExists {
		if s == "" {
			s = "*"
		}
		s += " Exists"
	} else {
		s += "=" + t.Value
	}
	if t.Effect != "" {
		s += ":" + string(t.Effect)
	}
	return s
}

func selectorDesc(spec *corev1.PodSpec) string {
	var parts []string
	for _, k := range sortedKeys(spec.NodeSelector) {
		parts = append(parts, k+"="+spec.NodeSelector[k])
	}
	if a := spec.Affinity; a != nil && a.NodeAffinity != nil && a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution != nil {
		parts = append(parts, "required node affinity")
	}
	return orNoneList(parts)
}

func orNoneList(xs []string) string {
	if len(xs) == 0 {
		return "none"
	}
	return strings.Join(xs, ", ")
}
