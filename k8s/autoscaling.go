package k8s

import (
	"context"

	autoscalingv2 "k8s.io/api/autoscaling/v2"
)

// collectAutoscalers reads the HorizontalPodAutoscalers of the
// investigation's namespace and keeps those whose scale target is one of
// the snapshot's workloads (an HPA at its maximum, or unable to read its
// metrics, explains replicas that do not follow the load). It runs after
// the owners are read.
func collectAutoscalers(ctx context.Context, r *run) error {
	if r.ns == "" {
		return nil
	}
	g := r.graph()
	if len(g.workloads) == 0 {
		return nil
	}
	list, err := listNamespace(ctx, r, resHPAs, r.ns, func(l *autoscalingv2.HorizontalPodAutoscalerList) []autoscalingv2.HorizontalPodAutoscaler {
		return l.Items
	})
	if err != nil {
		return err
	}
	var keep []autoscalingv2.HorizontalPodAutoscaler
	for _, h := range list {
		if ref := h.Spec.ScaleTargetRef; g.hasWorkload(ref.Kind, h.Namespace, ref.Name) {
			keep = append(keep, h)
		}
	}
	r.mu.Lock()
	r.snap.HorizontalPodAutoscalers = append(r.snap.HorizontalPodAutoscalers, keep...)
	r.mu.Unlock()
	return nil
}
