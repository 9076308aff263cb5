package k8s

import (
	"context"

	policyv1 "k8s.io/api/policy/v1"
)

// collectDisruptionBudgets reads the PodDisruptionBudgets of the
// investigation's namespace and keeps those that select the pods of the
// snapshot or the pod template of one of its workloads (a budget that
// allows no disruption blocks evictions and node drains).
func collectDisruptionBudgets(ctx context.Context, r *run) error {
	if r.ns == "" {
		return nil
	}
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
	var keep []policyv1.PodDisruptionBudget
	for _, b := range list {
		if g.selectsAny(b.Namespace, b.Spec.Selector) {
			keep = append(keep, b)
		}
	}
	r.mu.Lock()
	r.snap.PodDisruptionBudgets = append(r.snap.PodDisruptionBudgets, keep...)
	r.mu.Unlock()
	return nil
}
