package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestDiagnosePreemption(t *testing.T) {
	at := time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)
	prio := func(v int32, class string) podOpt {
		return func(p *corev1.Pod) { p.Spec.Priority = &v; p.Spec.PriorityClassName = class }
	}
	onNode := func(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }
	unschedulable := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Spec.NodeName = ""
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
			Message: "0/4 nodes are available: 4 Insufficient cpu."}}
	}
	preempted := func(ns, victim, uid, node string, related *corev1.ObjectReference) corev1.Event {
		e := newEvent(ns, victim+".p", "Pod", ns, victim, "Preempted", at)
		e.Type = "Normal"
		e.Message = "Preempted by pod " + uid + " on node " + node
		e.Related = related
		return *e
	}
	runRuleCases(t, []string{"pod-preempted"}, []ruleCase{
		{
			name: "scheduler preemption named by the related object",
			snap: func() *Snapshot {
				pre := newPod("batch", "train-7-abcde", prio(100000, "batch-high"), onNode("w2"))
				pre.UID = types.UID("u-1")
				waiting := newPod("web", "api-5d4c-zzzzz", ownedByRS("api-5d4c"), prio(0, ""), unschedulable)
				return &Snapshot{Pods: []corev1.Pod{*waiting}, RelatedPods: []corev1.Pod{*pre},
					Events: []corev1.Event{preempted("web", "api-5d4c-aaaaa", "u-1", "w2",
						&corev1.ObjectReference{Kind: "Pod", Namespace: "batch", Name: "train-7-abcde"})}}
			},
			rule:    "pod-preempted",
			summary: []string{"scheduler preempted 1 pod(s)", "api-5d4c-aaaaa", "on node w2", "pod batch/train-7-abcde", "PriorityClass batch-high, priority 100000", "Their replacements (api-5d4c-zzzzz) stay Pending: 0/4 nodes are available: 4 Insufficient cpu"},
			objects: []string{"pod/batch/train-7-abcde", "pod/web/api-5d4c-zzzzz"},
			proof:   []string{"Normal Preempted", "preemptor batch/train-7-abcde: priorityClassName batch-high"},
		},
		{
			name: "preemptor found by UID only, victim still terminating with DisruptionTarget",
			snap: func() *Snapshot {
				pre := newPod("etl", "loader-0", prio(5000, "etl"), onNode("n9"))
				pre.UID = types.UID("u-9")
				victim := newPod("shop", "cart-0", prio(10, "low"), onNode("n9"), func(p *corev1.Pod) {
					p.Status.Conditions = []corev1.PodCondition{{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
						Reason: "PreemptionByScheduler", Message: "default-scheduler: preempting to accommodate a higher priority pod"}}
				})
				return &Snapshot{Pods: []corev1.Pod{*victim}, RelatedPods: []corev1.Pod{*pre},
					Events: []corev1.Event{preempted("shop", "cart-0", "u-9", "n9", nil)}}
			},
			rule:    "pod-preempted",
			summary: []string{"cart-0", "pod etl/loader-0", "priority 5000", "the victims run at priority 10 (priorityClassName low)"},
			proof:   []string{"DisruptionTarget=True reason=PreemptionByScheduler"},
		},
		{
			name: "kubelet preempts for a critical pod",
			snap: func() *Snapshot {
				v := newPod("tools", "debug-x", onNode("n1"), func(p *corev1.Pod) {
					p.Status.Phase = corev1.PodFailed
					p.Status.Reason = "Preempting"
					p.Status.Message = "Preempted in order to admit critical pod"
				})
				return &Snapshot{Pods: []corev1.Pod{*v}}
			},
			rule:    "pod-preempted",
			summary: []string{"the kubelet preempted", "a critical pod the kubelet had to admit"},
		},
		{
			name: "pending for lack of cpu without preemption",
			snap: func() *Snapshot {
				waiting := newPod("web", "api-5d4c-zzzzz", ownedByRS("api-5d4c"), unschedulable)
				ev := newEvent("web", "x", "Pod", "web", "api-5d4c-zzzzz", "FailedScheduling", at)
				ev.Message = "0/4 nodes are available: 4 Insufficient cpu. preemption: 0/4 nodes are available: 4 No preemption victims found for incoming pod."
				return &Snapshot{Pods: []corev1.Pod{*waiting}, Events: []corev1.Event{*ev}}
			},
		},
	})
}
