package fold

import (
	"regexp"
	"strings"

	"github.com/k8flex/k8flex/investigate"
)

// safeChars is the alphabet Kubernetes draws generated name suffixes and
// pod-template-hashes from (no vowels, no 0, 1, 3).
const safeChars = `[bcdfghjklmnpqrstvwxz2456789]`

var (
	// deploymentPod: <deployment>-<pod-template-hash>-<suffix>.
	deploymentPod = regexp.MustCompile(`^(.+)-` + safeChars + `{6,10}-` + safeChars + `{5}$`)
	// statefulSetPod: <statefulset>-<ordinal>.
	statefulSetPod = regexp.MustCompile(`^(.+)-(0|[1-9][0-9]{0,5})$`)
	// generatedPod: <daemonset or job>-<suffix>.
	generatedPod = regexp.MustCompile(`^(.+)-` + safeChars + `{5}$`)
)

// WorkloadOfPod returns the workload a pod's name implies: a Deployment for
// <name>-<hash>-<suffix>, a StatefulSet for <name>-<ordinal>, a DaemonSet
// or Job (Kind "owner", the two are not told apart by name) for
// <name>-<suffix>; a zero Ref when the name implies none. Hashes and
// suffixes must use Kubernetes' generated-name alphabet, so that
// hand-named pods ("api-v2-test") are not folded together by accident.
func WorkloadOfPod(pod string) investigate.Ref {
	if m := deploymentPod.FindStringSubmatch(pod); m != nil {
		return investigate.Ref{Kind: investigate.KindDeployment, Name: m[1]}
	}
	if m := statefulSetPod.FindStringSubmatch(pod); m != nil {
		return investigate.Ref{Kind: investigate.KindStatefulSet, Name: m[1]}
	}
	if m := generatedPod.FindStringSubmatch(pod); m != nil {
		return investigate.Ref{Kind: "owner", Name: m[1]}
	}
	return investigate.Ref{}
}

// Key returns the incident a request belongs to: alert name, namespace and
// owning workload (from the workload labels, else the pod name, else the
// target itself). Requests without an alert (slash commands, CLI) return
// "" and are never folded.
func Key(req *investigate.Request) string {
	if req.Alert == nil {
		return ""
	}
	t := req.EffectiveTarget()
	return req.AlertName() + "\x00" + t.Namespace + "\x00" + owner(t)
}

func owner(t investigate.Target) string {
	if !t.Workload.IsZero() {
		return string(t.Workload.Kind) + "/" + t.Workload.Name
	}
	if t.Pod != "" {
		if w := WorkloadOfPod(t.Pod); !w.IsZero() {
			// A Job or DaemonSet label would have named the kind; by name
			// alone a Deployment or StatefulSet is as good as any.
			return string(w.Kind) + "/" + w.Name
		}
		return "pod/" + t.Pod
	}
	return t.String() + "\x00" + t.Instance
}

// Workload returns the workload the incident key of req names
// ("Deployment/checkout"), or "" when its target names none (a pod whose
// name implies no workload, a node, a service).
func Workload(req *investigate.Request) string {
	if req.Alert == nil {
		return ""
	}
	o := owner(req.EffectiveTarget())
	if strings.HasPrefix(o, "pod/") || strings.Contains(o, "\x00") {
		return ""
	}
	return o
}
