package k8s

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// An empty Service leads to the workload whose pod template it selects,
// and on to that workload's HPA: the Deployment at zero replicas is the
// diagnosis.
func TestGatherEmptyServiceFollowsTemplate(t *testing.T) {
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: "renderer"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "renderer"}}}
	dep := zeroDeployment("billing", "renderer")
	other := newDeployment("billing", "mailer", map[string]string{"app": "mailer"})
	other.Spec.Template.Labels = map[string]string{"app": "mailer"}
	sts := &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: "renderer-cache"},
		Spec: appsv1.StatefulSetSpec{Replicas: int32p(0), Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "renderer", "tier": "cache"}}}}}
	s := gatherWith(t, []runtime.Object{svc, dep, other, sts}, mapLogs{}, investigate.Target{Kind: investigate.KindService, Namespace: "billing", Name: "renderer", Service: "renderer"}, investigate.ServiceDown)
	var names []string
	for _, d := range s.Deployments {
		names = append(names, d.Name)
	}
	if !slices.Equal(names, []string{"renderer"}) {
		t.Errorf("deployments gathered: %v, want [renderer]", names)
	}
	if len(s.StatefulSets) != 1 || s.StatefulSets[0].Name != "renderer-cache" {
		t.Errorf("statefulsets gathered: %+v", s.StatefulSets)
	}
	found := false
	for _, f := range s.Diagnose() {
		found = found || f.Rule == "scaled-to-zero"
	}
	if !found {
		t.Error("no scaled-to-zero finding from the gathered Deployment")
	}
}

// A DaemonSet target reads every node, also those without its pods: a
// node it does not cover is the diagnosis.
func TestGatherDaemonSetReadsAllNodes(t *testing.T) {
	ds := &appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "logging", Name: "shipper"},
		Spec: appsv1.DaemonSetSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shipper"}}}}
	p := newPod("logging", "shipper-a", controlledBy("DaemonSet", "shipper"), withLabels("app", "shipper"), onNode("n1"))
	n1, n2 := newNode("n1", "10.0.0.1"), newNode("n2", "10.0.0.2")
	n2.Spec.Taints = []corev1.Taint{{Key: "workload", Value: "batch", Effect: corev1.TaintEffectNoSchedule}}
	s := gatherWith(t, []runtime.Object{ds, p, n1, n2}, mapLogs{}, investigate.Target{Kind: investigate.KindDaemonSet, Namespace: "logging", Name: "shipper",
		Workload: investigate.Ref{Kind: investigate.KindDaemonSet, Name: "shipper"}}, investigate.PodPending)
	var names []string
	for _, n := range s.Nodes {
		names = append(names, n.Name)
	}
	slices.Sort(names)
	if !slices.Equal(names, []string{"n1", "n2"}) {
		t.Errorf("nodes: %v, want n1 and n2", names)
	}
}

// An alert that names only an HPA is investigated through the workload
// the HPA scales, and the HPA's own state reaches the diagnosis.
func TestGatherFollowsAutoscalerToItsTarget(t *testing.T) {
	dep := newDeployment("shop", "cart-v2", map[string]string{"app": "cart"})
	p := newPod("shop", "cart-v2-5f8b7c9d64-abcde", ownedByRS("cart-v2-5f8b7c9d64"), withLabels("app", "cart", "pod-template-hash", "5f8b7c9d64"))
	h := hpa("cart", 4, 4, autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: "TooManyReplicas"})
	h.Namespace = "shop"
	h.Spec.ScaleTargetRef.Name = "cart-v2"
	h = withCPU(h, 180)
	s := gatherWith(t, []runtime.Object{dep, p, &h}, mapLogs{}, investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop", Autoscaler: "cart"}, investigate.CPUThrottling)
	if s.Target.Kind != investigate.KindDeployment || s.Target.Name != "cart-v2" {
		t.Errorf("target %+v, want deployment/cart-v2", s.Target)
	}
	if got := podNames(append(s.Pods, s.RelatedPods...)); !slices.Equal(got, []string{p.Name}) {
		t.Errorf("pods %v, want the Deployment's", got)
	}
	if len(s.HorizontalPodAutoscalers) != 1 {
		t.Fatalf("HPAs gathered: %d, want 1", len(s.HorizontalPodAutoscalers))
	}
	found := false
	for _, f := range s.Diagnose() {
		found = found || f.Rule == "hpa-max-replicas"
	}
	if !found {
		t.Error("no hpa-max-replicas finding")
	}
	// An HPA that does not exist is reported, the namespace still investigated.
	s = gatherWith(t, []runtime.Object{dep, p}, mapLogs{}, investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop", Autoscaler: "gone"}, investigate.CPUThrottling)
	if !slices.Contains(s.NotFound, "horizontalpodautoscaler/shop/gone") {
		t.Errorf("NotFound %v lacks the HPA", s.NotFound)
	}
}
