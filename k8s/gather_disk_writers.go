package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxDiskWritersPerNode bounds the host-disk writers whose log is read per
// node under DiskPressure.
const maxDiskWritersPerNode = 3

// collectDiskWriters follows a node's DiskPressure to the pods that write
// to that node's disk outside their writable layer: for each node of the
// graph with DiskPressure=True (a few), the pods on it are listed and those
// with a writable hostPath of their own or a disk-backed emptyDir without
// sizeLimit (node agents buffering to the host, caches, scratch space)
// join RelatedPods; their current log is read, since a writer says there
// why it keeps data (its destination refuses it).
func collectDiskWriters(ctx context.Context, r *run) error {
	r.mu.Lock()
	var nodes []string
	for i := range r.snap.Nodes {
		n := &r.snap.Nodes[i]
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeDiskPressure && c.Status == corev1.ConditionTrue && len(nodes) < maxPressuredNodes {
				nodes = append(nodes, n.Name)
			}
		}
	}
	r.mu.Unlock()
	var errs []error
	var writers []corev1.Pod
	for _, node := range nodes {
		onNode, err := r.podsOnNode(ctx, node)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		var cands []corev1.Pod
		for _, p := range onNode {
			if p.Status.Phase == corev1.PodRunning && len(hostDiskMounts(&p)) > 0 {
				cands = append(cands, p)
			}
		}
		sort.SliceStable(cands, func(i, j int) bool { return diskWriterRank(&cands[i]) < diskWriterRank(&cands[j]) })
		writers = append(writers, cands[:min(len(cands), maxDiskWritersPerNode)]...)
	}
	if len(writers) == 0 {
		return errors.Join(errs...)
	}
	r.addRelated(writers...)
	var reqs []logRequest
	for _, w := range writers {
		for _, cs := range w.Status.ContainerStatuses {
			if cs.State.Running != nil {
				reqs = append(reqs, logRequest{ns: w.Namespace, pod: w.Name, container: cs.Name})
			}
		}
	}
	r.addLogs(r.readLogs(ctx, "disk-writers", reqs))
	return errors.Join(errs...)
}

// diskWriterRank orders the host-disk writers of a node for reading their
// logs: the cluster's critical node infrastructure (priorityClassName
// system-node-critical or system-cluster-critical: the network plugin,
// CSI node drivers, which keep binaries and state on the host) after
// every other pod; within each group a writable hostPath of the pod's own
// (rare, and not counted in its ephemeral-storage usage, so the kubelet
// never evicts it for the space) before an unbounded emptyDir (common as
// scratch space).
func diskWriterRank(p *corev1.Pod) int {
	r := 0
	switch p.Spec.PriorityClassName {
	case "system-node-critical", "system-cluster-critical":
		r += 2
	}
	if !slices.ContainsFunc(hostDiskMounts(p), func(m string) bool { return strings.HasPrefix(m, "hostPath ") }) {
		r++
	}
	return r
}

// hostDiskMounts describes the volumes a container of the pod mounts,
// writable, on the node's disk: a hostPath of its own (not a system
// directory) or a disk-backed emptyDir without sizeLimit.
func hostDiskMounts(p *corev1.Pod) []string {
	var where []string
	for _, c := range p.Spec.Containers {
		for _, vm := range c.VolumeMounts {
			if vm.ReadOnly {
				continue
			}
			for _, v := range p.Spec.Volumes {
				if v.Name != vm.Name {
					continue
				}
				switch {
				case v.HostPath != nil && !systemHostPath(v.HostPath.Path):
					where = appendUnique(where, fmt.Sprintf("hostPath %s (mounted at %s)", v.HostPath.Path, vm.MountPath))
				case v.EmptyDir != nil && v.EmptyDir.Medium != corev1.StorageMediumMemory && v.EmptyDir.SizeLimit == nil:
					where = appendUnique(where, fmt.Sprintf("emptyDir %s without sizeLimit (mounted at %s)", v.Name, vm.MountPath))
				}
			}
		}
	}
	return where
}
