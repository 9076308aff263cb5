package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectServicesNearMiss(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "payments-api"},
		Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "payments-api"}, ClusterIP: "10.96.0.9"}}
	es := &discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "payments-api-x", Labels: map[string]string{discoveryv1.LabelServiceName: "payments-api"}}}
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: "payments", Name: "payments-api"}}
	near := newPod("payments", "payment-api-7b8c9d6f5c-4mwqp", withLabels("app", "payment-api"), ownedByRS("payment-api-7b8c9d6f5c"))
	far := newPod("payments", "ledger-0", withLabels("app", "ledger"))
	s := gatherWith(t, []runtime.Object{svc, es, ep, near, far}, mapLogs{},
		investigate.Target{Kind: investigate.KindService, Name: "payments-api", Namespace: "payments", Service: "payments-api"}, investigate.ServiceDown)
	if len(s.Pods) != 0 {
		t.Errorf("pods = %v, want none (the selector matches nothing)", podNames(s.Pods))
	}
	if len(s.RelatedPods) != 1 || s.RelatedPods[0].Name != near.Name {
		t.Errorf("related = %v, want the near-miss pod only", podNames(s.RelatedPods))
	}
	if len(s.EndpointSlices) != 1 || len(s.Endpoints) != 1 {
		t.Errorf("slices %d endpoints %d, want 1 and 1", len(s.EndpointSlices), len(s.Endpoints))
	}
	body := ""
	for _, sec := range s.Evidence().Sections {
		if sec.Name == "service/payments/payments-api" {
			body = sec.Body
		}
	}
	for _, want := range []string{"Pods matching the selector: none", "near-miss", "app=payment-api", "0 ready"} {
		if !strings.Contains(body, want) {
			t.Errorf("service section lacks %q:\n%s", want, body)
		}
	}
}

// A Deployment scaled to zero has no pods, but the Service in front of its
// pod template is still part of its graph.
func TestCollectServicesOfAPodTemplate(t *testing.T) {
	dep := newDeployment("shop", "api", map[string]string{"app": "api"})
	dep.Spec.Template.Labels = map[string]string{"app": "api", "tier": "backend"}
	zero := int32(0)
	dep.Spec.Replicas = &zero
	objs := []runtime.Object{dep,
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "api"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"}}},
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindDeployment, Name: "api", Namespace: "shop",
		Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "api"}}, investigate.PodCrash)
	if len(s.Services) != 1 || s.Services[0].Name != "api" {
		t.Errorf("services = %v, want api (it selects the pod template)", s.Services)
	}
}
