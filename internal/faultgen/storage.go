package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const ebsDriver = "ebs.csi.aws.com"

// storageClass adds the StorageClass name (once) provisioned by the EBS CSI driver.
func (w *world) storageClass(name string, isDefault bool) *storagev1.StorageClass {
	for _, o := range w.objs {
		if sc, ok := o.(*storagev1.StorageClass); ok && sc.Name == name {
			return sc
		}
	}
	sc := &storagev1.StorageClass{TypeMeta: metav1.TypeMeta{APIVersion: "storage.k8s.io/v1", Kind: "StorageClass"},
		ObjectMeta:    w.meta("", name, nil, w.between(300*24*time.Hour, 700*24*time.Hour)),
		Provisioner:   ebsDriver,
		Parameters:    map[string]string{"type": name, "encrypted": "true"},
		ReclaimPolicy: ptr(corev1.PersistentVolumeReclaimDelete), VolumeBindingMode: ptr(storagev1.VolumeBindingWaitForFirstConsumer),
		AllowVolumeExpansion: ptr(true)}
	if isDefault {
		sc.Annotations = map[string]string{"storageclass.kubernetes.io/is-default-class": "true"}
	}
	w.add(sc)
	return sc
}

// boundPVC adds a PVC bound to a new PV pinned to the node's zone.
func (w *world) boundPVC(ns, name string, labels map[string]string, size, class string, node *corev1.Node, age time.Duration) *corev1.PersistentVolumeClaim {
	w.storageClass(class, class == "gp3")
	pvName := "pvc-" + string(w.uid())
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: w.meta(ns, name, copyLabels(labels), age),
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr(class), VolumeMode: ptr(corev1.PersistentVolumeFilesystem), VolumeName: pvName,
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound, AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
	}
	pvc.Annotations = map[string]string{"pv.kubernetes.io/bind-completed": "yes", "pv.kubernetes.io/bound-by-controller": "yes",
		"volume.beta.kubernetes.io/storage-provisioner": ebsDriver, "volume.kubernetes.io/storage-provisioner": ebsDriver,
		"volume.kubernetes.io/selected-node": node.Name}
	pvc.Finalizers = []string{"kubernetes.io/pvc-protection"}
	zone := node.Labels["topology.kubernetes.io/zone"]
	pv := &corev1.PersistentVolume{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolume"},
		ObjectMeta: w.meta("", pvName, nil, age-2*time.Second),
		Spec: corev1.PersistentVolumeSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Capacity: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)},
			ClaimRef: &corev1.ObjectReference{APIVersion: "v1", Kind: "PersistentVolumeClaim", Name: name, Namespace: ns, UID: pvc.UID, ResourceVersion: pvc.ResourceVersion},
			PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: ebsDriver, FSType: "ext4",
				VolumeHandle: "vol-0" + w.hex(16), VolumeAttributes: map[string]string{"storage.kubernetes.io/csiProvisionerIdentity": fmt.Sprintf("%d-%d-%s", 1700000000000+w.r.Int63n(9e10), 1000+w.r.Intn(9000), ebsDriver)}}},
			NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{NodeSelectorTerms: []corev1.NodeSelectorTerm{{
				MatchExpressions: []corev1.NodeSelectorRequirement{{Key: "topology.kubernetes.io/zone", Operator: corev1.NodeSelectorOpIn, Values: []string{zone}}}}}}},
			PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimDelete, StorageClassName: class, VolumeMode: ptr(corev1.PersistentVolumeFilesystem)},
		Status: corev1.PersistentVolumeStatus{Phase: corev1.VolumeBound, LastPhaseTransitionTime: ptr(w.ago(age - 2*time.Second))},
	}
	pv.Annotations = map[string]string{"pv.kubernetes.io/provisioned-by": ebsDriver, "volume.kubernetes.io/provisioner-deletion-secret-name": "", "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}
	pv.Finalizers = []string{"external-provisioner.volume.kubernetes.io/finalizer", "kubernetes.io/pv-protection"}
	w.add(pvc, pv)
	return pvc
}

// pendingPVC adds an unbound PVC.
func (w *world) pendingPVC(ns, name string, labels map[string]string, size, class string, age time.Duration) *corev1.PersistentVolumeClaim {
	pvc := &corev1.PersistentVolumeClaim{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
		ObjectMeta: w.meta(ns, name, copyLabels(labels), age),
		Spec: corev1.PersistentVolumeClaimSpec{AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			StorageClassName: ptr(class), VolumeMode: ptr(corev1.PersistentVolumeFilesystem),
			Resources: corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}}},
		Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimPending},
	}
	pvc.Finalizers = []string{"kubernetes.io/pvc-protection"}
	w.add(pvc)
	return pvc
}

// pvOf returns the PV bound to the claim.
func (w *world) pvOf(pvc *corev1.PersistentVolumeClaim) *corev1.PersistentVolume {
	for _, o := range w.objs {
		if pv, ok := o.(*corev1.PersistentVolume); ok && pv.Name == pvc.Spec.VolumeName {
			return pv
		}
	}
	return nil
}
