package k8s

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The LimitRanger admission plugin records on the pod what it filled in
// from a LimitRange default, in the annotation kubernetes.io/limit-ranger:
//
//	LimitRanger plugin set: cpu, memory request for container app; memory limit for container app
//
// (init containers read "for init container NAME"). A limit it set is not
// in the workload's template: whoever sized the container never chose it.
const limitRangerAnnotation = "kubernetes.io/limit-ranger"

// limitRangerSet reports whether the LimitRanger plugin set the given kind
// ("limit" or "request") of res for container name of p.
func limitRangerSet(p *corev1.Pod, name string, res corev1.ResourceName, kind string) bool {
	a, ok := p.Annotations[limitRangerAnnotation]
	if !ok {
		return false
	}
	a = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(a), "LimitRanger plugin set:"))
	for _, part := range strings.Split(a, ";") {
		part = strings.TrimSpace(part)
		var what, who string
		for _, sep := range []string{" for init container ", " for container "} {
			if i := strings.Index(part, sep); i >= 0 {
				what, who = part[:i], strings.TrimSpace(part[i+len(sep):])
				break
			}
		}
		if who != name || !strings.HasSuffix(what, " "+kind) {
			continue
		}
		for _, r := range strings.Split(strings.TrimSuffix(what, " "+kind), ",") {
			if corev1.ResourceName(strings.TrimSpace(r)) == res {
				return true
			}
		}
	}
	return false
}

// injectedLimit explains a container limit of res that a LimitRange default
// set (not the workload's own spec): a clause for a Summary and its proof
// line, or "" when the pod spec set the limit itself.
func (d *diag) injectedLimit(p *corev1.Pod, container string, res corev1.ResourceName) (clause, proof string) {
	if !limitRangerSet(p, container, res, "limit") {
		return "", ""
	}
	proof = fmt.Sprintf("%s annotation %s: %s", p.Name, limitRangerAnnotation, clip(p.Annotations[limitRangerAnnotation], 300))
	if lr, def := d.limitRangeDefault(p.Namespace, res); lr != "" {
		return fmt.Sprintf("; the workload's spec sets no %s limit — that limit is the default %s %s of LimitRange %s/%s, injected at admission by the LimitRanger plugin (annotation %s)",
			res, res, def, p.Namespace, lr, limitRangerAnnotation), proof
	}
	return fmt.Sprintf("; the workload's spec sets no %s limit — it was injected at admission from a LimitRange default (annotation %s)", res, limitRangerAnnotation), proof
}
