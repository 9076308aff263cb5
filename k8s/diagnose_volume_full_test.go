package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseVolumeFull(t *testing.T) {
	withVolume := func(mount string, v corev1.Volume) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, v,
				corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}})
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts,
				corev1.VolumeMount{Name: v.Name, MountPath: mount}, corev1.VolumeMount{Name: "cfg", MountPath: "/etc/app", ReadOnly: true})
		}
	}
	pvcVol := corev1.Volume{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-0"}}}
	class := "fast"
	pvc := corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Namespace: "store", Name: "data-db-0"},
		Spec:       corev1.PersistentVolumeClaimSpec{StorageClassName: &class},
		Status:     corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
	}
	runRuleCases(t, []string{"volume-full"}, []ruleCase{
		{
			name: "statefulset database crash-loops, relative WAL path on its only PVC",
			snap: func() *Snapshot {
				tr := true
				p := newPod("store", "db-0", crashLooping(6), withVolume("/var/lib/db", pvcVol))
				p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "db", Controller: &tr}}
				return &Snapshot{Pods: []corev1.Pod{*p}, PVCs: []corev1.PersistentVolumeClaim{pvc},
					Logs: []ContainerLog{{Namespace: "store", Pod: "db-0", Container: "app", Previous: true, Lines: []string{
						"LOG:  redo starts at 0/1",
						`PANIC:  could not write to file "pg_wal/xlogtemp.7": No space left on device`,
					}}}}
			},
			rule:    "volume-full",
			summary: []string{"db-0", "crashes (6 restarts)", "PVC store/data-db-0", "10Gi", "class fast", "write-ahead log"},
			objects: []string{"persistentvolumeclaim/store/data-db-0", "statefulset/db"},
			proof:   []string{"No space left on device"},
		},
		{
			name: "deployment writes to an emptyDir by absolute path, current log",
			snap: func() *Snapshot {
				lim := resource.MustParse("1Gi")
				p := newPod("media", "thumbs-5f-abc", ownedByRS("thumbs-5f"), withLabels("pod-template-hash", "5f"),
					withVolume("/scratch", corev1.Volume{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &lim}}}))
				return &Snapshot{Pods: []corev1.Pod{*p}, Logs: []ContainerLog{{Namespace: "media", Pod: p.Name, Container: "app", Lines: []string{
					`error: write /scratch/tmp/render-991.png: no space left on device`,
				}}}}
			},
			rule:    "volume-full",
			summary: []string{"thumbs-5f-abc", "emptyDir scratch", "sizeLimit 1Gi", "/scratch/tmp/render-991.png", "temporary files"},
			objects: []string{"deployment/thumbs"},
		},
		{
			name: "a caller quoting its database's ENOSPC has no writable volume of its own: no finding",
			snap: func() *Snapshot {
				p := newPod("store", "api-1", withVolume("/etc/extra", corev1.Volume{Name: "extra", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "x"}}}))
				return &Snapshot{Pods: []corev1.Pod{*p}, Logs: []ContainerLog{{Namespace: "store", Pod: "api-1", Container: "app", Lines: []string{
					`insert failed: ERROR: could not extend file "base/1/2": No space left on device (SQLSTATE 53100)`,
				}}}}
			},
		},
		{
			name: "a PVC-backed pod without ENOSPC in its log: no finding",
			snap: func() *Snapshot {
				p := newPod("store", "db-0", crashLooping(2), withVolume("/var/lib/db", pvcVol))
				return &Snapshot{Pods: []corev1.Pod{*p}, PVCs: []corev1.PersistentVolumeClaim{pvc},
					Logs: []ContainerLog{{Namespace: "store", Pod: "db-0", Container: "app", Previous: true, Lines: []string{"FATAL: password authentication failed"}}}}
			},
		},
	})
}
