package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

var (
	reMultiAttach    = regexp.MustCompile(`(?i)multi-attach error|already exclusively attached|already used by pod`)
	reAttachVolume   = regexp.MustCompile(`(?i)volume "([^"]+)"`)
	reUsedByPods     = regexp.MustCompile(`(?i)used by pod\(s\) ([^\n]+?)(?:\s*$|\.\s)`)
	reMountNotAttach = regexp.MustCompile(`(?i)unattached volumes=\[([^\]]*)\]`)
)

// diagnoseVolumeAttach reports pods whose volume cannot be attached to
// their node: a ReadWriteOnce volume still attached to another node
// (Multi-Attach), named from the nodes' status.volumesAttached /
// volumesInUse and the other pods using the claim, or an attach that times
// out (FailedMount "unattached volumes").
func diagnoseVolumeAttach(d *diag) []investigate.Finding {
	var out []investigate.Finding
	done := map[string]bool{}
	for _, p := range d.pods {
		evs := d.eventsWithReason(p, "FailedAttachVolume", "FailedMount")
		var attach, mount *corev1.Event
		for _, e := range evs {
			switch {
			case e.Reason == "FailedAttachVolume":
				attach = e
			case reMountNotAttach.MatchString(e.Message):
				// Only a claim's volume is attached; older kubelets list
				// every unmounted volume as unattached.
				m := reMountNotAttach.FindStringSubmatch(e.Message)
				for _, name := range strings.Fields(m[1]) {
					for _, v := range p.Spec.Volumes {
						if v.Name == name && v.PersistentVolumeClaim != nil {
							mount = e
						}
					}
				}
			}
		}
		if attach == nil && mount == nil {
			continue
		}
		k := workloadOrPod(p) + "|" + p.Spec.NodeName
		if done[k] {
			continue
		}
		done[k] = true
		out = append(out, d.attachFinding(p, attach, mount))
	}
	return out
}

func (d *diag) attachFinding(p *corev1.Pod, attach, mount *corev1.Event) investigate.Finding {
	var proof []string
	msg := ""
	if attach != nil {
		proof = append(proof, evProof(attach))
		msg = attach.Message
	}
	if mount != nil {
		proof = append(proof, evProof(mount))
		if msg == "" {
			msg = mount.Message
		}
	}
	pvName := ""
	if m := reAttachVolume.FindStringSubmatch(msg); m != nil {
		pvName = m[1]
	}
	claim := ""
	var pv *corev1.PersistentVolume
	for i := range d.s.PVs {
		if d.s.PVs[i].Name == pvName {
			pv = &d.s.PVs[i]
		}
	}
	if pv != nil && pv.Spec.ClaimRef != nil {
		claim = pv.Spec.ClaimRef.Name
	}
	if claim == "" {
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim != nil {
				claim = v.PersistentVolumeClaim.ClaimName
				for i := range d.s.PVCs {
					if c := &d.s.PVCs[i]; c.Namespace == p.Namespace && c.Name == claim && pvName == "" {
						pvName = c.Spec.VolumeName
					}
				}
				break
			}
		}
	}
	if pv == nil {
		for i := range d.s.PVs {
			if d.s.PVs[i].Name == pvName {
				pv = &d.s.PVs[i]
			}
		}
	}
	objects := []string{podRef(p)}
	if claim != "" {
		objects = append(objects, "pvc/"+p.Namespace+"/"+claim)
	}
	// Who holds the volume: a node listing it attached or in use, another
	// pod of the claim on another node.
	handle := ""
	if pv != nil && pv.Spec.CSI != nil {
		handle = pv.Spec.CSI.VolumeHandle
	}
	var holders []string
	deadHolder := ""
	for i := range d.s.Nodes {
		n := &d.s.Nodes[i]
		if n.Name == p.Spec.NodeName {
			continue
		}
		held := false
		for _, a := range n.Status.VolumesAttached {
			if pvName != "" && strings.Contains(string(a.Name), pvName) || handle != "" && strings.HasSuffix(string(a.Name), handle) {
				held = true
				proof = append(proof, fmt.Sprintf("node %s status.volumesAttached: %s", n.Name, a.Name))
			}
		}
		for _, u := range n.Status.VolumesInUse {
			if pvName != "" && strings.Contains(string(u), pvName) || handle != "" && strings.HasSuffix(string(u), handle) {
				held = true
				proof = appendUnique(proof, fmt.Sprintf("node %s status.volumesInUse: %s", n.Name, u))
			}
		}
		if held {
			s := "node " + n.Name
			if c := nodeCondition(n, corev1.NodeReady); c != nil && c.Status != corev1.ConditionTrue {
				s += fmt.Sprintf(" (NotReady since %s: %s)", c.LastTransitionTime.UTC().Format("2006-01-02T15:04:05Z"), clip(c.Message, 80))
				deadHolder = n.Name
			}
			holders = appendUnique(holders, s)
			objects = appendUnique(objects, "node/"+n.Name)
		}
	}
	var users []string
	if claim != "" {
		for _, q := range d.pods {
			if q == p || q.Namespace != p.Namespace || q.Spec.NodeName == p.Spec.NodeName {
				continue
			}
			for _, v := range q.Spec.Volumes {
				if v.PersistentVolumeClaim != nil && v.PersistentVolumeClaim.ClaimName == claim {
					s := fmt.Sprintf("pod %s on node %s", q.Name, q.Spec.NodeName)
					if isTerminating(q) {
						s += " (Terminating)"
					}
					users = appendUnique(users, s)
					objects = appendUnique(objects, podRef(q))
				}
			}
		}
	}
	if m := reUsedByPods.FindStringSubmatch(msg); m != nil && len(users) == 0 {
		users = append(users, "pod(s) "+strings.TrimSpace(m[1]))
	}
	vol := pvName
	if vol == "" {
		vol = "its volume"
	} else {
		vol = "volume " + vol
	}
	if claim != "" {
		vol += " (claim " + claim + ")"
	}
	var sum, act string
	multi := reMultiAttach.MatchString(msg)
	if multi {
		sum = fmt.Sprintf("Pod %s cannot start on node %s: %s is ReadWriteOnce and still attached to another node (Multi-Attach error)", podKey(p), p.Spec.NodeName, vol)
		holder := append(holders, users...)
		if len(holder) > 0 {
			sum += "; it is held by " + strings.Join(holder, " and ")
		}
		sum += ", and the attach/detach controller detaches it only once no pod there uses it"
		act = "Delete (or force-delete, if its node is down) the old pod that holds the volume; if the node is gone, remove the stale VolumeAttachment (kubectl get volumeattachments | grep " + orUnknown(pvName) + ") so the volume can detach."
		if deadHolder != "" {
			sum += fmt.Sprintf(" — a NotReady node cannot confirm the unmount, so the volume stays attached to %s", deadHolder)
			act = fmt.Sprintf("Once node %s is confirmed powered off, taint it out of service so its pods are removed and the volume force-detached: kubectl taint node %s node.kubernetes.io/out-of-service=nodeshutdown:NoExecute (or delete the stale VolumeAttachment of %s).", deadHolder, deadHolder, orUnknown(pvName))
		}
	} else {
		sum = fmt.Sprintf("Pod %s cannot start on node %s: %s is not attached to the node in time", podKey(p), p.Spec.NodeName, vol)
		if attach != nil {
			sum += " (AttachVolume failed: " + clip(attach.Message, 200) + ")"
		} else {
			sum += " (the kubelet timed out waiting for the attach)"
		}
		if len(holders) > 0 {
			sum += "; it is still attached to " + strings.Join(holders, " and ")
		}
		act = "kubectl get volumeattachments | grep " + orUnknown(pvName) + "   # and the CSI controller's logs for why the attach does not complete"
	}
	score := scoreCause + 5
	if multi && deadHolder != "" {
		// The pod's own wait, explained through the dead node: the
		// deepest cause together with the object the alert is about.
		score = scoreRootCause + 1
	}
	if attach == nil {
		score = scoreCause - 5 // a mount timeout alone: a rule that knows more outranks it
	}
	return investigate.Finding{
		Rule: "volume-attach", Severity: investigate.FindingCritical, Score: score, Category: investigate.PodPending,
		Summary: sum + ".", Objects: objects, Proof: proof,
		Actions:    []string{act, fmt.Sprintf("kubectl describe pod -n %s %s", p.Namespace, p.Name)},
		Detail:     "A block volume (ReadWriteOnce) can be attached to one node at a time; the kubelet mounts it only after the attach/detach controller attached it to the pod's node.",
		Impact:     fmt.Sprintf("%s stays in ContainerCreating until the volume is attached to %s.", workloadOrPod(p), p.Spec.NodeName),
		Prevention: "Use a StatefulSet/Recreate strategy for ReadWriteOnce volumes (no two pods of the claim at once) and handle node failures (node shutdown taint out-of-service) so volumes detach.",
	}
}
