package k8s

import (
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// maxPrimaryPods bounds the pods under investigation; further unhealthy
// pods of the same workload go to RelatedPods.
const maxPrimaryPods = 5

// podTrouble ranks how unhealthy a pod is: 0 healthy (or completed), 1
// restarted at some point, 2 not ready, 3 failed, pending or a container
// waiting in an error state.
func podTrouble(p *corev1.Pod) int {
	switch p.Status.Phase {
	case corev1.PodSucceeded:
		return 0
	case corev1.PodFailed, corev1.PodPending, corev1.PodUnknown:
		return 3
	}
	if p.DeletionTimestamp != nil {
		return 2
	}
	worst := 0
	all := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range all {
		switch {
		case cs.State.Waiting != nil && cs.State.Waiting.Reason != "" && cs.State.Waiting.Reason != "ContainerCreating" && cs.State.Waiting.Reason != "PodInitializing":
			worst = max(worst, 3)
		case cs.State.Terminated != nil && cs.State.Terminated.ExitCode != 0:
			worst = max(worst, 3)
		case cs.RestartCount > 0:
			worst = max(worst, 1)
		}
	}
	if !podReady(p) {
		worst = max(worst, 2)
	}
	return worst
}

// podReady reports whether the pod's Ready condition is True.
func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// sortByTrouble orders pods most troubled first, then by namespace and name.
func sortByTrouble(pods []corev1.Pod) {
	sort.SliceStable(pods, func(i, j int) bool {
		ti, tj := podTrouble(&pods[i]), podTrouble(&pods[j])
		if ti != tj {
			return ti > tj
		}
		if pods[i].Namespace != pods[j].Namespace {
			return pods[i].Namespace < pods[j].Namespace
		}
		return pods[i].Name < pods[j].Name
	})
}

// splitByHealth sorts pods and splits them into the troubled ones (at most
// maxPrimaryPods; all pods when none is troubled and allWhenHealthy) and the
// rest.
func splitByHealth(pods []corev1.Pod, allWhenHealthy bool) (primary, rest []corev1.Pod) {
	pods = append([]corev1.Pod(nil), pods...)
	sortByTrouble(pods)
	for i := range pods {
		if podTrouble(&pods[i]) > 0 || (allWhenHealthy && podTrouble(&pods[0]) == 0) {
			if len(primary) < maxPrimaryPods {
				primary = append(primary, pods[i])
				continue
			}
		}
		rest = append(rest, pods[i])
	}
	return primary, rest
}

// controllerOf returns the pod's controlling owner reference, or nil.
func controllerOf(p *corev1.Pod) *metav1.OwnerReference {
	return metav1.GetControllerOf(p)
}

var (
	// rsPodName matches a Deployment pod: <deployment>-<pod-template-hash>-<5 chars>.
	rsPodName = regexp.MustCompile(`^(([a-z0-9-]+)-[a-z0-9]{6,10})-[a-z0-9]{5}$`)
	// stsPodName matches a StatefulSet pod: <statefulset>-<ordinal>.
	stsPodName = regexp.MustCompile(`^([a-z0-9-]+)-([0-9]+)$`)
	// jobPodName matches a Job or DaemonSet pod: <owner>-<5 chars>.
	jobPodName = regexp.MustCompile(`^([a-z0-9-]+)-[a-z0-9]{5}$`)
)

// ownerGuess is what a pod's name says about its owner, for a pod that no
// longer exists.
type ownerGuess struct {
	ReplicaSet, Deployment, StatefulSet, Other string
}

// guessOwner derives the owner names a pod name implies.
func guessOwner(pod string) ownerGuess {
	var g ownerGuess
	if m := rsPodName.FindStringSubmatch(pod); m != nil {
		g.ReplicaSet, g.Deployment = m[1], m[2]
	}
	if m := stsPodName.FindStringSubmatch(pod); m != nil {
		g.StatefulSet = m[1]
	}
	if m := jobPodName.FindStringSubmatch(pod); m != nil {
		g.Other = m[1]
	}
	return g
}

// matches reports whether a pod in the namespace belongs to the guessed owner.
func (g ownerGuess) matches(p *corev1.Pod) bool {
	ref := controllerOf(p)
	if ref == nil {
		return false
	}
	switch ref.Kind {
	case "ReplicaSet":
		if g.ReplicaSet != "" && ref.Name == g.ReplicaSet {
			return true
		}
		if g.Deployment != "" {
			if m := rsName.FindStringSubmatch(ref.Name); m != nil && m[1] == g.Deployment {
				return true
			}
		}
	case "StatefulSet":
		return g.StatefulSet != "" && ref.Name == g.StatefulSet
	case "Job", "DaemonSet":
		return g.Other != "" && ref.Name == g.Other
	}
	return false
}

// rsName splits a ReplicaSet name into its Deployment and hash.
var rsName = regexp.MustCompile(`^([a-z0-9-]+)-([a-z0-9]{6,10})$`)

// deploymentOfReplicaSet returns the Deployment a ReplicaSet name implies
// ("" when it does not look like one); the owner reference is preferred.
func deploymentOfReplicaSet(name string) string {
	if m := rsName.FindStringSubmatch(name); m != nil {
		return m[1]
	}
	return ""
}

// selects reports whether the selector map selects the labels; an empty
// selector selects nothing (as for a Service).
func selects(selector, lbls map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	return labels.SelectorFromSet(selector).Matches(labels.Set(lbls))
}

// nearMiss reports whether a pod almost matches a Service: it carries every
// selector key but some with another value, or its name resembles the
// Service's name.
func nearMiss(svcName string, selector map[string]string, p *corev1.Pod) bool {
	if selects(selector, p.Labels) {
		return false
	}
	if len(selector) > 0 {
		shared, differ := 0, 0
		for k, v := range selector {
			if pv, ok := p.Labels[k]; ok {
				shared++
				if pv != v && resembles(v, pv) {
					differ++
				}
			}
		}
		if shared == len(selector) && differ > 0 {
			return true
		}
	}
	return resembles(svcName, podBaseName(p))
}

// podBaseName strips the generated suffixes of a pod name.
func podBaseName(p *corev1.Pod) string {
	if ref := controllerOf(p); ref != nil {
		if ref.Kind == "ReplicaSet" {
			if d := deploymentOfReplicaSet(ref.Name); d != "" {
				return d
			}
		}
		return ref.Name
	}
	return p.Name
}

// resembles reports whether two names are equal or a small edit apart
// (payments-api vs payment-api), or one is a dash-prefix of the other.
func resembles(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if a == b || strings.HasPrefix(b, a+"-") || strings.HasPrefix(a, b+"-") {
		return true
	}
	if len(a) < 5 || len(b) < 5 {
		return false
	}
	return editDistance(a, b) <= 2
}

// editDistance is the Levenshtein distance of two short strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// podKey is "ns/name".
func podKey(p *corev1.Pod) string { return p.Namespace + "/" + p.Name }
