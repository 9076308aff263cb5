package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDiagnoseImagePullRateLimit(t *testing.T) {
	pullFailing := func(image, msg string) podOpt {
		return func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Spec.Containers[0].Image = image
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: msg}}}}
		}
	}
	const limited = `failed to pull and unpack image "docker.io/library/redis:7.2": failed to copy: httpReadSeeker: failed open: unexpected status code https://registry-1.docker.io/v2/library/redis/manifests/sha256:abc: 429 Too Many Requests - Server message: toomanyrequests: You have reached your pull rate limit.`
	runRuleCases(t, []string{"image-pull"}, []ruleCase{
		{name: "anonymous pulls of several pods hit the limit", rule: "image-pull",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{
					*newPod("cache", "redis-0", onNode("worker-1"), pullFailing("docker.io/library/redis:7.2", limited)),
					*newPod("cache", "redis-1", onNode("worker-2"), pullFailing("docker.io/library/redis:7.2", limited)),
					*newPod("cache", "redis-2", onNode("worker-2"), pullFailing("docker.io/library/redis:7.2", limited))}}
			},
			summary: []string{"429 Too Many Requests", "docker.io", "3 pods on 2 nodes", "no imagePullSecrets", "anonymous"}},
		{name: "an authenticated account's limit is used up", rule: "image-pull",
			snap: func() *Snapshot {
				p := newPod("ci", "runner-0", pullFailing("ghcr.io/acme/runner:1", "rpc error: code = Unknown desc = toomanyrequests: retry-after: 120"))
				p.Spec.ImagePullSecrets = []corev1.LocalObjectReference{{Name: "ghcr-creds"}}
				return &Snapshot{Pods: []corev1.Pod{*p}}
			},
			summary: []string{"ghcr.io", "imagePullSecrets ghcr-creds"}},
	})
	// A tag that does not exist is not a rate limit.
	s := &Snapshot{Pods: []corev1.Pod{*newPod("web", "api-0", pullFailing("reg.example/web/api:9.9", `failed to resolve reference "reg.example/web/api:9.9": reg.example/web/api:9.9: not found`))}}
	for _, f := range s.Diagnose() {
		if f.Rule == "image-pull" && (strings.Contains(f.Summary, "429") || strings.Contains(f.Summary, "rate limit")) {
			t.Errorf("not-found reported as a rate limit: %s", f.Summary)
		}
	}
}
