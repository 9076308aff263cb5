package k8s

import (
	"context"
	"errors"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// maxPreemptors bounds the preempting pods read for one investigation.
const maxPreemptors = 3

// formerPodPrefixes returns the name prefixes ("<controller>-") of the
// pods that the workload controllers of the snapshot create, so that the
// events of their pods that are gone (preempted, evicted, replaced) count
// as events of the graph: a vanished pod's events outlive it.
func (r *run) formerPodPrefixes() map[string][]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string][]string{}
	add := func(ns, name string) { out[ns] = append(out[ns], name+"-") }
	for _, x := range r.snap.ReplicaSets {
		add(x.Namespace, x.Name)
	}
	for _, x := range r.snap.StatefulSets {
		add(x.Namespace, x.Name)
	}
	for _, x := range r.snap.DaemonSets {
		add(x.Namespace, x.Name)
	}
	for _, x := range r.snap.Jobs {
		add(x.Namespace, x.Name)
	}
	return out
}

// formerPod reports whether the event is about a pod that one of the
// snapshot's controllers created (its name is the controller's plus one
// generated segment).
func formerPod(io corev1.ObjectReference, prefixes map[string][]string) bool {
	if io.Kind != "Pod" {
		return false
	}
	for _, p := range prefixes[io.Namespace] {
		if rest, ok := strings.CutPrefix(io.Name, p); ok && rest != "" && !strings.Contains(rest, "-") {
			return true
		}
	}
	return false
}

// collectPreemptors reads the pods that preempted pods of the graph: the
// scheduler's Preempted event names the preemptor in its related object
// (and by UID in its message). The preemptor, with its priority and
// priorityClassName, joins RelatedPods: it holds the resources the
// workload's replacement pods now wait for.
func collectPreemptors(ctx context.Context, r *run) error {
	r.mu.Lock()
	var want []podName
	for _, e := range r.snap.Events {
		if e.Reason != "Preempted" || e.Related == nil || e.Related.Kind != "Pod" || e.Related.Name == "" {
			continue
		}
		x := podName{e.Related.Namespace, e.Related.Name}
		if x.ns == "" {
			x.ns = e.InvolvedObject.Namespace
		}
		dup := false
		for _, w := range want {
			dup = dup || w == x
		}
		for _, p := range append(r.snap.Pods, r.snap.RelatedPods...) {
			dup = dup || (p.Namespace == x.ns && p.Name == x.name)
		}
		if !dup && len(want) < maxPreemptors {
			want = append(want, x)
		}
	}
	r.mu.Unlock()
	var errs []error
	errs = append(errs, r.addRelatedPods(ctx, want)...)
	return errors.Join(errs...)
}
