package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// collectStorage reads the PersistentVolumeClaims the investigated pods
// (and pending related pods) mount, their PersistentVolumes and
// StorageClasses, and the nodes a PersistentVolume is pinned to. A claim or
// StorageClass that does not exist is recorded in MissingRefs.
func collectStorage(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	for _, p := range related {
		if podTrouble(&p) >= 3 {
			pods = append(pods, p)
		}
	}
	type claim struct{ ns, name string }
	var claims []claim
	for _, p := range pods {
		for _, v := range p.Spec.Volumes {
			var name string
			switch {
			case v.PersistentVolumeClaim != nil:
				name = v.PersistentVolumeClaim.ClaimName
			case v.Ephemeral != nil:
				name = p.Name + "-" + v.Name
			default:
				continue
			}
			if c := (claim{p.Namespace, name}); !slices.Contains(claims, c) {
				claims = append(claims, c)
			}
		}
	}
	if len(claims) == 0 {
		return nil
	}
	var errs []error
	byNS := map[string][]corev1.PersistentVolumeClaim{}
	unread := map[string]bool{} // namespaces whose claims could not be listed
	var pvcs []corev1.PersistentVolumeClaim
	var missing []string
	for _, c := range claims {
		list, ok := byNS[c.ns]
		if !ok && !unread[c.ns] {
			r.count(1)
			l, err := readList[corev1.PersistentVolumeClaimList](ctx, r.g.api, resPVCs, c.ns, metav1.ListOptions{})
			if err != nil {
				errs = append(errs, fmt.Errorf("list persistentvolumeclaims in %s: %w", c.ns, err))
				unread[c.ns] = true
				continue
			}
			// An API server's empty list decodes to nil Items: the
			// namespace has no claim at all, so this one is missing.
			list = l.Items
			byNS[c.ns] = list
		}
		i := slices.IndexFunc(list, func(x corev1.PersistentVolumeClaim) bool { return x.Name == c.name })
		if i < 0 {
			if !unread[c.ns] {
				missing = append(missing, "pvc/"+c.ns+"/"+c.name)
			}
			continue
		}
		pvcs = append(pvcs, list[i])
	}
	var pvs []corev1.PersistentVolume
	var pinned []string
	for _, c := range pvcs {
		if c.Spec.VolumeName == "" {
			continue
		}
		r.count(1)
		pv, err := readOne[corev1.PersistentVolume](ctx, r.g.api, resPVs, "", c.Spec.VolumeName)
		if err != nil {
			if apierrors.IsNotFound(err) {
				missing = append(missing, "pv/"+c.Spec.VolumeName)
			} else {
				errs = append(errs, wrapGet("persistentvolume", "", c.Spec.VolumeName, err))
			}
			continue
		}
		pvs = append(pvs, *pv)
		pinned = append(pinned, pinnedNodes(pv)...)
	}
	var classes []storagev1.StorageClass
	if len(pvcs) > 0 {
		r.count(1)
		l, err := readList[storagev1.StorageClassList](ctx, r.g.api, resStorageClasses, "", metav1.ListOptions{})
		if err != nil {
			errs = append(errs, fmt.Errorf("list storageclasses: %w", err))
		} else {
			for _, c := range pvcs {
				name := ""
				if c.Spec.StorageClassName != nil {
					name = *c.Spec.StorageClassName
				}
				for _, sc := range l.Items {
					isDefault := sc.Annotations["storageclass.kubernetes.io/is-default-class"] == "true"
					if (sc.Name == name || (name == "" && isDefault)) && !slices.ContainsFunc(classes, func(x storagev1.StorageClass) bool { return x.Name == sc.Name }) {
						classes = append(classes, sc)
					}
				}
				// A bound claim no longer needs its class; an unbound one does.
				if name != "" && c.Status.Phase != corev1.ClaimBound && !slices.ContainsFunc(l.Items, func(x storagev1.StorageClass) bool { return x.Name == name }) {
					missing = append(missing, "storageclass/"+name)
				}
			}
			// Without any class named, show what exists (no default is a cause).
			if len(classes) == 0 {
				classes = l.Items
			}
		}
	}
	var nodes []corev1.Node
	r.mu.Lock()
	have := slices.Clone(r.snap.Nodes)
	r.mu.Unlock()
	for _, name := range pinned {
		if slices.ContainsFunc(have, func(n corev1.Node) bool { return n.Name == name }) || slices.ContainsFunc(nodes, func(n corev1.Node) bool { return n.Name == name }) {
			continue
		}
		n, err := r.getNode(ctx, name)
		if err != nil {
			if apierrors.IsNotFound(err) {
				missing = append(missing, "node/"+name)
			} else {
				errs = append(errs, wrapGet("node", "", name, err))
			}
			continue
		}
		nodes = append(nodes, *n)
	}
	r.addNodes(nodes...)
	r.mu.Lock()
	r.snap.PVCs = append(r.snap.PVCs, pvcs...)
	r.snap.PVs = append(r.snap.PVs, pvs...)
	r.snap.StorageClasses = append(r.snap.StorageClasses, classes...)
	r.snap.MissingRefs = append(r.snap.MissingRefs, missing...)
	r.mu.Unlock()
	return errors.Join(errs...)
}

// pinnedNodes returns the hostnames a PersistentVolume's node affinity
// requires (local and local-path volumes).
func pinnedNodes(pv *corev1.PersistentVolume) []string {
	if pv.Spec.NodeAffinity == nil || pv.Spec.NodeAffinity.Required == nil {
		return nil
	}
	var out []string
	for _, t := range pv.Spec.NodeAffinity.Required.NodeSelectorTerms {
		for _, e := range t.MatchExpressions {
			if e.Key == corev1.LabelHostname && e.Operator == corev1.NodeSelectorOpIn {
				out = append(out, e.Values...)
			}
		}
	}
	return out
}
