package k8s

import (
	"context"
	"errors"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
)

// collectServiceWorkloads follows a Service that selects no pod to the
// Deployments and StatefulSets whose pod template it selects: a workload
// scaled to zero (or whose pods cannot be created) leaves its Service
// empty, and only the workload says why. It runs after the Services are
// read and before the owners, so their ReplicaSets, autoscalers and
// events follow.
func collectServiceWorkloads(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	all := append(pods, related...)
	r.mu.Lock()
	var empty []corev1.Service
	for _, s := range r.snap.Services {
		if len(s.Spec.Selector) == 0 {
			continue
		}
		if !slices.ContainsFunc(all, func(p corev1.Pod) bool { return p.Namespace == s.Namespace && selects(s.Spec.Selector, p.Labels) }) {
			empty = append(empty, s)
		}
	}
	r.mu.Unlock()
	if len(empty) == 0 {
		return nil
	}
	g := r.graph()
	var errs []error
	var deps []appsv1.Deployment
	var stss []appsv1.StatefulSet
	for _, ns := range distinctNamespaces(empty) {
		dl, err := listNamespace(ctx, r, resDeployments, ns, func(l *appsv1.DeploymentList) []appsv1.Deployment { return l.Items })
		errs = append(errs, err)
		for _, x := range dl {
			if !g.hasWorkload("Deployment", x.Namespace, x.Name) && templateSelected(empty, x.Namespace, &x.Spec.Template) {
				deps = append(deps, x)
			}
		}
		sl, err := listNamespace(ctx, r, resStatefulSets, ns, func(l *appsv1.StatefulSetList) []appsv1.StatefulSet { return l.Items })
		errs = append(errs, err)
		for _, x := range sl {
			if !g.hasWorkload("StatefulSet", x.Namespace, x.Name) && templateSelected(empty, x.Namespace, &x.Spec.Template) {
				stss = append(stss, x)
			}
		}
	}
	r.mu.Lock()
	r.snap.Deployments = append(r.snap.Deployments, deps...)
	r.snap.StatefulSets = append(r.snap.StatefulSets, stss...)
	r.mu.Unlock()
	return errors.Join(errs...)
}

func distinctNamespaces(svcs []corev1.Service) []string {
	var out []string
	for _, s := range svcs {
		if !slices.Contains(out, s.Namespace) {
			out = append(out, s.Namespace)
		}
	}
	return out
}

// templateSelected reports whether one of the Services selects the
// template's labels.
func templateSelected(svcs []corev1.Service, ns string, t *corev1.PodTemplateSpec) bool {
	return slices.ContainsFunc(svcs, func(s corev1.Service) bool { return s.Namespace == ns && selects(s.Spec.Selector, t.Labels) })
}
