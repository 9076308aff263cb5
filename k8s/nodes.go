package k8s

import (
	"context"
	"errors"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// maxNodes bounds the nodes kept when every node matters (a pod that
// cannot be scheduled).
const maxNodes = 20

// collectNodes reads the nodes the investigated pods run on, and every
// node when one of them is waiting to be scheduled (the scheduler's
// verdict is about all of them). The node of a node target was read while
// resolving.
func collectNodes(ctx context.Context, r *run) error {
	pods, _ := r.podsSnapshot()
	r.mu.Lock()
	have := map[string]bool{}
	for _, n := range r.snap.Nodes {
		have[n.Name] = true
	}
	r.mu.Unlock()
	unscheduled := false
	var names []string
	for _, p := range pods {
		switch {
		case p.Spec.NodeName == "":
			unscheduled = unscheduled || p.Status.Phase == corev1.PodPending
		case !have[p.Spec.NodeName] && !slices.Contains(names, p.Spec.NodeName):
			names = append(names, p.Spec.NodeName)
		}
	}
	var found []corev1.Node
	var errs []error
	if unscheduled {
		all, err := r.listNodes(ctx)
		if err != nil {
			return err
		}
		for _, n := range all {
			if !have[n.Name] && len(found) < maxNodes {
				found = append(found, n)
			}
		}
	} else {
		for _, name := range names {
			n, err := r.getNode(ctx, name)
			if err != nil {
				if !apierrors.IsNotFound(err) {
					errs = append(errs, wrapGet("node", "", name, err))
				}
				continue
			}
			found = append(found, *n)
		}
	}
	r.addNodes(found...)
	return errors.Join(errs...)
}

// TODO: read the node's Lease (kube-node-lease/<node>) for node categories:
// its renewTime dates a kubelet that stopped heartbeating.

// addNodes appends nodes not yet in the snapshot.
func (r *run) addNodes(nodes ...corev1.Node) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, n := range nodes {
		if !slices.ContainsFunc(r.snap.Nodes, func(x corev1.Node) bool { return x.Name == n.Name }) {
			r.snap.Nodes = append(r.snap.Nodes, n)
		}
	}
}
