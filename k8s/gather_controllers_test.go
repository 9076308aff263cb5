package k8s

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
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
