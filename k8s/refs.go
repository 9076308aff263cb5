package k8s

import (
	"context"
	"errors"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// maxConfigMapRefs bounds the ConfigMaps read per investigation.
const maxConfigMapRefs = 10

// optionalRefSuffix marks a MissingRefs entry that every pod referencing
// it marks optional: true ("configmap/shop/app-settings (optional)").
const optionalRefSuffix = " (optional)"

// missingRefEntry renders one MissingRefs entry: "kind/ns/name", with
// optionalRefSuffix when the reference is optional.
func missingRefEntry(kind, ns, name string, optional bool) string {
	s := kind + "/" + ns + "/" + name
	if optional {
		s += optionalRefSuffix
	}
	return s
}

// parseMissingRef splits a MissingRefs entry into its "kind/ns/name" and
// whether the reference was optional.
func parseMissingRef(entry string) (ref string, optional bool) {
	ref, optional = strings.CutSuffix(entry, optionalRefSuffix)
	return ref, optional
}

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
// absent ones go to MissingRefs as "configmap/ns/name", or
// "configmap/ns/name (optional)" when every pod marks the reference
// optional (the pod then starts with an empty volume or without the
// variables, which can still be why the application fails). Secrets are
// never read: a missing Secret shows up in the pod's events.
func collectRefs(ctx context.Context, r *run) error {
	pods, _ := r.podsSnapshot()
	var refs []configMapRef
	for _, p := range pods {
		for _, ref := range configMapRefs(&p) {
			i := slices.IndexFunc(refs, func(x configMapRef) bool { return x.ns == ref.ns && x.name == ref.name })
			switch {
			case i >= 0:
				// Optional only when no pod requires it.
				refs[i].optional = refs[i].optional && ref.optional
			case len(refs) < maxConfigMapRefs:
				refs = append(refs, ref)
			}
		}
	}
	var errs []error
	for _, ref := range refs {
		r.count(1)
		cm, err := readOne[corev1.ConfigMap](ctx, r.g.api, resConfigMaps, ref.ns, ref.name)
		switch {
		case apierrors.IsNotFound(err):
			r.mu.Lock()
			r.snap.MissingRefs = append(r.snap.MissingRefs, missingRefEntry("configmap", ref.ns, ref.name, ref.optional))
			r.mu.Unlock()
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

// defaultServiceAccount is the ServiceAccount of a pod that names none;
// the ServiceAccount controller creates it in every namespace.
const defaultServiceAccount = "default"

// collectServiceAccounts checks that the ServiceAccounts the pods and the
// pod templates of the workloads name exist (existence only: one list of
// the namespace's ServiceAccounts through the shared cache). A missing one
// goes to MissingRefs as "serviceaccount/ns/name" (a pod template naming
// it cannot create pods). A namespace whose list lacks the "default"
// ServiceAccount every namespace holds (a recording that did not keep
// ServiceAccounts) is not judged.
func collectServiceAccounts(ctx context.Context, r *run) error {
	if r.ns == "" {
		return nil
	}
	g := r.graph()
	var names []string
	add := func(ns, name string) {
		if ns != r.ns {
			return
		}
		if name == "" {
			name = defaultServiceAccount
		}
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	r.mu.Lock()
	for _, p := range r.snap.Pods {
		add(p.Namespace, p.Spec.ServiceAccountName)
	}
	r.mu.Unlock()
	for i, t := range g.templates {
		add(g.workloads[i].ns, t.Spec.ServiceAccountName)
	}
	if len(names) == 0 {
		return nil
	}
	list, err := listNamespace(ctx, r, resSvcAccounts, r.ns, func(l *corev1.ServiceAccountList) []corev1.ServiceAccount { return l.Items })
	if err != nil {
		return err
	}
	exists := func(name string) bool {
		return slices.ContainsFunc(list, func(sa corev1.ServiceAccount) bool { return sa.Name == name })
	}
	if !exists(defaultServiceAccount) {
		return nil
	}
	var missing []string
	for _, n := range names {
		if !exists(n) {
			missing = append(missing, missingRefEntry("serviceaccount", r.ns, n, false))
		}
	}
	r.mu.Lock()
	r.snap.MissingRefs = append(r.snap.MissingRefs, missing...)
	r.mu.Unlock()
	return nil
}
