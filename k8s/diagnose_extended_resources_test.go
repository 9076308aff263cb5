package k8s

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseExtendedResourceNotAdvertised(t *testing.T) {
	const gpu = corev1.ResourceName("vendor.example/accel")
	wants := func(res corev1.ResourceName) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.NodeName = ""
			p.Status.Phase = corev1.PodPending
			p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{res: resource.MustParse("2")}
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{res: resource.MustParse("2")}
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
				Message: "0/2 nodes are available: 2 Insufficient " + string(res) + "."}}
		}
	}
	node := func(name string, lbl map[string]string, adv bool) corev1.Node {
		n := newNode(name, "10.0.0.1")
		n.Labels = lbl
		n.Status.Allocatable = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("8")}
		if adv {
			n.Status.Allocatable[gpu] = resource.MustParse("4")
		}
		return *n
	}
	plugin := func(sel map[string]string, desired, ready int32) appsv1.DaemonSet {
		ds := appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "accel-plugin"}}
		ds.Spec.Template.Spec.NodeSelector = sel
		ds.Spec.Template.Spec.Volumes = []corev1.Volume{{Name: "dp", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/kubelet/device-plugins/"}}}}
		ds.Status.DesiredNumberScheduled, ds.Status.CurrentNumberScheduled, ds.Status.NumberReady = desired, desired, ready
		return ds
	}
	runRuleCases(t, []string{"failed-scheduling"}, []ruleCase{
		{
			name: "device plugin selects no node",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ml", "trainer-0", wants(gpu))},
					Nodes:      []corev1.Node{node("a1", map[string]string{"hw/accel": "yes"}, false), node("a2", nil, false)},
					DaemonSets: []appsv1.DaemonSet{plugin(map[string]string{"hw/card": "x1"}, 0, 0)}}
			},
			rule:    "failed-scheduling",
			summary: []string{"extended resource vendor.example/accel=2, which no node advertises", "DaemonSet kube-system/accel-plugin runs on 0 node(s)", "nodeSelector hw/card=x1 matches no node (no node has label hw/card)"},
			objects: []string{"daemonset/kube-system/accel-plugin"},
		},
		{
			name: "device plugin scheduled but not ready",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ml", "trainer-0", wants(gpu))},
					Nodes:      []corev1.Node{node("a1", nil, false)},
					DaemonSets: []appsv1.DaemonSet{plugin(nil, 1, 0)}}
			},
			rule:    "failed-scheduling",
			summary: []string{"which no node advertises", "not ready on every node it should run on"},
		},
	})
	// A node advertises the resource: the usual capacity explanation stays.
	s := &Snapshot{Pods: []corev1.Pod{*newPod("ml", "trainer-0", wants(gpu))},
		Nodes: []corev1.Node{node("a1", nil, true)}, DaemonSets: []appsv1.DaemonSet{plugin(nil, 1, 1)}}
	for _, f := range s.Diagnose() {
		if f.Rule == "failed-scheduling" && (strings.Contains(f.Summary, "no node advertises") || strings.Contains(f.Summary, "device plugin")) {
			t.Errorf("advertised resource blamed on the plugin: %s", f.Summary)
		}
	}
	if isExtendedResource("cpu") || isExtendedResource("hugepages-2Mi") || isExtendedResource("kubernetes.io/batch") || !isExtendedResource(gpu) {
		t.Error("isExtendedResource misclassifies")
	}
}
