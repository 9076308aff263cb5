package k8s

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectStorage(t *testing.T) {
	class := "fast-ssd"
	p := newPod("msg", "rabbitmq-0", pending(), func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{
			{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-rabbitmq-0"}}},
			{Name: "gone", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "deleted"}}},
		}
	})
	pvc := &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "msg", Name: "data-rabbitmq-0"},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
	s := gatherWith(t, []runtime.Object{p, pvc}, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "rabbitmq-0", Namespace: "msg", Pod: "rabbitmq-0"}, investigate.PodPending)
	want := []string{"pvc/msg/deleted", "storageclass/fast-ssd"}
	if !slices.Equal(s.MissingRefs, want) {
		t.Errorf("MissingRefs = %v, want %v", s.MissingRefs, want)
	}
	if len(s.PVCs) != 1 {
		t.Errorf("PVCs = %d, want 1", len(s.PVCs))
	}
}
