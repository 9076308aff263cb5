package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnosePendingClaims(t *testing.T) {
	const unbound = "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	claimSnap := func(sc string, evs ...corev1.Event) *Snapshot {
		p := newPod("app", "db-0", controlledBy("StatefulSet", "db"), unschedulable(unbound), func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-db-0"}}}}
		})
		c := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "app", Name: "data-db-0"},
			Spec:   corev1.PersistentVolumeClaimSpec{Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("2Ti")}}},
			Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending}}
		if sc != "" {
			c.Spec.StorageClassName = &sc
		}
		classes := []storagev1.StorageClass{{ObjectMeta: metav1.ObjectMeta{Name: "ssd"}, Provisioner: "pd.csi.storage.gke.io", Parameters: map[string]string{"type": "pd-ssd"}}}
		return &Snapshot{Pods: []corev1.Pod{*p}, PVCs: []corev1.PersistentVolumeClaim{c}, StorageClasses: classes, Events: evs}
	}
	ev := func(reason, typ, msg string) corev1.Event {
		e := newEvent("app", "e-"+reason, "PersistentVolumeClaim", "app", "data-db-0", reason, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		e.Type, e.Message = typ, msg
		return *e
	}
	runRuleCases(t, []string{"failed-scheduling"}, []ruleCase{
		{name: "cloud quota exceeded", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return claimSnap("ssd", ev("ProvisioningFailed", "Warning", `failed to provision volume with StorageClass "ssd": rpc error: code = ResourceExhausted desc = CreateVolume failed: rpc error: code = ResourceExhausted desc = operation failed (QUOTA_EXCEEDED): Quota 'SSD_TOTAL_GB' exceeded. Limit: 2048.0 in region eu-3.`))
			},
			summary: []string{"PersistentVolumeClaim data-db-0", "2Ti", "StorageClass ssd", "pd.csi.storage.gke.io", "quota SSD_TOTAL_GB is exceeded", "Limit: 2048.0"},
			proof:   []string{"ProvisioningFailed"}},
		{name: "invalid StorageClass parameter", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return claimSnap("ssd", ev("ProvisioningFailed", "Warning", `failed to provision volume with StorageClass "ssd": rpc error: code = InvalidArgument desc = invalid parameter "iopsPerGB": must be a number`))
			},
			summary: []string{"cannot be provisioned", `invalid parameter "iopsPerGB"`}},
		{name: "external provisioner never answers", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return claimSnap("ssd", ev("ExternalProvisioning", "Normal", "Waiting for a volume to be created either by the external provisioner 'ebs.csi.aws.com' or manually by the system administrator."))
			},
			summary: []string{"waits for the external provisioner ebs.csi.aws.com"}},
		{name: "no StorageClass and no PV", rule: "failed-scheduling",
			snap: func() *Snapshot {
				return claimSnap("", ev("FailedBinding", "Warning", "no persistent volumes available for this claim and no storage class is set"))
			},
			summary: []string{"names no StorageClass", "no storage class is set"}},
	})
	if _, _, _, _, ok := (newDiag(&Snapshot{})).claimPending(&corev1.PersistentVolumeClaim{}); ok {
		t.Error("a claim without events is explained")
	}
}

func TestProvisionerError(t *testing.T) {
	got := provisionerError(`failed to provision volume with StorageClass "x": rpc error: code = Internal desc = outer: rpc error: code = Internal desc = inner cause`)
	if got != "inner cause" {
		t.Errorf("got %q", got)
	}
}
