package k8s

import (
	"context"
	"errors"
	"slices"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// maxConfigMapRefs bounds the ConfigMaps read per investigation.
const maxConfigMapRefs = 10

// configMapRef is one ConfigMap a pod references.
type configMapRef struct {
	ns, name string
	optional bool
}

// configMapRefs lists the ConfigMaps a pod references through volumes,
// projected volumes, envFrom and env, except the kube-root-ca.crt every
// pod gets.
func configMapRefs(p *corev1.Pod) []configMapRef {
	var out []configMapRef
	add := func(name string, optional *bool) {
		if name == "" || name == "kube-root-ca.crt" {
			return
		}
		ref := configMapRef{p.Namespace, name, optional != nil && *optional}
		if i := slices.IndexFunc(out, func(x configMapRef) bool { return x.name == name }); i >= 0 {
			out[i].optional = out[i].optional && ref.optional
			return
		}
		out = append(out, ref)
	}
	for _, v := range p.Spec.Volumes {
		if v.ConfigMap != nil {
			add(v.ConfigMap.Name, v.ConfigMap.Optional)
		}
		if v.Projected != nil {
			for _, s := range v.Projected.Sources {
				if s.ConfigMap != nil {
					add(s.ConfigMap.Name, s.ConfigMap.Optional)
				}
			}
		}
	}
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		for _, e := range c.EnvFrom {
			if e.ConfigMapRef != nil {
				add(e.ConfigMapRef.Name, e.ConfigMapRef.Optional)
			}
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil && e.ValueFrom.ConfigMapKeyRef != nil {
				add(e.ValueFrom.ConfigMapKeyRef.Name, e.ValueFrom.ConfigMapKeyRef.Optional)
			}
		}
	}
	return out
}

// collectRefs reads the ConfigMaps the investigated pods reference; the
// absent ones (unless optional) go to MissingRefs as "configmap/ns/name".
// Secrets are never read: a missing Secret shows up in the pod's events.
func collectRefs(ctx context.Context, r *run) error {
	pods, _ := r.podsSnapshot()
	var refs []configMapRef
	for _, p := range pods {
		for _, ref := range configMapRefs(&p) {
			if !slices.ContainsFunc(refs, func(x configMapRef) bool { return x.ns == ref.ns && x.name == ref.name }) && len(refs) < maxConfigMapRefs {
				refs = append(refs, ref)
			}
		}
	}
	var errs []error
	for _, ref := range refs {
		r.count(1)
		cm, err := r.g.cs.CoreV1().ConfigMaps(ref.ns).Get(ctx, ref.name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			if !ref.optional {
				r.mu.Lock()
				r.snap.MissingRefs = append(r.snap.MissingRefs, "configmap/"+ref.ns+"/"+ref.name)
				r.mu.Unlock()
			}
		case err != nil:
			errs = append(errs, wrapGet("configmap", ref.ns, ref.name, err))
		default:
			r.mu.Lock()
			r.snap.ConfigMaps = append(r.snap.ConfigMaps, *cm)
			r.mu.Unlock()
		}
	}
	return errors.Join(errs...)
}
