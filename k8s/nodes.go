package k8s

import (
	"context"
	"errors"
	"slices"

	coordinationv1 "k8s.io/api/coordination/v1"
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
	// A DaemonSet is about every node: the ones it does not cover matter.
	unscheduled := len(r.snap.DaemonSets) > 0
	r.mu.Unlock()
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

// maxLeaseNodes bounds the nodes whose kubelet lease is read.
const maxLeaseNodes = 3

// nodeLeaseNamespace holds one Lease per node, renewed by its kubelet
// every 10 s or so.
const nodeLeaseNamespace = "kube-node-lease"

// collectNodeLeases reads the kubelet Lease of each node in the snapshot
// that is not Ready (at most maxLeaseNodes): its renewTime dates the
// kubelet's last heartbeat more precisely than the node's conditions,
// which a healthy kubelet updates only every few minutes. A node without
// a Lease is not an error.
func collectNodeLeases(ctx context.Context, r *run) error {
	r.mu.Lock()
	var names []string
	for _, n := range r.snap.Nodes {
		if c := nodeCondition(&n, corev1.NodeReady); c != nil && c.Status != corev1.ConditionTrue && len(names) < maxLeaseNodes {
			names = append(names, n.Name)
		}
	}
	r.mu.Unlock()
	var errs []error
	for _, name := range names {
		l, err := cachedRead(ctx, r, "lease/"+name, func(ctx context.Context) (*coordinationv1.Lease, error) {
			return readOne[coordinationv1.Lease](ctx, r.g.api, resLeases, nodeLeaseNamespace, name)
		})
		switch {
		case apierrors.IsNotFound(err):
		case err != nil:
			errs = append(errs, wrapGet("lease", nodeLeaseNamespace, name, err))
		default:
			r.mu.Lock()
			r.snap.NodeLeases = append(r.snap.NodeLeases, *l.DeepCopy())
			r.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}

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
