package k8s

import (
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// diagnoseServiceSubsets audits the selector ↔ pods link of Services that
// do select pods: when Running pods of the namespace carry every label of
// a Service's selector but one (another value, or the label missing), the
// Service sends all its traffic to the few pods that carry it — a canary
// or a single version gets the load of the whole workload while the rest
// idle. It names the selector label that splits them.
func diagnoseServiceSubsets(d *diag) []investigate.Finding {
	var out []investigate.Finding
	for i := range d.s.Services {
		svc := &d.s.Services[i]
		if len(svc.Spec.Selector) < 2 || svc.Spec.Type == corev1.ServiceTypeExternalName {
			continue
		}
		selected := runningOnly(d.selectedPods(svc.Namespace, svc.Spec.Selector))
		if len(selected) == 0 {
			continue // no endpoints at all: the selector rule explains it
		}
		// Pods that miss exactly one selector label, by that label.
		missBy := map[string][]*corev1.Pod{}
		for _, p := range d.pods {
			if p.Namespace != svc.Namespace || p.Status.Phase != corev1.PodRunning || selects(svc.Spec.Selector, p.Labels) {
				continue
			}
			var missed []string
			for k, v := range svc.Spec.Selector {
				if p.Labels[k] != v {
					missed = append(missed, k)
				}
			}
			if len(missed) == 1 {
				missBy[missed[0]] = append(missBy[missed[0]], p)
			}
		}
		keys := make([]string, 0, len(missBy))
		for k := range missBy {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			left := missBy[k]
			if len(left) < len(selected) {
				continue // a few stragglers, not a split
			}
			var theirs []string
			for _, p := range left {
				v, ok := p.Labels[k]
				if !ok {
					v = "(unset)"
				}
				theirs = appendUnique(theirs, k+"="+v)
			}
			sum := fmt.Sprintf("Service %s/%s selects only %d %s (%s) through its selector label %s=%s: %d other Running %s (%s) carry every other selector label but %s, so they get none of the Service's traffic and the selected %s carry all of it",
				svc.Namespace, svc.Name, len(selected), plural(len(selected), "pod", "pods"), subsetPodNames(selected), k, svc.Spec.Selector[k],
				len(left), plural(len(left), "pod", "pods"), podOwners(left), strings.Join(theirs, ", "), plural(len(selected), "pod", "pods"))
			out = append(out, investigate.Finding{
				Rule: "service-subset", Severity: investigate.FindingWarning, Score: scoreCause - 5, Category: investigate.ServiceDown,
				Summary: sum + ".",
				Detail:  "A Service load-balances over the pods its whole selector matches; one extra label (a version or track label) narrows it to a subset.",
				Objects: append([]string{"service/" + svc.Namespace + "/" + svc.Name}, podRefsOf(selected)...),
				Proof: []string{fmt.Sprintf("service %s/%s spec.selector: %s", svc.Namespace, svc.Name, kv(svc.Spec.Selector)),
					fmt.Sprintf("selected: %s; not selected: %s (%s)", subsetPodNames(selected), subsetPodNames(left), strings.Join(theirs, ", "))},
				Actions: []string{
					fmt.Sprintf("Remove %s from the selector of Service %s/%s if all versions should serve, or route the canary share explicitly (a second Service, a weighted ingress):", k, svc.Namespace, svc.Name) +
						fmt.Sprintf(" kubectl patch service -n %s %s --type=json -p '[{\"op\":\"remove\",\"path\":\"/spec/selector/%s\"}]'", svc.Namespace, svc.Name, strings.ReplaceAll(strings.ReplaceAll(k, "~", "~0"), "/", "~1")),
					fmt.Sprintf("kubectl get endpointslices -n %s -l kubernetes.io/service-name=%s -o wide", svc.Namespace, svc.Name),
				},
				Impact: fmt.Sprintf("%s serve all of %s's traffic: they saturate (CPU throttling, latency) while %d pods idle.", subsetPodNames(selected), svc.Name, len(left)),
			})
		}
	}
	return out
}

func runningOnly(ps []*corev1.Pod) []*corev1.Pod {
	var out []*corev1.Pod
	for _, p := range ps {
		if p.Status.Phase == corev1.PodRunning {
			out = append(out, p)
		}
	}
	return out
}

func subsetPodNames(ps []*corev1.Pod) string {
	var n []string
	for _, p := range ps {
		n = append(n, p.Name)
	}
	return joinNames(n)
}

// podOwners names the workloads of pods ("deployment/web").
func podOwners(ps []*corev1.Pod) string {
	var n []string
	for _, p := range ps {
		n = appendUnique(n, workloadOrPod(p))
	}
	return strings.Join(n, ", ")
}
