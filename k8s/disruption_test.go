package k8s

import (
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
