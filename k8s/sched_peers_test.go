package k8s

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestGatherSchedulingPeers(t *testing.T) {
	const msg = "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."
	pendingPod := newPod("obs", "agent-1", hostPortOn(4317), unschedulable(msg))
	holder := newPod("mon", "collector-a", hostPortOn(4317), onNode("n1"))
	other := newPod("mon", "unrelated", hostPortOn(9100), onNode("n1"))
	// A term without namespaces applies to its own pod's namespace.
	repeller := newPod("obs", "solo-0", onNode("n2"), antiAffinity(corev1.LabelHostname, "tier", "agent"))
	farRepeller := newPod("db", "far-0", onNode("n2"), antiAffinity(corev1.LabelHostname, "tier", "agent"))
	n1, n2 := labelledNode("n1"), labelledNode("n2")
	for _, tt := range []struct {
		name      string
		pod       *corev1.Pod
		want, not []string
	}{
		{"host port holders in other namespaces", pendingPod, []string{"collector-a"}, []string{"unrelated", "solo-0"}},
		{"pods whose anti-affinity repels it", newPod("obs", "agent-2", withLabels("tier", "agent"),
			unschedulable("0/2 nodes are available: 2 node(s) didn't satisfy existing pods anti-affinity rules.")), []string{"solo-0"}, []string{"collector-a", "far-0"}},
		{"a scheduled pod reads no peers", newPod("obs", "agent-3", hostPortOn(4317), onNode("n2")), nil, []string{"collector-a", "solo-0"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			objs := []runtime.Object{tt.pod, holder, other, repeller, farRepeller, &n1, &n2}
			s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Namespace: tt.pod.Namespace, Name: tt.pod.Name, Pod: tt.pod.Name}, investigate.PodPending)
			got := podNames(s.RelatedPods)
			for _, w := range tt.want {
				if !slices.Contains(got, w) {
					t.Errorf("related pods %v lack %s", got, w)
				}
			}
			for _, w := range tt.not {
				if slices.Contains(got, w) {
					t.Errorf("related pods %v hold %s", got, w)
				}
			}
		})
	}
}
