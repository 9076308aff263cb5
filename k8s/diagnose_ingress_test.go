package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func svcWithPorts(ns, name string, ports ...corev1.ServicePort) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": name}, Ports: ports}}
}

func TestDiagnoseIngresses(t *testing.T) {
	probe := investigate.Target{Kind: investigate.KindService, Name: "catalog-gateway", Namespace: "shop", Service: "catalog-gateway", Host: "www.example.com", Path: "/api/v1/health"}
	runRuleCases(t, []string{"ingress-"}, []ruleCase{
		{name: "backend Service renamed (abbreviated word)", rule: "ingress-backend-missing",
			snap: func() *Snapshot {
				return &Snapshot{Target: probe,
					Ingresses:   []networkingv1.Ingress{*newIngress("shop", "public", "www.example.com", map[string]int32{"catalog-gateway": 80, "web": 80})},
					Services:    []corev1.Service{svcWithPorts("shop", "catalog-gw", corev1.ServicePort{Name: "http", Port: 80}), svcWithPorts("shop", "web", corev1.ServicePort{Port: 80})},
					MissingRefs: []string{"service/shop/catalog-gateway"}, NotFound: []string{"service/shop/catalog-gateway"}}
			},
			summary: []string{"Ingress shop/public routes www.example.com/catalog-gateway to Service catalog-gateway port 80", "Service shop/catalog-gateway does not exist", "Service catalog-gw (port http 80)", "503"},
			objects: []string{"ingress/shop/public", "service/shop/catalog-gw"}},
		{name: "backend Service misspelled, named port", rule: "ingress-backend-missing",
			snap: func() *Snapshot {
				ing := newIngress("media", "site", "media.example.org", map[string]int32{"thumbnailer": 0})
				ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service.Port = networkingv1.ServiceBackendPort{Name: "http"}
				return &Snapshot{Target: investigate.Target{Kind: investigate.KindService, Name: "thumbnailer", Namespace: "media", Service: "thumbnailer"},
					Ingresses:   []networkingv1.Ingress{*ing},
					Services:    []corev1.Service{svcWithPorts("media", "thumbnailler", corev1.ServicePort{Name: "http", Port: 8080})},
					MissingRefs: []string{"service/media/thumbnailer"}}
			},
			summary: []string{"port http", "Service thumbnailler (port http 8080)"}},
		{name: "Service lacks the port the route names", rule: "ingress-backend-port",
			snap: func() *Snapshot {
				return &Snapshot{Target: investigate.Target{Kind: investigate.KindService, Name: "web", Namespace: "shop", Service: "web"},
					Ingresses: []networkingv1.Ingress{*newIngress("shop", "public", "www.example.com", map[string]int32{"web": 80})},
					Services:  []corev1.Service{svcWithPorts("shop", "web", corev1.ServicePort{Name: "http", Port: 8080})}}
			},
			summary: []string{"routes www.example.com/web to port 80 of Service web", "its ports: http 8080"},
			proof:   []string{"service shop/web ports: http 8080"}},
		{name: "backend exists with the port", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Target: investigate.Target{Kind: investigate.KindService, Name: "web", Namespace: "shop", Service: "web"},
					Ingresses: []networkingv1.Ingress{*newIngress("shop", "public", "www.example.com", map[string]int32{"web": 80})},
					Services:  []corev1.Service{svcWithPorts("shop", "web", corev1.ServicePort{Name: "http", Port: 80})}}
			}},
		{name: "backend not in the snapshot and not known missing", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Ingresses: []networkingv1.Ingress{*newIngress("shop", "public", "www.example.com", map[string]int32{"web": 80})}}
			}},
	})
	// A dangling route the alert is not about is context, not the cause.
	s := &Snapshot{Target: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"},
		Ingresses:   []networkingv1.Ingress{*newIngress("shop", "legacy", "old.example.com", map[string]int32{"checkout-v1": 80})},
		MissingRefs: []string{"service/shop/checkout-v1"}}
	for _, f := range s.Diagnose() {
		if f.Rule == "ingress-backend-missing" && f.Score >= scoreSymptom {
			t.Errorf("unrelated dangling route scored %d: %s", f.Score, f.Summary)
		}
	}
}

func TestSimilarServiceName(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"catalog-gw", "catalog-gateway", true},
		{"payments-api", "payment-api", true},
		{"api", "api-v2", true},
		{"orders-svc", "orders-service", true},
		{"web", "web", false},
		{"catalog-gw", "checkout-gateway", false},
		{"redis", "postgres", false},
		{"auth-db", "audit-db", false},
	} {
		if got := similarServiceName(tt.a, tt.b); got != tt.want {
			t.Errorf("similarServiceName(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

// A probed public URL resolves through the Ingress path that serves it:
// the longest matching prefix, not the root path of the same host.
func TestResolveHostFollowsThePath(t *testing.T) {
	exact := networkingv1.PathTypeExact
	ing := newIngress("shop", "public", "www.example.com", map[string]int32{"api": 80, "web": 80})
	ing.Spec.Rules[0].HTTP.Paths[1].Path = "/" // web serves the root
	ing.Spec.Rules[0].HTTP.Paths = append(ing.Spec.Rules[0].HTTP.Paths, networkingv1.HTTPIngressPath{Path: "/api/status", PathType: &exact,
		Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{Name: "status", Port: networkingv1.ServiceBackendPort{Number: 80}}}})
	objs := []runtime.Object{ing,
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}}}
	for path, want := range map[string]string{"/api/v1/health": "api", "/api": "api", "/apidocs": "web", "/": "web", "": "web", "/api/status": "status"} {
		s := gatherWith(t, objs, mapLogs{}, investigate.Target{Host: "www.example.com", Path: path}, investigate.ServiceDown)
		if s.Target.Service != want || s.Target.Namespace != "shop" {
			t.Errorf("path %q resolved to %s/%s, want shop/%s", path, s.Target.Namespace, s.Target.Service, want)
		}
	}
}
