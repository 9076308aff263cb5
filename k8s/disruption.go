package k8s

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// collectDisruptionBudgets reads the PodDisruptionBudgets of the
// investigation's namespace and keeps those that select the pods of the
// snapshot or the pod template of one of its workloads (a budget that
// allows no disruption blocks evictions and node drains).
//
// A node investigation (no namespace) reads the budgets of all namespaces
// in one request and keeps those that select a pod on the node: they are
// what blocks the node's drain.
func collectDisruptionBudgets(ctx context.Context, r *run) error {
	g := r.graph()
	if len(g.pods) == 0 && len(g.templates) == 0 {
		return nil
	}
	list, err := listNamespace(ctx, r, resPDBs, r.ns, func(l *policyv1.PodDisruptionBudgetList) []policyv1.PodDisruptionBudget {
		return l.Items
	})
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	have := map[string]bool{}
	for _, b := range r.snap.PodDisruptionBudgets {
		have[b.Namespace+"/"+b.Name] = true
	}
	for _, b := range list {
		if (r.ns == "" || b.Namespace == r.ns) && !have[b.Namespace+"/"+b.Name] && g.selectsAny(b.Namespace, b.Spec.Selector) {
			r.snap.PodDisruptionBudgets = append(r.snap.PodDisruptionBudgets, b)
		}
	}
	return nil
}

// resolveDisruptionBudget investigates the pods a PodDisruptionBudget
// selects (healthy ones included: they are the pods its budget protects
// from eviction), most troubled first.
func (r *run) resolveDisruptionBudget(ctx context.Context, name string) error {
	r.count(1)
	b, err := readOne[policyv1.PodDisruptionBudget](ctx, r.g.api, resPDBs, r.ns, name)
	if apierrors.IsNotFound(err) {
		r.snap.NotFound = append(r.snap.NotFound, "poddisruptionbudget/"+r.ns+"/"+name)
		return r.resolveNamespace(ctx)
	}
	if err != nil {
		return fmt.Errorf("get poddisruptionbudget %s/%s: %w", r.ns, name, err)
	}
	r.snap.PodDisruptionBudgets = append(r.snap.PodDisruptionBudgets, *b)
	sel, err := metav1.LabelSelectorAsSelector(b.Spec.Selector)
	if err != nil || b.Spec.Selector == nil {
		return r.resolveNamespace(ctx)
	}
	all, err := r.listPods(ctx, r.ns)
	if err != nil {
		return err
	}
	var mine []corev1.Pod
	for _, p := range all {
		if sel.Matches(labels.Set(p.Labels)) {
			mine = append(mine, p)
		}
	}
	sortByTrouble(mine)
	r.snap.Pods = mine
	return nil
}
