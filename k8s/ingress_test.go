package k8s

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func newIngress(ns, name, host string, backends map[string]int32) *networkingv1.Ingress {
	class := "nginx"
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{IngressClassName: &class}}
	rule := networkingv1.IngressRule{Host: host, IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{}}}
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	slices.Sort(names)
	prefix := networkingv1.PathTypePrefix
	for _, n := range names {
		rule.HTTP.Paths = append(rule.HTTP.Paths, networkingv1.HTTPIngressPath{Path: "/" + n, PathType: &prefix,
			Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: n, Port: networkingv1.ServiceBackendPort{Number: backends[n]}}}})
	}
	ing.Spec.Rules = []networkingv1.IngressRule{rule}
	return ing
}

// The Ingresses routing to the workload's Services are read with their
// events, and so is an Ingress of the namespace whose backend Service does
// not exist (recorded as a missing Service); an Ingress routing only to
// other Services that exist is not.
func TestCollectIngresses(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	svc := func(name, app string) *corev1.Service {
		return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": app}}}
	}
	objs := []runtime.Object{
		newPod("shop", "web-0", withLabels("app", "web"), crashLooping(2)),
		svc("web", "web"), svc("admin", "admin"),
		newIngress("shop", "storefront", "shop.example.com", map[string]int32{"web": 80}),
		newIngress("shop", "legacy", "old.example.com", map[string]int32{"checkout-v1": 8080}),
		newIngress("shop", "backoffice", "admin.example.com", map[string]int32{"admin": 80}),
		newEvent("shop", "storefront.1", "Ingress", "shop", "storefront", "Sync", now),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
	var names []string
	for _, ing := range s.Ingresses {
		names = append(names, ing.Name)
	}
	if !slices.Equal(names, []string{"legacy", "storefront"}) {
		t.Errorf("ingresses = %v, want legacy (dangling) and storefront (routes to web)", names)
	}
	if !slices.Contains(s.MissingRefs, "service/shop/checkout-v1") {
		t.Errorf("missing refs = %v, want the dangling backend service/shop/checkout-v1", s.MissingRefs)
	}
	if !involvedEvent(s, "Ingress", "storefront") {
		t.Error("the Ingress's events are not among the events of the objects involved")
	}
	body := section(t, s, "ingresses")
	containsAll(t, "ingress section", body,
		"Ingress shop/storefront class nginx",
		"shop.example.com/web -> service web:80 (Service exists)",
		"old.example.com/checkout-v1 -> service checkout-v1:8080 (Service does not exist)")
	if strings.Contains(body, "backoffice") {
		t.Errorf("an Ingress routing elsewhere is rendered:\n%s", body)
	}
}
