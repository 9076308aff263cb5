package k8s

import (
	"context"
	"fmt"
	"slices"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/k8flex/k8flex/investigate"
)

// maxNamespaceServices bounds the Services kept for a namespace-wide target.
const maxNamespaceServices = 10

// collectServices reads the Services in front of the investigated pods or
// the pod template of the target workload (a workload without pods still
// has its Services), the target Service, or every Service of a namespace
// target, with their EndpointSlices and, for service categories, their
// Endpoints.
func collectServices(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	g := r.graph()
	svcs, err := r.listServices(ctx, r.ns)
	if err != nil {
		return err
	}
	r.mu.Lock()
	var relevant []corev1.Service
	for _, s := range r.snap.Services {
		relevant = append(relevant, s)
	}
	r.mu.Unlock()
	namespaceTarget := r.snap.Target.Kind == investigate.KindNamespace || r.snap.Target.Kind == ""
	for _, s := range svcs {
		if slices.ContainsFunc(relevant, func(x corev1.Service) bool { return x.Name == s.Name }) {
			continue
		}
		matched := slices.ContainsFunc(podsOf(append(pods, related...), s.Namespace), func(p corev1.Pod) bool { return selects(s.Spec.Selector, p.Labels) }) ||
			slices.ContainsFunc(g.templates, func(t *corev1.PodTemplateSpec) bool { return selects(s.Spec.Selector, t.Labels) })
		if matched || (namespaceTarget && r.has(investigate.ScopeService) && len(relevant) < maxNamespaceServices) {
			relevant = append(relevant, s)
		}
	}
	if len(relevant) == 0 {
		return nil
	}
	r.addSelectorSplits(ctx, relevant)
	slicesFor, endpoints, err := r.endpointsOf(ctx, r.ns, relevant, r.has(investigate.ScopeService))
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range relevant {
		if !slices.ContainsFunc(r.snap.Services, func(x corev1.Service) bool { return x.Namespace == s.Namespace && x.Name == s.Name }) {
			r.snap.Services = append(r.snap.Services, s)
		}
	}
	r.snap.EndpointSlices = append(r.snap.EndpointSlices, slicesFor...)
	r.snap.Endpoints = append(r.snap.Endpoints, endpoints...)
	return err
}

// endpointsOf returns the EndpointSlices (and, when withEndpoints, the
// Endpoints) of the Services, all in namespace ns.
func (r *run) endpointsOf(ctx context.Context, ns string, svcs []corev1.Service, withEndpoints bool) ([]discoveryv1.EndpointSlice, []corev1.Endpoints, error) {
	all, err := r.listSlices(ctx, ns)
	if err != nil {
		return nil, nil, err
	}
	var slicesFor []discoveryv1.EndpointSlice
	for _, es := range all {
		name := es.Labels[discoveryv1.LabelServiceName]
		if slices.ContainsFunc(svcs, func(s corev1.Service) bool { return s.Name == name }) {
			slicesFor = append(slicesFor, es)
		}
	}
	if !withEndpoints {
		return slicesFor, nil, nil
	}
	var eps []corev1.Endpoints
	for _, s := range svcs {
		r.count(1)
		ep, err := readOne[corev1.Endpoints](ctx, r.g.api, resEndpoints, ns, s.Name)
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return slicesFor, eps, fmt.Errorf("get endpoints %s/%s: %w", ns, s.Name, err)
		}
		eps = append(eps, *ep)
	}
	return slicesFor, eps, nil
}

// readyEndpoints counts the ready and not-ready endpoints of EndpointSlices.
func readyEndpoints(slicesFor []discoveryv1.EndpointSlice) (ready, notReady int) {
	for _, es := range slicesFor {
		for _, e := range es.Endpoints {
			if e.Conditions.Ready == nil || *e.Conditions.Ready {
				ready++
			} else {
				notReady++
			}
		}
	}
	return ready, notReady
}

// maxSplitPods bounds the pods kept per Service that miss one selector
// label.
const maxSplitPods = 5

// addSelectorSplits keeps, as related pods, the Running pods of the
// namespace that carry every label of a relevant Service's selector but
// one: the selector ↔ pods audit needs them to see a Service that serves
// only a subset of a workload (a version label only the canary carries).
// The namespace's pod list is the one resolve read (shared cache).
func (r *run) addSelectorSplits(ctx context.Context, svcs []corev1.Service) {
	var multi []corev1.Service
	for _, s := range svcs {
		if len(s.Spec.Selector) >= 2 {
			multi = append(multi, s)
		}
	}
	if len(multi) == 0 || r.ns == "" {
		return
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return // the other collectors report the list's failure
	}
	for _, s := range multi {
		var keep []corev1.Pod
		for _, p := range all {
			if len(keep) == maxSplitPods || p.Status.Phase != corev1.PodRunning || selects(s.Spec.Selector, p.Labels) {
				continue
			}
			missed := 0
			for k, v := range s.Spec.Selector {
				if p.Labels[k] != v {
					missed++
				}
			}
			if missed == 1 {
				keep = append(keep, p)
			}
		}
		r.addRelated(keep...)
	}
}
