package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func tlsIngress(ns, name, secret string, hosts ...string) networkingv1.Ingress {
	class := "nginx"
	return networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: networkingv1.IngressSpec{IngressClassName: &class, TLS: []networkingv1.IngressTLS{{Hosts: hosts, SecretName: secret}}}}
}

func TestDiagnoseIngressTLS(t *testing.T) {
	runRuleCases(t, []string{"ingress-tls"}, []ruleCase{
		{name: "ingress-nginx log says the certificate Secret is not found", rule: "ingress-tls-secret",
			snap: func() *Snapshot {
				return &Snapshot{Ingresses: []networkingv1.Ingress{tlsIngress("web", "portal", "portal-cert", "portal.example.org")},
					Logs: []ContainerLog{{Namespace: "ingress", Pod: "ingress-nginx-controller-abc", Container: "controller", Lines: []string{
						`W0102 10:00:00.000000       7 controller.go:1300] Error getting SSL certificate "web/portal-cert": local SSL certificate web/portal-cert was not found. Using default certificate`}}}}
			},
			summary: []string{"Ingress web/portal", "Secret portal-cert", "portal.example.org", "does not exist", "default"},
			objects: []string{"secret/web/portal-cert"}},
		{name: "an event on the Ingress names the missing Secret", rule: "ingress-tls-secret",
			snap: func() *Snapshot {
				return &Snapshot{Ingresses: []networkingv1.Ingress{tlsIngress("api", "gw", "gw-tls")},
					Events: []corev1.Event{{InvolvedObject: corev1.ObjectReference{Kind: "Ingress", Namespace: "api", Name: "gw"}, Type: "Warning", Reason: "SyncFailed",
						Message: `secret "gw-tls" not found`}}}
			},
			summary: []string{"Ingress api/gw", "Secret gw-tls"}},
		{name: "Secret named but nothing says it is missing", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Ingresses: []networkingv1.Ingress{tlsIngress("web", "portal", "portal-cert", "portal.example.org")},
					Logs: []ContainerLog{{Namespace: "ingress", Pod: "ingress-nginx-controller-abc", Container: "controller", Lines: []string{
						`I0102 10:00:00.000000       7 backend_ssl.go:67] "Adding secret to local store" name="web/portal-cert"`}}}}
			}},
	})
}
