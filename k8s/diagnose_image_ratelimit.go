package k8s

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// reImageRateLimit matches a registry's refusal for too many pulls: HTTP
// 429, the distribution spec's TOOMANYREQUESTS error code, "pull rate
// limit".
var reImageRateLimit = regexp.MustCompile(`(?i)toomanyrequests|too many requests|\b429\b|rate limit`)

// explainPullRateLimit explains a pull refused for the registry's rate
// limit: which registry, how many pods and nodes pull from it at once (the
// limit counts pulls per client IP, or per account), and whether the pulls
// are anonymous (an imagePullSecret raises the limit).
func (d *diag) explainPullRateLimit(p *corev1.Pod, image string, proof *[]string) (why, act string) {
	host := registryHost(image)
	var pods, nodes []string
	for _, q := range d.pods {
		pulling := false
		for _, cs := range append(append([]corev1.ContainerStatus{}, q.Status.InitContainerStatuses...), q.Status.ContainerStatuses...) {
			if w := cs.State.Waiting; w != nil && (w.Reason == "ErrImagePull" || w.Reason == "ImagePullBackOff") && registryHost(cs.Image) == host {
				pulling = true
			}
		}
		for _, e := range d.eventsWithReason(q, "Pulling", "Failed") {
			if reImageRateLimit.MatchString(e.Message) || e.Reason == "Pulling" && strings.Contains(e.Message, host) {
				pulling = true
			}
		}
		if pulling {
			pods = appendUnique(pods, q.Namespace+"/"+q.Name)
			if q.Spec.NodeName != "" {
				nodes = appendUnique(nodes, q.Spec.NodeName)
			}
		}
	}
	why = fmt.Sprintf("the registry %s refuses the pull with 429 Too Many Requests (toomanyrequests): its pull rate limit is exhausted", host)
	if len(pods) > 1 {
		why += fmt.Sprintf("; %d pods on %d %s pull from it at once (%s)", len(pods), len(nodes), plural(len(nodes), "node", "nodes"), joinNames(pods))
		*proof = append(*proof, fmt.Sprintf("%d pods pulling from %s on nodes %s", len(pods), host, joinNames(nodes)))
	}
	var secrets []string
	for _, s := range p.Spec.ImagePullSecrets {
		secrets = append(secrets, s.Name)
	}
	if len(secrets) == 0 {
		why += "; the pod has no imagePullSecrets, so the pulls are anonymous and share the lowest limit per node IP (nodes behind one NAT share it)"
		act = fmt.Sprintf("Add an imagePullSecret for %s (authenticated pulls get a higher limit) to %s or its ServiceAccount, or mirror the image to a registry you control; stagger the rollout meanwhile.", host, workloadOrPod(p))
	} else {
		why += fmt.Sprintf("; the pod pulls with imagePullSecrets %s, whose account's limit is used up", joinNames(secrets))
		act = fmt.Sprintf("Use an account with a higher pull limit for %s, or mirror the image to a registry you control; use imagePullPolicy IfNotPresent with a pinned tag so nodes reuse cached images.", host)
	}
	return why, act
}
