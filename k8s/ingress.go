package k8s

import (
	"context"
	"slices"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
)

// maxIngresses bounds the Ingresses kept per investigation.
const maxIngresses = 10

// ingressBackends returns the names of the Services an Ingress routes to
// (default backend and every rule path), each once, in order.
func ingressBackends(ing *networkingv1.Ingress) []string {
	var out []string
	add := func(b *networkingv1.IngressBackend) {
		if b != nil && b.Service != nil && b.Service.Name != "" && !slices.Contains(out, b.Service.Name) {
			out = append(out, b.Service.Name)
		}
	}
	add(ing.Spec.DefaultBackend)
	for _, rule := range ing.Spec.Rules {
		if rule.HTTP == nil {
			continue
		}
		for i := range rule.HTTP.Paths {
			add(&rule.HTTP.Paths[i].Backend)
		}
	}
	return out
}

// collectIngresses reads the Ingresses of the investigation's namespace and
// keeps those that route to one of the snapshot's Services, and those
// that route to a Service the namespace does not hold (a dangling route is
// evidence whatever the target). A backend Service that does not exist is
// recorded in MissingRefs as "service/ns/name".
func collectIngresses(ctx context.Context, r *run) error {
	if r.ns == "" {
		return nil
	}
	list, err := listNamespace(ctx, r, resIngresses, r.ns, func(l *networkingv1.IngressList) []networkingv1.Ingress { return l.Items })
	if err != nil || len(list) == 0 {
		return err
	}
	svcs, err := r.listServices(ctx, r.ns)
	if err != nil {
		return err
	}
	r.mu.Lock()
	own := slices.Clone(r.snap.Services)
	r.mu.Unlock()
	exists := func(name string) bool {
		return slices.ContainsFunc(svcs, func(s corev1.Service) bool { return s.Name == name })
	}
	ours := func(name string) bool {
		return slices.ContainsFunc(own, func(s corev1.Service) bool { return s.Namespace == r.ns && s.Name == name })
	}
	var keep []networkingv1.Ingress
	var missing []string
	for _, ing := range list {
		if len(keep) == maxIngresses {
			break
		}
		backends := ingressBackends(&ing)
		if !slices.ContainsFunc(backends, ours) && !slices.ContainsFunc(backends, func(n string) bool { return !exists(n) }) {
			continue
		}
		keep = append(keep, ing)
		for _, b := range backends {
			if !exists(b) {
				missing = append(missing, "service/"+ing.Namespace+"/"+b)
			}
		}
	}
	r.mu.Lock()
	r.snap.Ingresses = append(r.snap.Ingresses, keep...)
	r.snap.MissingRefs = append(r.snap.MissingRefs, missing...)
	r.mu.Unlock()
	return nil
}
