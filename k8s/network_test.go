package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectNetwork(t *testing.T) {
	deny := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "default-deny-ingress"},
		Spec: networkingv1.NetworkPolicySpec{PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}}}
	unrelated := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "db-only"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}}}}
	front := newPod("web", "frontend-7d6c5b9f8d-hq4sz", withLabels("app", "frontend"), func(p *corev1.Pod) {
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "UPSTREAM", Value: "http://orders-api.orders.svc.cluster.local:8080"}}
	})
	api := newPod("orders", "orders-api-6f5c8d9b7d-2lqkt", withLabels("app", "orders-api"))
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "orders", Name: "orders-api"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "orders-api"}, ClusterIP: "10.96.118.42"}}
	coredns := newPod("kube-system", "coredns-7c65d6cfc9-4wz7m", withLabels("k8s-app", "kube-dns"), crashLooping(9))
	corefile := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "coredns"}, Data: map[string]string{"Corefile": ".:53 { forward . /etc/resolv.conf\n loop }"}}
	logs := mapLogs{
		"web/frontend-7d6c5b9f8d-hq4sz/app":                 "[error] upstream timed out while connecting to upstream 10.96.118.42:8080",
		"kube-system/coredns-7c65d6cfc9-4wz7m/app/previous": "[FATAL] plugin/loop: Loop (127.0.0.1:55953 -> :53) detected for zone \".\"",
	}
	s := gatherWith(t, []runtime.Object{deny, unrelated, front, api, svc, coredns, corefile}, logs,
		investigate.Target{Kind: investigate.KindPod, Name: front.Name, Namespace: "web", Pod: front.Name}, investigate.NetworkPolicy)
	if len(s.NetworkPolicies) != 1 || s.NetworkPolicies[0].Name != "default-deny-ingress" {
		t.Errorf("policies = %v, want only default-deny-ingress (selects the dependency's pods)", s.NetworkPolicies)
	}
	if len(s.RelatedPods) != 1 || s.RelatedPods[0].Name != api.Name {
		t.Errorf("related = %v, want the orders-api pod behind the dependency", podNames(s.RelatedPods))
	}
	if s.DNS == nil || len(s.DNS.Pods) != 1 || s.DNS.Corefile == "" {
		t.Fatalf("DNS = %+v", s.DNS)
	}
	if len(s.DNS.Logs) != 2 || !s.DNS.Logs[1].Previous {
		t.Errorf("DNS logs = %+v, want current and previous", s.DNS.Logs)
	}
}
