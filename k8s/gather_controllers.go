package k8s

import (
	"context"
	"errors"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/k8flex/k8flex/investigate"
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

// followAutoscaler turns a target that names only a
// HorizontalPodAutoscaler into the workload it scales (its
// scaleTargetRef): the HPA's state explains the alert, the workload's pods
// and events what the HPA sees. The HPA itself is read again with the
// workload's autoscalers. A missing HPA is recorded in NotFound.
func (r *run) followAutoscaler(ctx context.Context, t investigate.Target) investigate.Target {
	r.count(1)
	h, err := readOne[autoscalingv2.HorizontalPodAutoscaler](ctx, r.g.api, resHPAs, r.ns, t.Autoscaler)
	switch {
	case apierrors.IsNotFound(err):
		r.snap.NotFound = append(r.snap.NotFound, "horizontalpodautoscaler/"+r.ns+"/"+t.Autoscaler)
		return t
	case err != nil:
		r.gap("resolve", wrapGet("horizontalpodautoscaler", r.ns, t.Autoscaler, err))
		return t
	}
	ref := h.Spec.ScaleTargetRef
	var kind investigate.Kind
	switch ref.Kind {
	case "Deployment":
		kind = investigate.KindDeployment
	case "StatefulSet":
		kind = investigate.KindStatefulSet
	default:
		return t
	}
	if !investigate.ValidName(ref.Name) {
		return t
	}
	t.Workload = investigate.Ref{Kind: kind, Name: ref.Name}
	t.Kind, t.Name = kind, ref.Name
	r.snap.Target = t
	return t
}
