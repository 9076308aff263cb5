package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// multiAttachDeadNode: the node a StatefulSet pod ran on stops reporting
// (Ready=Unknown, unreachable taints); the pod was deleted and recreated on
// another node, where its ReadWriteOnce volume cannot be attached because
// the dead node still lists it in status.volumesAttached/volumesInUse
// (FailedAttachVolume Multi-Attach, FailedMount). No pod of the graph runs
// on the dead node any more: only the volume links it to the alert. Even
// variants alert on the pod, odd ones on the StatefulSet.
func multiAttachDeadNode(w *world, v variant) result {
	s := w.spec(v, kindStatefulSet)
	a := w.buildApp(s)
	p := a.pods[len(a.pods)-1]
	dead := nodeByName(w, p.Spec.NodeName)
	var to *corev1.Node
	for _, n := range a.spec.nodes {
		if n.Name != dead.Name && (to == nil || n.Labels["topology.kubernetes.io/zone"] == dead.Labels["topology.kubernetes.io/zone"]) {
			to = n
		}
	}
	since := w.between(15*time.Minute, 50*time.Minute)
	for i := range dead.Status.Conditions {
		c := &dead.Status.Conditions[i]
		c.Status, c.Reason, c.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
		c.LastTransitionTime = w.ago(since + 6*time.Minute)
		c.LastHeartbeatTime = w.ago(since + 7*time.Minute)
	}
	w.nodeDown(dead, since+6*time.Minute, true)
	// The claim's volume, as the kubelet of the dead node last reported it.
	var pvName, handle string
	for _, vol := range p.Spec.Volumes {
		if vol.PersistentVolumeClaim == nil {
			continue
		}
		for _, o := range w.objs {
			if c, ok := o.(*corev1.PersistentVolumeClaim); ok && c.Namespace == p.Namespace && c.Name == vol.PersistentVolumeClaim.ClaimName {
				pvName = c.Spec.VolumeName
			}
		}
	}
	for _, o := range w.objs {
		if pv, ok := o.(*corev1.PersistentVolume); ok && pv.Name == pvName && pv.Spec.CSI != nil {
			handle = pv.Spec.CSI.VolumeHandle
		}
	}
	if pvName == "" || handle == "" || to == nil {
		panic("faultgen: multi-attach needs a StatefulSet pod with a CSI volume and a second node")
	}
	uv := corev1.UniqueVolumeName("kubernetes.io/csi/" + ebsDriver + "^" + handle)
	dead.Status.VolumesAttached = append(dead.Status.VolumesAttached, corev1.AttachedVolume{Name: uv})
	dead.Status.VolumesInUse = append(dead.Status.VolumesInUse, uv)
	// The replacement pod, on a healthy node, waits for the volume.
	p.Spec.NodeName = to.Name
	p.Status.HostIP = to.Status.Addresses[0].Address
	p.Status.HostIPs = []corev1.HostIP{{IP: p.Status.HostIP}}
	p.Status.PodIP, p.Status.PodIPs = "", nil
	p.Status.Phase = corev1.PodPending
	w.waiting(p, mainContainer(p), "ContainerCreating", "", since)
	w.event(p, ev{reason: "FailedAttachVolume", component: "attachdetach-controller", count: 1, first: since - 5*time.Second, last: since - 5*time.Second,
		message: fmt.Sprintf("Multi-Attach error for volume %q Volume is already exclusively attached to one node and can't be attached to another", pvName)})
	w.event(p, ev{reason: "FailedMount", component: "kubelet", host: to.Name, count: int32(3 + w.r.Intn(12)), first: since - 2*time.Minute, last: w.between(30*time.Second, 2*time.Minute),
		message: fmt.Sprintf("Unable to attach or mount volumes: unmounted volumes=[%s], unattached volumes=[%s], failed to process volumes=[]: timed out waiting for the condition", p.Spec.Volumes[0].Name, p.Spec.Volumes[0].Name)})
	alert := w.podNotReady(p)
	if v.n%2 == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.NodeNotReady},
			fmt.Sprintf("Pod %s/%s cannot attach its ReadWriteOnce volume %s: it is still attached to NotReady node %s.", p.Namespace, p.Name, pvName, dead.Name),
			g("multi-attach", "already exclusively attached", "still attached", "attached to another node"), g(strings.ToLower(dead.Name)), g("notready", "not ready", "unknown", "stopped posting"))}
}
