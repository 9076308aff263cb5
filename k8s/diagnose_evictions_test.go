package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func evicted(msg string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", msg
		p.Status.Conditions = nil
	}
}

func withEmptyDir(name, limit, mount string) podOpt {
	return func(p *corev1.Pod) {
		q := resource.MustParse(limit)
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &q}}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: name, MountPath: mount})
	}
}

func TestDiagnoseEvictionRules(t *testing.T) {
	memMsg := "The node was low on resource: memory. Threshold quantity: 100Mi, available: 92180Ki. Container thumb was using 5921380Ki, request is 0, has larger consumption of memory. "
	runRuleCases(t, []string{"eviction", "node-memory-pressure", "node-disk-pressure"}, []ruleCase{
		{name: "emptyDir sizeLimit, Deployment", rule: "eviction-storage-limit",
			snap: func() *Snapshot {
				var pods []corev1.Pod
				for _, n := range []string{"exp-h-a", "exp-h-b"} {
					pods = append(pods, *newPod("rep", n, ownedByRS("exp-h"), withLabels("pod-template-hash", "h"), withEmptyDir("scratch", "2Gi", "/scratch"),
						evicted(`Usage of EmptyDir volume "scratch" exceeds the limit "2Gi". `)))
				}
				return &Snapshot{Pods: pods}
			},
			summary: []string{"evicted 2 pods of deployment/exp", `emptyDir volume "scratch"`, "/scratch", "sizeLimit 2Gi"}},
		{name: "container ephemeral-storage limit, bare pod", rule: "eviction-storage-limit",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ci", "build-1", evicted(`Container build exceeded its local ephemeral storage limit "10Gi". `))}}
			},
			summary: []string{"pod/build-1", "container build", "ephemeral-storage limit 10Gi"}},
		{name: "memory pressure names BestEffort pods and usage vs request", rule: "node-memory-pressure",
			snap: func() *Snapshot {
				n := nodeWith("w1", withCond(cond(corev1.NodeMemoryPressure, corev1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"))...)
				p := newPod("media", "thumb-h-1", ownedByRS("thumb-h"), withLabels("pod-template-hash", "h"), onNode("w1"), evicted(memMsg))
				return &Snapshot{Nodes: []corev1.Node{n}, Pods: []corev1.Pod{*p}}
			},
			summary: []string{"MemoryPressure", "deployment/thumb", "QoS BestEffort", "container thumb used 5783Mi of memory (request 0)"}},
		{name: "memory eviction context finding for a Burstable pod", rule: "eviction",
			snap: func() *Snapshot {
				p := newPod("media", "api-1", onNode("w2"), evicted(memMsg), func(p *corev1.Pod) {
					p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")}
				})
				return &Snapshot{Pods: []corev1.Pod{*p}}
			},
			summary: []string{"node w2", "QoS Burstable", "low on memory", "threshold 100Mi"}},
		{name: "disk pressure with image GC failures names the largest evicted consumer", rule: "node-disk-pressure",
			snap: func() *Snapshot {
				n := nodeWith("ci-4", withCond(cond(corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure"))...)
				p := newPod("ci", "runner-1", onNode("ci-4"), evicted("The node was low on resource: ephemeral-storage. Threshold quantity: 19327352832, available: 17311352Ki. Container build was using 38811212Ki, request is 0, has larger consumption of ephemeral-storage. "))
				gc := newEvent("default", "gc", "Node", "", "ci-4", "ImageGCFailed", time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
				return &Snapshot{Nodes: []corev1.Node{n}, Pods: []corev1.Pod{*p}, Events: []corev1.Event{*gc}}
			},
			summary: []string{"ci-4", "DiskPressure", "pod runner-1", "container build used 37.0Gi of ephemeral-storage"},
			proof:   []string{"ImageGCFailed"}},
		{name: "a pod deleted by its controller is no eviction",
			snap: func() *Snapshot {
				p := newPod("x", "done", func(p *corev1.Pod) {
					p.Status.Phase = corev1.PodSucceeded
					p.DeletionTimestamp = &metav1.Time{}
				})
				return &Snapshot{Pods: []corev1.Pod{*p}}
			}},
	})
}

func TestParseEviction(t *testing.T) {
	e := parseEviction("Pod ephemeral local storage usage exceeds the total limit of containers 4Gi. ")
	if e.limit != "pod" || e.limitQty != "4Gi" {
		t.Errorf("pod limit: %+v", e)
	}
	e = parseEviction("The node had condition: [DiskPressure]. ")
	if e.limit != "" || e.signal != "DiskPressure" || signalOf(e.signal) != corev1.NodeDiskPressure {
		t.Errorf("condition: %+v", e)
	}
}
