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
	for i := range s.Deployments {
		x := &s.Deployments[i]
		g.workloads = append(g.workloads, workloadRef{"Deployment", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.Template.DeepCopy())
	}
	for i := range s.ReplicaSets {
		x := &s.ReplicaSets[i]
		g.workloads = append(g.workloads, workloadRef{"ReplicaSet", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.Template.DeepCopy())
	}
	for i := range s.StatefulSets {
		x := &s.StatefulSets[i]
		g.workloads = append(g.workloads, workloadRef{"StatefulSet", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.Template.DeepCopy())
	}
	for i := range s.DaemonSets {
		x := &s.DaemonSets[i]
		g.workloads = append(g.workloads, workloadRef{"DaemonSet", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.Template.DeepCopy())
	}
	for i := range s.Jobs {
		x := &s.Jobs[i]
		g.workloads = append(g.workloads, workloadRef{"Job", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.Template.DeepCopy())
	}
	for i := range s.CronJobs {
		x := &s.CronJobs[i]
		g.workloads = append(g.workloads, workloadRef{"CronJob", x.Namespace, x.Name})
		g.templates = append(g.templates, x.Spec.JobTemplate.Spec.Template.DeepCopy())
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
