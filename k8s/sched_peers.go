package k8s

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxSchedulingPeers bounds the pods of other workloads added as the
// reason a pod cannot be scheduled.
const maxSchedulingPeers = 10

// collectSchedulingPeers reads the pods of other workloads that keep an
// unscheduled pod off its nodes: those binding a host port it asks for
// ("node(s) didn't have free ports for the requested pod ports") and those
// whose required pod anti-affinity repels it ("node(s) didn't satisfy
// existing pods anti-affinity rules"). It lists the pods of all namespaces
// once, and only when such a pod is under investigation.
func collectSchedulingPeers(ctx context.Context, r *run) error {
	pods, related := r.podsSnapshot()
	var pending []*corev1.Pod
	for i := range append(pods, related...) {
		p := &append(pods, related...)[i]
		if p.Status.Phase != corev1.PodPending || p.Spec.NodeName != "" {
			continue
		}
		msg := strings.ToLower(scheduledMessage(p))
		if len(hostPorts(p)) > 0 || strings.Contains(msg, "free ports") || strings.Contains(msg, "existing pods anti-affinity") {
			pending = append(pending, p)
		}
	}
	if len(pending) == 0 {
		return nil
	}
	all, err := r.listPods(ctx, "")
	if err != nil {
		return err
	}
	var add []corev1.Pod
	for i := range all {
		q := &all[i]
		if q.Spec.NodeName == "" || q.Status.Phase == corev1.PodSucceeded || q.Status.Phase == corev1.PodFailed {
			continue
		}
		for _, p := range pending {
			if q.Namespace == p.Namespace && q.Name == p.Name {
				continue
			}
			if bindsAny(q, hostPorts(p)) || repels(q, p) {
				add = append(add, *q)
				break
			}
		}
		if len(add) >= maxSchedulingPeers {
			break
		}
	}
	r.addRelated(add...)
	return nil
}

// scheduledMessage returns the message of the pod's PodScheduled=False
// condition, "" when there is none.
func scheduledMessage(p *corev1.Pod) string {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			return c.Message
		}
	}
	return ""
}

// bindsAny reports whether pod q binds one of the host ports want.
func bindsAny(q *corev1.Pod, want []boundPort) bool {
	for _, h := range hostPorts(q) {
		for _, w := range want {
			if w.conflicts(h) {
				return true
			}
		}
	}
	return false
}

// repels reports whether a required anti-affinity term of q selects p.
func repels(q, p *corev1.Pod) bool {
	for _, t := range requiredPodTerms(q, true) {
		if termSelects(t, q, p) {
			return true
		}
	}
	return false
}
