package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

func TestDiagnoseDisruptionBudgets(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	atLimit := func(b *policyv1.PodDisruptionBudget, healthy, desired, expected int32) policyv1.PodDisruptionBudget {
		b.Status = policyv1.PodDisruptionBudgetStatus{ObservedGeneration: 1, CurrentHealthy: healthy, DesiredHealthy: desired, ExpectedPods: expected}
		return *b
	}
	cordoned := func(name string) corev1.Node {
		n := nodeWith(name, withCond(cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"))...)
		n.Spec.Unschedulable = true
		return n
	}
	runRuleCases(t, []string{"pdb-"}, []ruleCase{
		{name: "minAvailable equal to the replicas blocks a drain", rule: "pdb-blocks-eviction",
			snap: func() *Snapshot {
				ev := newEvent("default", "e1", "Node", "", "worker-1", "FailedDraining", at)
				ev.Message = `error when evicting pods/"api-7c-a" -n "shop" (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.`
				return &Snapshot{Nodes: []corev1.Node{cordoned("worker-1")},
					Pods: []corev1.Pod{*newPod("shop", "api-7c-a", withLabels("app", "api"), onNode("worker-1"), ownedByRS("api-7c")),
						*newPod("shop", "api-7c-b", withLabels("app", "api"), onNode("worker-2"), ownedByRS("api-7c"))},
					PodDisruptionBudgets: []policyv1.PodDisruptionBudget{atLimit(newPDB("shop", "api", map[string]string{"app": "api"}, 2), 2, 2, 2)},
					Events:               []corev1.Event{*ev}}
			},
			summary: []string{"PodDisruptionBudget shop/api allows 0 disruptions", "minAvailable: 2 requires all 2 pods", "api-7c-a", "cordoned node worker-1"},
			objects: []string{"poddisruptionbudget/shop/api", "node/worker-1", "pod/shop/api-7c-a"},
			proof:   []string{"violate the pod's disruption budget", "spec.unschedulable: true"}},
		{name: "maxUnavailable 0 under a cluster upgrade alert", rule: "pdb-blocks-eviction",
			snap: func() *Snapshot {
				b := newPDB("data", "kafka", map[string]string{"app": "kafka"}, 0)
				zero := intstr.FromString("0%")
				b.Spec.MinAvailable, b.Spec.MaxUnavailable = nil, &zero
				return &Snapshot{Pods: []corev1.Pod{*newPod("data", "kafka-0", withLabels("app", "kafka"))},
					PodDisruptionBudgets: []policyv1.PodDisruptionBudget{atLimit(b, 3, 3, 3)},
					Alert:                &investigate.Alert{Labels: map[string]string{"alertname": "NodeUpgradeStalled"}, Annotations: map[string]string{"summary": "Node pool upgrade has not progressed for 1h"}}}
			},
			summary: []string{"data/kafka", "maxUnavailable: 0% allows no pod to be disrupted"},
			proof:   []string{"alert NodeUpgradeStalled"}},
		{name: "unhealthy pods leave no budget", rule: "pdb-blocks-eviction",
			snap: func() *Snapshot {
				return &Snapshot{Nodes: []corev1.Node{cordoned("worker-3")},
					Pods: []corev1.Pod{*newPod("shop", "cart-0", withLabels("app", "cart"), onNode("worker-3")),
						*newPod("shop", "cart-1", withLabels("app", "cart"), crashLooping(5))},
					PodDisruptionBudgets: []policyv1.PodDisruptionBudget{atLimit(newPDB("shop", "cart", map[string]string{"app": "cart"}, 2), 1, 2, 3)}}
			},
			summary: []string{"only 1 of the 2 pods it requires are healthy", "cart-1 is not running (CrashLoopBackOff)", "worker-3"}},
		{name: "a budget with room blocks nothing",
			snap: func() *Snapshot {
				b := atLimit(newPDB("shop", "web", map[string]string{"app": "web"}, 1), 3, 1, 3)
				b.Status.DisruptionsAllowed = 2
				return &Snapshot{Nodes: []corev1.Node{cordoned("worker-1")}, Pods: []corev1.Pod{*newPod("shop", "web-0", withLabels("app", "web"), onNode("worker-1"))},
					PodDisruptionBudgets: []policyv1.PodDisruptionBudget{b}}
			}},
	})
	// A budget at its limit with nothing to evict is context, not a cause.
	s := &Snapshot{Pods: []corev1.Pod{*newPod("shop", "web-0", withLabels("app", "web"))},
		PodDisruptionBudgets: []policyv1.PodDisruptionBudget{atLimit(newPDB("shop", "web", map[string]string{"app": "web"}, 1), 1, 1, 1)}}
	for _, f := range s.Diagnose() {
		if f.Rule == "pdb-blocks-eviction" && f.Score > scoreContext {
			t.Errorf("idle budget scored %d: %s", f.Score, f.Summary)
		}
	}
}
