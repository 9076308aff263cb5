package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// gated gives the pod a readiness gate; status "" leaves its condition
// out, else the condition has that status and message.
func gated(gate string, status corev1.ConditionStatus, msg string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.ReadinessGates = append(p.Spec.ReadinessGates, corev1.PodReadinessGate{ConditionType: corev1.PodConditionType(gate)})
		ready := corev1.ConditionTrue
		if status != corev1.ConditionTrue {
			ready = corev1.ConditionFalse
		}
		p.Status.Conditions = []corev1.PodCondition{
			{Type: corev1.ContainersReady, Status: corev1.ConditionTrue},
			{Type: corev1.PodReady, Status: ready, Reason: "ReadinessGatesNotReady", Message: `corresponding condition of pod readiness gate "` + gate + `" does not exist.`},
		}
		if status != "" {
			p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodConditionType(gate), Status: status, Reason: "Unhealthy", Message: msg})
		}
	}
}

func TestDiagnoseReadinessGates(t *testing.T) {
	const albGate = "target-health.elbv2.k8s.aws/k8s-shop-web-0a1b2c3d4e"
	runRuleCases(t, []string{"readiness-gate"}, []ruleCase{
		{name: "gate condition never set, controller log says why", rule: "readiness-gate",
			snap: func() *Snapshot {
				p := newPod("shop", "web-7d4b9-abcde", ownedByRS("web-7d4b9"), withLabels("app", "web"), gated(albGate, "", ""))
				return &Snapshot{Pods: []corev1.Pod{*p},
					Services: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}},
					Logs: []ContainerLog{{Namespace: "kube-system", Pod: "aws-load-balancer-controller-5f-x", Container: "controller", Lines: []string{
						`{"level":"error","msg":"Reconciler error","name":"k8s-shop-web-0a1b2c3d4e","error":"RegisterTargets: AccessDenied: not authorized to perform elasticloadbalancing:RegisterTargets"}`}}}}
			},
			summary: []string{"web-7d4b9-abcde", albGate, "missing", "ContainersReady=True", "Service shop/web", "AWS Load Balancer Controller", "AccessDenied"}},
		{name: "gate condition False on a StatefulSet pod, with its message", rule: "readiness-gate",
			snap: func() *Snapshot {
				p := newPod("data", "search-0", gated("cloud.google.com/load-balancer-neg-ready", corev1.ConditionFalse, "endpoint unhealthy"))
				p.OwnerReferences = []metav1.OwnerReference{{Kind: "StatefulSet", Name: "search"}}
				return &Snapshot{Pods: []corev1.Pod{*p}}
			},
			summary: []string{"search-0", "cloud.google.com/load-balancer-neg-ready", "is False", "endpoint unhealthy", "NEG"}},
		{name: "gate True: no finding", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "web-1", gated(albGate, corev1.ConditionTrue, ""))}}
			}},
		{name: "containers not ready: the readiness probe, not the gate", rule: "",
			snap: func() *Snapshot {
				p := newPod("shop", "web-2", gated(albGate, "", ""))
				p.Status.ContainerStatuses[0].Ready = false
				return &Snapshot{Pods: []corev1.Pod{*p}}
			}},
	})
}
