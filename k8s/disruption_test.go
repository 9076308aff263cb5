package k8s

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

func newPDB(ns, name string, selector map[string]string, minAvailable int) *policyv1.PodDisruptionBudget {
	m := intstr.FromInt32(int32(minAvailable))
	return &policyv1.PodDisruptionBudget{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: policyv1.PodDisruptionBudgetSpec{MinAvailable: &m, Selector: &metav1.LabelSelector{MatchLabels: selector}}}
}

// A PDB is kept when it selects the workload's pods, or its pod template
// when the workload has no pod at all; a PDB of other pods is not.
func TestCollectDisruptionBudgets(t *testing.T) {
	pdb := newPDB("data", "db", map[string]string{"app": "db"}, 3)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{CurrentHealthy: 2, DesiredHealthy: 3, ExpectedPods: 3, DisruptionsAllowed: 0,
		Conditions: []metav1.Condition{{Type: policyv1.DisruptionAllowedCondition, Status: metav1.ConditionFalse, Reason: policyv1.InsufficientPodsReason, Message: "not enough healthy pods"}}}
	other := newPDB("data", "cache", map[string]string{"app": "cache"}, 1)
	one := int32(3)
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "data", Name: "db"}, Spec: appsv1.StatefulSetSpec{
		Replicas: &one, Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}
	sts.Spec.Template.Labels = map[string]string{"app": "db"}
	target := investigate.Target{Kind: investigate.KindStatefulSet, Name: "db", Namespace: "data", Workload: investigate.Ref{Kind: investigate.KindStatefulSet, Name: "db"}}

	for _, tt := range []struct {
		name string
		pods []runtime.Object
	}{
		{"through the pods", []runtime.Object{newPod("data", "db-0", withLabels("app", "db"), controlledBy("StatefulSet", "db"), crashLooping(2))}},
		{"through the pod template (no pod)", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := append([]runtime.Object{sts, pdb, other}, tt.pods...)
			s := gatherWith(t, objs, mapLogs{}, target, investigate.PodCrash)
			if len(s.PodDisruptionBudgets) != 1 || s.PodDisruptionBudgets[0].Name != "db" {
				t.Fatalf("PDBs = %v, want only db", s.PodDisruptionBudgets)
			}
			containsAll(t, "scaling section", section(t, s, "scaling"),
				"PodDisruptionBudget data/db selects pods app=db: minAvailable 3; 2 healthy of 3 desired healthy, 3 expected pods, disruptions allowed 0",
				"DisruptionAllowed=False InsufficientPods")
		})
	}
}

// A node investigation reads the budgets of the pods on the node (in any
// namespace), and a budget named by the alert is investigated through the
// pods it selects, healthy ones included.
func TestDisruptionBudgetsOfNodeAndBudgetTargets(t *testing.T) {
	pdb := newPDB("shop", "web-pdb", map[string]string{"app": "web"}, 2)
	pdb.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: 2, DesiredHealthy: 2, ExpectedPods: 2}
	other := newPDB("shop", "db-pdb", map[string]string{"app": "db"}, 1)
	node := newNode("worker-1", "10.0.0.1")
	node.Spec.Unschedulable = true
	objs := []runtime.Object{pdb, other, node, newNode("worker-2", "10.0.0.2"),
		newPod("shop", "web-a", withLabels("app", "web"), onNode("worker-1")),
		newPod("shop", "web-b", withLabels("app", "web"), onNode("worker-2")),
		newPod("shop", "db-0", withLabels("app", "db"), onNode("worker-2"))}

	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}, investigate.NodeNotReady)
	if len(s.PodDisruptionBudgets) != 1 || s.PodDisruptionBudgets[0].Name != "web-pdb" {
		t.Fatalf("node target: PDBs = %v, want only web-pdb", s.PodDisruptionBudgets)
	}

	target := investigate.TargetFromLabels(map[string]string{"alertname": "PodDisruptionBudgetAtLimit", "namespace": "shop", "poddisruptionbudget": "web-pdb"})
	if target.Kind != investigate.KindPodDisruptionBudget || target.Name != "web-pdb" {
		t.Fatalf("target = %+v, want the budget", target)
	}
	s = gatherWith(t, objs, mapLogs{}, target, investigate.NodeNotReady)
	if got := podNames(s.Pods); len(got) != 2 || got[0] != "web-a" && got[1] != "web-a" {
		t.Fatalf("budget target: pods = %v, want web-a and web-b", got)
	}
	if len(s.PodDisruptionBudgets) != 1 {
		t.Fatalf("budget target: PDBs = %v, want web-pdb once", s.PodDisruptionBudgets)
	}
	var top string
	if fs := s.Diagnose(); len(fs) > 0 {
		top = fs[0].Rule + ": " + fs[0].Summary
	}
	for _, w := range []string{"pdb-blocks-eviction", "shop/web-pdb", "minAvailable: 2", "worker-1"} {
		if !strings.Contains(top, w) {
			t.Errorf("top finding lacks %q: %s", w, top)
		}
	}
}
