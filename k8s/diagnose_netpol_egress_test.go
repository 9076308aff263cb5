package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestDiagnoseEgressDestinations(t *testing.T) {
	tcp := corev1.ProtocolTCP
	port := func(n int32) networkingv1.NetworkPolicyPort {
		p := intstr.FromInt32(n)
		return networkingv1.NetworkPolicyPort{Protocol: &tcp, Port: &p}
	}
	policy := func(rules ...networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
		return networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "booking", Name: "quote-egress"},
			Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "quote"}},
				PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, Egress: rules}}
	}
	block := func(cidr string, ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicyEgressRule {
		return networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: cidr}}}, Ports: ports}
	}
	logs := []ContainerLog{{Namespace: "booking", Pod: "quote-1", Container: "app",
		Lines: []string{"WARNING cache unavailable (Timeout connecting to server) host=cache.example.net:6380 addr=10.42.8.20"}}}
	snap := func(nps ...networkingv1.NetworkPolicy) func() *Snapshot {
		return func() *Snapshot {
			return &Snapshot{Pods: []corev1.Pod{*newPod("booking", "quote-1", withLabels("app", "quote"))}, NetworkPolicies: nps, Logs: logs}
		}
	}
	runRuleCases(t, []string{"netpol-egress-destination"}, []ruleCase{
		{name: "an allow-list CIDR that misses the destination", rule: "netpol-egress-destination",
			snap:    snap(policy(block("10.42.4.0/24", port(6380)))),
			summary: []string{"quote-egress", "admit no traffic to 10.42.8.20:6380", "IP block 10.42.4.0/24"}},
		{name: "the right CIDR on another port", rule: "netpol-egress-destination",
			snap: snap(policy(block("10.42.8.0/24", port(443))))},
		{name: "admitted by a CIDR", rule: "", snap: snap(policy(block("10.42.0.0/16", port(6380))))},
		{name: "excepted from a wide CIDR", rule: "netpol-egress-destination",
			snap: snap(policy(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{IPBlock: &networkingv1.IPBlock{CIDR: "0.0.0.0/0", Except: []string{"10.0.0.0/8"}}}}}))},
		{name: "a rule without peers admits every destination", rule: "", snap: snap(policy(networkingv1.NetworkPolicyEgressRule{Ports: []networkingv1.NetworkPolicyPort{port(6380)}}))},
		{name: "no egress policy", rule: "", snap: snap()},
	})
	if !cidrHas("10.42.8.0/24", nil, "10.42.8.20") || cidrHas("10.42.8.0/24", []string{"10.42.8.16/28"}, "10.42.8.20") || cidrHas("bad", nil, "10.0.0.1") {
		t.Error("cidrHas")
	}
}
