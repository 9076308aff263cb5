package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// callerSnap is a backend "ledger" (Service port 80 → targetPort http →
// container port 8080) isolated by the given policies, and a caller pod
// whose log shows connections to it timing out.
func callerSnap(caller *corev1.Pod, nps ...networkingv1.NetworkPolicy) *Snapshot {
	backend := newPod("pay", "ledger-7d9f8c6b5d-x2x9q", withLabels("app", "ledger", "pod-template-hash", "7d9f8c6b5d"), ownedByRS("ledger-7d9f8c6b5d"))
	backend.Spec.Containers[0].Ports = []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}}
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "pay", Name: "ledger"}, Spec: corev1.ServiceSpec{
		Selector: map[string]string{"app": "ledger"},
		Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	return &Snapshot{
		Pods: []corev1.Pod{*caller}, RelatedPods: []corev1.Pod{*backend}, Services: []corev1.Service{svc},
		NetworkPolicies: nps,
		Logs: []ContainerLog{{Namespace: caller.Namespace, Pod: caller.Name, Container: "app", Lines: []string{
			"INFO started",
			"ERROR POST http://ledger.pay.svc.cluster.local:80/v1/entries failed: dial tcp 10.0.3.4:80: i/o timeout",
		}}},
	}
}

func allowFrom(ns, name string, peers []networkingv1.NetworkPolicyPeer, ports ...networkingv1.NetworkPolicyPort) networkingv1.NetworkPolicy {
	return policy(ns, name, map[string]string{"app": "ledger"}, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		[]networkingv1.NetworkPolicyIngressRule{{From: peers, Ports: ports}}, nil)
}

func podPeer(kv ...string) networkingv1.NetworkPolicyPeer {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: m}}
}

func namedPort(name string) networkingv1.NetworkPolicyPort {
	p := intstr.FromString(name)
	return networkingv1.NetworkPolicyPort{Port: &p}
}

func TestDiagnoseIngressCallers(t *testing.T) {
	checkout := func(kv ...string) *corev1.Pod {
		return newPod("pay", "checkout-5c8d7f9b6c-k2m4n", withLabels(append([]string{"pod-template-hash", "5c8d7f9b6c"}, kv...)...), ownedByRS("checkout-5c8d7f9b6c"))
	}
	denyAll := policy("pay", "default-deny", nil, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}, nil, nil)
	runRuleCases(t, []string{"netpol-ingress-caller"}, []ruleCase{
		{name: "caller lost the label the peer selects (renamed key)", rule: "netpol-ingress-caller",
			snap: func() *Snapshot {
				return callerSnap(checkout("app.kubernetes.io/name", "checkout"), denyAll,
					allowFrom("pay", "ledger-callers", []networkingv1.NetworkPolicyPeer{podPeer("app", "checkout")}, npPort(corev1.ProtocolTCP, 8080)))
			},
			summary: []string{"NetworkPolicy pay/ledger-callers", "only from pods app=checkout", "deployment/checkout", "app.kubernetes.io/name=checkout",
				"wants app=checkout but the pods have no app label", "port 8080 (http)", "connection timed out"},
			objects: []string{"networkpolicy/pay/ledger-callers", "networkpolicy/pay/default-deny", "service/pay/ledger"},
			proof:   []string{"i/o timeout", "labels: app.kubernetes.io/name=checkout"}},
		{name: "caller's label has another value", rule: "netpol-ingress-caller",
			snap: func() *Snapshot {
				return callerSnap(checkout("app", "checkout-v2", "tier", "web"),
					allowFrom("pay", "ledger-callers", []networkingv1.NetworkPolicyPeer{podPeer("app", "checkout", "tier", "web")}))
			},
			summary: []string{"wants app=checkout where the pods have app=checkout-v2"}},
		{name: "caller from a namespace no peer admits", rule: "netpol-ingress-caller",
			snap: func() *Snapshot {
				c := newPod("batch", "reconcile-29000000-abcde", withLabels("app", "reconcile"), controlledBy("Job", "reconcile-29000000"))
				return callerSnap(c, allowFrom("pay", "ledger-from-frontend", []networkingv1.NetworkPolicyPeer{fromNamespace("frontend")}))
			},
			summary: []string{"NetworkPolicies ledger-from-frontend in namespace pay isolate the pods of Service ledger", "job/reconcile-29000000 (namespace batch", "ledger-from-frontend allows from namespace frontend"}},
		{name: "peer admits the caller but not the port", rule: "netpol-ingress-caller",
			snap: func() *Snapshot {
				return callerSnap(checkout("app", "checkout"),
					allowFrom("pay", "ledger-metrics", []networkingv1.NetworkPolicyPeer{podPeer("app", "checkout")}, npPort(corev1.ProtocolTCP, 9090)))
			},
			summary: []string{"on port 8080 (http)", "ledger-metrics allows from pods app=checkout on port 9090/TCP"}},
		{name: "named policy port admits the caller", rule: "",
			snap: func() *Snapshot {
				return callerSnap(checkout("app", "checkout"), denyAll,
					allowFrom("pay", "ledger-callers", []networkingv1.NetworkPolicyPeer{podPeer("app", "checkout")}, namedPort("http")))
			}},
		{name: "pod and namespace selector together admit the caller", rule: "",
			snap: func() *Snapshot {
				c := newPod("web", "shop-0", withLabels("app", "shop"))
				peer := networkingv1.NetworkPolicyPeer{
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "web"}},
					PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}}}
				return callerSnap(c, denyAll, allowFrom("pay", "ledger-from-shop", []networkingv1.NetworkPolicyPeer{peer}))
			}},
		{name: "namespace selector on labels the snapshot lacks", rule: "",
			snap: func() *Snapshot {
				peer := networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"team": "payments"}}}
				return callerSnap(checkout("app", "checkout"), allowFrom("pay", "ledger-team", []networkingv1.NetworkPolicyPeer{peer}))
			}},
		{name: "no policy isolates the backend", rule: "",
			snap: func() *Snapshot { return callerSnap(checkout("app", "checkout")) }},
	})
}

// DNS must be reachable over UDP port 53 at the cluster DNS pods: a rule
// that opens port 53 only towards other peers, or only over TCP, does not
// allow name lookups.
func TestEgressDNSPeers(t *testing.T) {
	egress := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	web := func() corev1.Pod { return *newPod("shop", "web-0", withLabels("app", "web")) }
	kubeDNS := networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: map[string]string{"k8s-app": "kube-dns"}}}
	snap := func(rules ...networkingv1.NetworkPolicyEgressRule) func() *Snapshot {
		return func() *Snapshot {
			eg := policy("shop", "web-egress", map[string]string{"app": "web"}, egress, nil, rules)
			return &Snapshot{Pods: []corev1.Pod{web()}, RelatedPods: []corev1.Pod{dnsPod("coredns-5d78c9869d-abcde")}, NetworkPolicies: []networkingv1.NetworkPolicy{eg}}
		}
	}
	udp53 := []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolUDP, 53), npPort(corev1.ProtocolTCP, 53)}
	runRuleCases(t, []string{"netpol-egress-dns"}, []ruleCase{
		{name: "port 53 open only towards the app's own namespace", rule: "netpol-egress-dns",
			snap:    snap(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{fromNamespace("shop")}, Ports: udp53}),
			summary: []string{"web-egress", "DNS"}},
		{name: "port 53 over TCP only", rule: "netpol-egress-dns",
			snap:    snap(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{kubeDNS}, Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolTCP, 53)}}),
			summary: []string{"web-egress"}},
		{name: "UDP 53 to kube-dns in kube-system", rule: "",
			snap: snap(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{kubeDNS}, Ports: udp53})},
		{name: "UDP 53 to any destination", rule: "",
			snap: snap(networkingv1.NetworkPolicyEgressRule{Ports: udp53})},
		{name: "peer on namespace labels the snapshot lacks", rule: "",
			snap: snap(networkingv1.NetworkPolicyEgressRule{To: []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"role": "system"}}}}, Ports: udp53})},
	})
}
