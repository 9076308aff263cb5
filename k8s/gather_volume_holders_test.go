package k8s

import (
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// A pod waiting on a ReadWriteOnce volume pulls in the node that still
// holds it (status.volumesAttached), and the Multi-Attach finding names
// that node as NotReady; a running pod pulls in no other node.
func TestVolumeHoldersJoinTheGraph(t *testing.T) {
	now := time.Now()
	build := func(handleStyle string, running bool) []runtime.Object {
		pod := newPod("db", "store-1", withLabels("app", "store"))
		pod.Spec.NodeName = "worker-b"
		pod.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-store-1"}}}}
		if !running {
			pod.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}
		}
		pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "data-store-1"},
			Spec:   corev1.PersistentVolumeClaimSpec{VolumeName: "pv-store-1", AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
		pv := &corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-store-1"},
			Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				Capacity:               corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")},
				ClaimRef:               &corev1.ObjectReference{Namespace: "db", Name: "data-store-1"},
				PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "disk.csi.example", VolumeHandle: "vol-abc123"}}}}
		dead := newNode("worker-a", "10.0.0.1")
		dead.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown, Reason: "NodeStatusUnknown", Message: "Kubelet stopped posting node status.", LastTransitionTime: metav1.NewTime(now.Add(-time.Hour))}}
		name := corev1.UniqueVolumeName("kubernetes.io/csi/disk.csi.example^vol-abc123")
		if handleStyle == "pv-name" {
			name = "kubernetes.io/gce-pd/pv-store-1"
		}
		dead.Status.VolumesAttached = []corev1.AttachedVolume{{Name: name}}
		other := newNode("worker-c", "10.0.0.3")
		other.Status.VolumesAttached = []corev1.AttachedVolume{{Name: "kubernetes.io/csi/disk.csi.example^vol-zzz"}}
		ev := newEvent("db", "store-1.1", "Pod", "db", "store-1", "FailedAttachVolume", now)
		ev.Message = `Multi-Attach error for volume "pv-store-1" Volume is already exclusively attached to one node and can't be attached to another`
		return []runtime.Object{pod, pvc, pv, dead, other, newNode("worker-b", "10.0.0.2"), ev}
	}
	target := investigate.Target{Kind: investigate.KindPod, Namespace: "db", Name: "store-1", Pod: "store-1"}
	for _, style := range []string{"csi-handle", "pv-name"} {
		t.Run(style, func(t *testing.T) {
			s := gatherWith(t, build(style, false), nil, target, investigate.PodPending)
			var names []string
			for _, n := range s.Nodes {
				names = append(names, n.Name)
			}
			if !slices.Contains(names, "worker-a") || slices.Contains(names, "worker-c") {
				t.Fatalf("nodes %v: want worker-a (holds the volume), not worker-c", names)
			}
			var f *investigate.Finding
			for _, x := range s.Diagnose() {
				if x.Rule == "volume-attach" {
					f = &x
					break
				}
			}
			if f == nil || !strings.Contains(f.Summary, "held by node worker-a (NotReady") {
				t.Fatalf("volume-attach finding does not name the NotReady holder: %+v", f)
			}
		})
	}
	t.Run("running pod reads no holder", func(t *testing.T) {
		s := gatherWith(t, build("csi-handle", true), nil, target, investigate.PodPending)
		for _, n := range s.Nodes {
			if n.Name == "worker-a" {
				t.Fatal("a running pod pulled in the node of its volume")
			}
		}
	})
}
