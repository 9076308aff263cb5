package k8s

import (
	"context"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// collectVolumeHolders follows a pod that waits for its volume to the node
// that still holds it. A pod scheduled to a node but not started, whose
// claim is bound to a ReadWriteOnce volume, may wait for the attach/detach
// controller to detach that volume from another node (Multi-Attach): the
// node it is attached to lists it in status.volumesAttached (and, while a
// pod there mounts it, status.volumesInUse). The cluster's nodes are read
// once (the shared cache) and those holding such a volume join the graph —
// a NotReady node that no pod of the graph runs on would otherwise stay
// unseen. Nothing is read when no pod of the graph waits on a volume.
func collectVolumeHolders(ctx context.Context, r *run) error {
	r.mu.Lock()
	var want []string // PV names and CSI volume handles
	for i := range r.snap.Pods {
		p := &r.snap.Pods[i]
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName == "" {
			continue
		}
		for _, v := range p.Spec.Volumes {
			if v.PersistentVolumeClaim == nil {
				continue
			}
			for j := range r.snap.PVCs {
				c := &r.snap.PVCs[j]
				if c.Namespace != p.Namespace || c.Name != v.PersistentVolumeClaim.ClaimName || c.Spec.VolumeName == "" {
					continue
				}
				for k := range r.snap.PVs {
					pv := &r.snap.PVs[k]
					if pv.Name != c.Spec.VolumeName || !singleNodeAccess(pv.Spec.AccessModes) {
						continue
					}
					want = append(want, pv.Name)
					if pv.Spec.CSI != nil && pv.Spec.CSI.VolumeHandle != "" {
						want = append(want, pv.Spec.CSI.VolumeHandle)
					}
				}
			}
		}
	}
	r.mu.Unlock()
	if len(want) == 0 {
		return nil
	}
	nodes, err := r.listNodes(ctx)
	if err != nil {
		return err
	}
	var held []corev1.Node
	for i := range nodes {
		if nodeHoldsVolume(&nodes[i], want) {
			held = append(held, *nodes[i].DeepCopy())
		}
	}
	r.addNodes(held...)
	return nil
}

// singleNodeAccess reports whether a volume can be attached to one node at
// a time (no ReadWriteMany or ReadOnlyMany).
func singleNodeAccess(modes []corev1.PersistentVolumeAccessMode) bool {
	return !slices.Contains(modes, corev1.ReadWriteMany) && !slices.Contains(modes, corev1.ReadOnlyMany)
}

// nodeHoldsVolume reports whether n lists one of the volumes (PV names or
// CSI handles) as attached or in use; the kubelet names them
// "kubernetes.io/csi/<driver>^<handle>" or "kubernetes.io/<plugin>/<name>".
func nodeHoldsVolume(n *corev1.Node, want []string) bool {
	match := func(name string) bool {
		for _, w := range want {
			if strings.HasSuffix(name, "^"+w) || strings.HasSuffix(name, "/"+w) || name == w {
				return true
			}
		}
		return false
	}
	for _, a := range n.Status.VolumesAttached {
		if match(string(a.Name)) {
			return true
		}
	}
	for _, u := range n.Status.VolumesInUse {
		if match(string(u)) {
			return true
		}
	}
	return false
}
