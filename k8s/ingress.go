package k8s

import (
	"context"
	"slices"
	"strings"

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
	var near []corev1.Service
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
				// The Service the route was probably meant for (renamed,
				// misspelled) is evidence too.
				for _, s := range svcs {
					if similarServiceName(s.Name, b) && !slices.ContainsFunc(near, func(x corev1.Service) bool { return x.Name == s.Name }) {
						near = append(near, s)
					}
				}
			}
		}
	}
	r.mu.Lock()
	r.snap.Ingresses = append(r.snap.Ingresses, keep...)
	r.snap.MissingRefs = append(r.snap.MissingRefs, missing...)
	for _, s := range near {
		if !slices.ContainsFunc(r.snap.Services, func(x corev1.Service) bool { return x.Namespace == s.Namespace && x.Name == s.Name }) {
			r.snap.Services = append(r.snap.Services, s)
		}
	}
	r.mu.Unlock()
	return nil
}

// similarServiceName reports whether a is plausibly the Service meant by
// the name b: at most two edits apart, one name a dash-separated prefix
// of the other (api / api-v2), or the same dash-separated words where
// each differing word abbreviates the other (catalog-gw /
// catalog-gateway: the letters of one appear in order in the other,
// starting with the same letter).
func similarServiceName(a, b string) bool {
	if a == b {
		return false
	}
	if editDistance(a, b) <= 2 || strings.HasPrefix(a, b+"-") || strings.HasPrefix(b, a+"-") {
		return true
	}
	wa, wb := strings.Split(a, "-"), strings.Split(b, "-")
	if len(wa) != len(wb) || len(wa) < 2 {
		return false
	}
	same := 0
	for i := range wa {
		switch {
		case wa[i] == wb[i]:
			same++
		case abbreviates(wa[i], wb[i]) || abbreviates(wb[i], wa[i]):
		default:
			return false
		}
	}
	return same > 0
}

// abbreviates reports whether short is an abbreviation of long: shorter,
// same first letter, its letters in order in long.
func abbreviates(short, long string) bool {
	if len(short) == 0 || len(short) >= len(long) || short[0] != long[0] {
		return false
	}
	i := 0
	for j := 0; j < len(long) && i < len(short); j++ {
		if long[j] == short[i] {
			i++
		}
	}
	return i == len(short)
}
