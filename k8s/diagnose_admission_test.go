package k8s

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func rejected(reason, msg string) podOpt {
	return func(p *corev1.Pod) {
		p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: reason, Message: "Pod was rejected: " + msg}
	}
}

func TestDiagnoseAdmissionRejections(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	runRuleCases(t, []string{"pod-admission-rejected"}, []ruleCase{
		{
			name: "replicas pinned by spec.nodeName refused for CPU",
			snap: func() *Snapshot {
				var pods []corev1.Pod
				for _, n := range []string{"api-7d9f-aaaaa", "api-7d9f-bbbbb", "api-7d9f-ccccc"} {
					p := newPod("shop", n, ownedByRS("api-7d9f"), withLabels("pod-template-hash", "7d9f"),
						rejected("OutOfcpu", "Node didn't have enough resource: cpu, requested: 1500, used: 3200, capacity: 3920"))
					p.Spec.NodeName = "worker-3"
					pods = append(pods, *p)
				}
				rs := appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api-7d9f"}}
				rs.Spec.Template.Spec.NodeName = "worker-3"
				ev := newEvent("shop", "e1", "Pod", "shop", "api-7d9f-aaaaa", "OutOfcpu", at)
				ev.Message = "Node didn't have enough resource: cpu, requested: 1500, used: 3200, capacity: 3920"
				return &Snapshot{Pods: pods, ReplicaSets: []appsv1.ReplicaSet{rs}, Events: []corev1.Event{*ev}}
			},
			rule:    "pod-admission-rejected",
			summary: []string{"3 pod(s) of Deployment shop/api", "OutOfcpu", "worker-3", "requests 1500m", "3200m", "3920m", "spec.nodeName pins it to worker-3"},
			objects: []string{"deployment/shop/api", "node/worker-3"},
			proof:   []string{"Warning OutOfcpu: Node didn't have enough resource: cpu"},
		},
		{
			name: "bare pod refused for node affinity after a relabel",
			snap: func() *Snapshot {
				p := newPod("batch", "report", rejected("NodeAffinity", "Predicate NodeAffinity failed: node(s) didn't match Pod's node affinity/selector"))
				p.Spec.NodeName = "gpu-1"
				p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}}
				return &Snapshot{Pods: []corev1.Pod{*p}}
			},
			rule:    "pod-admission-rejected",
			summary: []string{"Pod batch/report", "NodeAffinity", "gpu-1", "nodeSelector or required node affinity"},
			objects: []string{"pod/batch/report", "node/gpu-1"},
		},
		{
			name: "memory refusal shows bytes in binary units",
			snap: func() *Snapshot {
				p := newPod("batch", "loader", rejected("OutOfmemory", "Node didn't have enough resource: memory, requested: 4294967296, used: 12884901888, capacity: 16106127360"))
				p.Spec.NodeName = "worker-1"
				return &Snapshot{Pods: []corev1.Pod{*p}}
			},
			rule:    "pod-admission-rejected",
			summary: []string{"requests 4Gi", "12Gi", "15Gi", "spec.nodeName pins it to worker-1"},
		},
		{
			name: "an evicted pod is not an admission refusal",
			snap: func() *Snapshot {
				p := newPod("shop", "api-1")
				p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}
				return &Snapshot{Pods: []corev1.Pod{*p, *newPod("shop", "api-2")}}
			},
		},
	})
}
