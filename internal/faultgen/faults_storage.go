package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// stsPendingClaim builds a StatefulSet whose newest replica's claim is
// unbound: the pod Pending, the claim Pending. It returns the app, the
// pending pod and its claim.
func (w *world) stsPendingClaim(v variant, class string, scheduler string) (*app, *corev1.Pod, *corev1.PersistentVolumeClaim, time.Duration) {
	s := w.spec(v, kindStatefulSet)
	s.kind = kindStatefulSet
	s.storage, s.replicas = pick(w.r, []string{"20Gi", "50Gi", "100Gi"}), 3
	a := w.buildApp(s)
	since := w.between(15*time.Minute, 60*time.Minute)
	a.scaleUp(1)
	i := len(a.pods)
	t := a.sts.Spec.Template
	t.Labels = copyLabels(t.Labels, "controller-revision-hash", a.sts.Status.CurrentRevision, "statefulset.kubernetes.io/pod-name", fmt.Sprintf("%s-%d", s.name, i), "apps.kubernetes.io/pod-index", fmt.Sprint(i))
	p := a.addPod(fmt.Sprintf("%s-%d", s.name, i), t, "apps/v1", "StatefulSet", a.sts.ObjectMeta, w.nodes[0], since)
	pvc := w.pendingPVC(s.ns, "data-"+p.Name, a.labels, s.storage, class, since)
	p.Spec.Volumes = append([]corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: pvc.Name}}}}, p.Spec.Volumes...)
	w.unschedulable(p, scheduler, since)
	w.event(a.sts, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulCreate", component: "statefulset-controller", last: since,
		message: fmt.Sprintf("create Claim %s Pod %s in StatefulSet %s success", pvc.Name, p.Name, s.name)})
	return a, p, pvc, since
}

func pvcNoStorageClass(w *world, v variant) result {
	class := pick(w.r, []string{"fast-ssd", "gp3-encrypted", "premium-rwo", "io2"})
	n := len(w.nodes)
	a, p, pvc, since := w.stsPendingClaim(v, class,
		fmt.Sprintf("0/%d nodes are available: pod has unbound immediate PersistentVolumeClaims. %s", n, preemption(n, false)))
	w.event(pvc, ev{reason: "ProvisioningFailed", component: "persistentvolume-controller", count: int32(30 + w.r.Intn(60)), first: since, last: w.between(5*time.Second, time.Minute),
		message: fmt.Sprintf("storageclass.storage.k8s.io %q not found", class)})
	alert := w.podNotReady(p)
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: a.spec.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, nil,
			fmt.Sprintf("PVC %s/%s asks for StorageClass %s, which does not exist; the claim stays Pending and pod %s cannot be scheduled.", a.spec.ns, pvc.Name, class, p.Name),
			g(class), g("storageclass", "storage class"))}
}

func pvcProvisioningFailed(w *world, v variant) result {
	n := len(w.nodes)
	a, p, pvc, since := w.stsPendingClaim(v, "gp3",
		fmt.Sprintf("0/%d nodes are available: waiting for ephemeral volume controller to create the persistentvolumeclaim. %s", n, preemption(n, false)))
	p.Status.Conditions[0].Message = fmt.Sprintf("running PreBind plugin \"VolumeBinding\": binding volumes: provisioning failed for PVC %q", pvc.Name)
	p.Status.Conditions[0].Reason = "SchedulerError"
	for _, o := range w.objs {
		if e, ok := o.(*corev1.Event); ok && e.InvolvedObject.UID == p.UID && e.Reason == "FailedScheduling" {
			e.Message = p.Status.Conditions[0].Message
		}
	}
	pvc.Annotations = map[string]string{"volume.beta.kubernetes.io/storage-provisioner": ebsDriver, "volume.kubernetes.io/storage-provisioner": ebsDriver,
		"volume.kubernetes.io/selected-node": w.nodes[0].Name}
	reason := "VolumeLimitExceeded: You have exceeded your maximum gp3 storage limit of 50 TiB in this region."
	if v.n == 1 {
		reason = "UnauthorizedOperation: You are not authorized to perform this operation. User: arn:aws:sts::123456789012:assumed-role/ebs-csi-controller/1712 is not authorized to perform: ec2:CreateVolume"
	}
	w.event(pvc, ev{typ: corev1.EventTypeNormal, reason: "ExternalProvisioning", component: "persistentvolume-controller", count: int32(100 + w.r.Intn(100)), first: since, last: w.between(5*time.Second, 30*time.Second),
		message: fmt.Sprintf("Waiting for a volume to be created either by the external provisioner '%s' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.", ebsDriver)})
	w.event(pvc, ev{reason: "ProvisioningFailed", component: ebsDriver + "_ebs-csi-controller-" + w.alnum(9) + "-" + w.alnum(5), count: int32(10 + w.r.Intn(30)), first: since, last: w.between(30*time.Second, 3*time.Minute),
		message: fmt.Sprintf("failed to provision volume with StorageClass \"gp3\": rpc error: code = Internal desc = Could not create volume %q: could not create volume in EC2: operation error EC2: CreateVolume, https response error StatusCode: 400, RequestID: %s, api error %s",
			"pvc-"+string(w.uid()), w.uid(), reason)})
	alert := w.podNotReady(p)
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	bad := g("volumelimitexceeded", "storage limit", "limit of 50 tib", "quota")
	if v.n == 1 {
		bad = g("unauthorizedoperation", "not authorized", "ec2:createvolume", "iam", "permission")
	}
	return result{ns: a.spec.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, nil,
			fmt.Sprintf("The EBS CSI driver fails to provision PVC %s/%s (%s); pod %s stays Pending.", a.spec.ns, pvc.Name, reason, p.Name),
			g("provision"), bad)}
}

func volumeNodeAffinity(w *world, v variant) result {
	s := w.spec(v, kindStatefulSet)
	s.kind, s.storage, s.replicas = kindStatefulSet, "50Gi", 3
	s.nodes = w.nodes
	a := w.buildApp(s)
	// The node holding the last replica's volume zone was replaced by one in another zone.
	p := a.pods[len(a.pods)-1]
	pvc := a.pvcs[len(a.pvcs)-1]
	pv := w.pvOf(pvc)
	region := w.nodes[0].Labels["topology.kubernetes.io/region"]
	lost := region + "c"
	pv.Spec.NodeAffinity.Required.NodeSelectorTerms[0].MatchExpressions[0].Values = []string{lost}
	for _, n := range w.nodes {
		if n.Labels["topology.kubernetes.io/zone"] == lost {
			n.Labels["topology.kubernetes.io/zone"] = region + "a"
		}
	}
	n := len(w.nodes)
	since := w.between(15*time.Minute, 60*time.Minute)
	w.unschedulable(p, fmt.Sprintf("0/%d nodes are available: %d node(s) had volume node affinity conflict. %s", n, n, preemption(n, false)), since)
	alert := w.replicasMismatch(a)
	if v.n == 1 {
		alert = w.podNotReady(p)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, nil,
			fmt.Sprintf("PV %s of claim %s is pinned to zone %s, where no node remains: pod %s has a volume node affinity conflict.", pv.Name, pvc.Name, lost, p.Name),
			g("volume node affinity", "node affinity conflict", "zone"), g(lost))}
}
