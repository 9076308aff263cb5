package k8s

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// workloadRef names one workload of the snapshot.
type workloadRef struct{ kind, ns, name string }

// graphState is what the collectors that follow links from the workloads
// need of the snapshot, copied under the run's lock.
type graphState struct {
	// workloads are the controllers read so far (Deployment, ReplicaSet,
	// StatefulSet, DaemonSet, Job, CronJob).
	workloads []workloadRef
	// templates are the pod templates of those controllers.
	templates []*corev1.PodTemplateSpec
	// pods are the snapshot's pods (Pods, then RelatedPods).
	pods []corev1.Pod
}

// graph copies the workloads, their pod templates and the pods of the
// snapshot under the lock.
func (r *run) graph() graphState {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.snap
	var g graphState
	for _, w := range s.workloadTemplates() {
		g.workloads = append(g.workloads, w.workloadRef)
		g.templates = append(g.templates, w.template.DeepCopy())
	}
	g.pods = append(append(g.pods, s.Pods...), s.RelatedPods...)
	return g
}

// hasWorkload reports whether the snapshot holds the workload.
func (g graphState) hasWorkload(kind, ns, name string) bool {
	for _, w := range g.workloads {
		if w.kind == kind && w.ns == ns && w.name == name {
			return true
		}
	}
	return false
}

// selectsAny reports whether sel (a label selector with the semantics of
// metav1.LabelSelectorAsSelector: nil selects nothing, empty selects
// everything) matches a pod in ns or the labels of a pod template of a
// workload in ns.
func (g graphState) selectsAny(ns string, sel *metav1.LabelSelector) bool {
	if sel == nil {
		return false
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return false
	}
	for _, p := range g.pods {
		if p.Namespace == ns && s.Matches(labels.Set(p.Labels)) {
			return true
		}
	}
	for i, t := range g.templates {
		if g.workloads[i].ns == ns && len(t.Labels) > 0 && s.Matches(labels.Set(t.Labels)) {
			return true
		}
	}
	return false
}

// listNamespace lists resource res in namespace ns through the shared
// cache; items picks the items of the decoded list.
func listNamespace[T any, L any, PL interface {
	*L
	runtime.Object
}](ctx context.Context, r *run, res schema.GroupVersionResource, ns string, items func(*L) []T) ([]T, error) {
	return cachedList(ctx, r, res.Resource+"/"+ns, func(ctx context.Context) ([]T, error) {
		l, err := readList[L, PL](ctx, r.g.api, res, ns, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("list %s in %s: %w", res.Resource, nsName(ns), err)
		}
		return items(l), nil
	})
}

// workloadTemplate is a controller of the snapshot with its pod template
// (pointing into the snapshot).
type workloadTemplate struct {
	workloadRef
	template *corev1.PodTemplateSpec
}

// workloadTemplates lists the snapshot's controllers with their pod
// templates: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs and
// CronJobs (the Job template's pod template), in that order.
func (s *Snapshot) workloadTemplates() []workloadTemplate {
	var out []workloadTemplate
	add := func(kind, ns, name string, t *corev1.PodTemplateSpec) {
		out = append(out, workloadTemplate{workloadRef{kind, ns, name}, t})
	}
	for i := range s.Deployments {
		x := &s.Deployments[i]
		add("Deployment", x.Namespace, x.Name, &x.Spec.Template)
	}
	for i := range s.ReplicaSets {
		x := &s.ReplicaSets[i]
		add("ReplicaSet", x.Namespace, x.Name, &x.Spec.Template)
	}
	for i := range s.StatefulSets {
		x := &s.StatefulSets[i]
		add("StatefulSet", x.Namespace, x.Name, &x.Spec.Template)
	}
	for i := range s.DaemonSets {
		x := &s.DaemonSets[i]
		add("DaemonSet", x.Namespace, x.Name, &x.Spec.Template)
	}
	for i := range s.Jobs {
		x := &s.Jobs[i]
		add("Job", x.Namespace, x.Name, &x.Spec.Template)
	}
	for i := range s.CronJobs {
		x := &s.CronJobs[i]
		add("CronJob", x.Namespace, x.Name, &x.Spec.JobTemplate.Spec.Template)
	}
	return out
}
