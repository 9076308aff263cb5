package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func withHook(post, pre *corev1.LifecycleHandler) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: post, PreStop: pre}
	}
}

func hookEvent(pod, reason, msg string, at time.Time) corev1.Event {
	e := newEvent("shop", pod+"."+reason, "Pod", "shop", pod, reason, at)
	e.Message, e.InvolvedObject.FieldPath = msg, "spec.containers{app}"
	if reason == "Killing" {
		e.Type = "Normal"
	}
	return *e
}

func TestDiagnoseLifecycleHooks(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC)
	execHook := &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", "/opt/app/register.sh"}}}
	runRuleCases(t, []string{"lifecycle-hook"}, []ruleCase{
		{
			name: "postStart exec hook exits non-zero, detail from the waiting state",
			snap: func() *Snapshot {
				p := newPod("shop", "cart-5c9-x1", ownedByRS("cart-5c9"), withLabels("pod-template-hash", "5c9"), crashLooping(6), withHook(execHook, nil))
				p.Status.ContainerStatuses[0].State.Waiting = &corev1.ContainerStateWaiting{Reason: "PostStartHookError",
					Message: `Exec lifecycle hook ([/bin/sh -c /opt/app/register.sh]) for Container "app" in Pod "cart-5c9-x1_shop(1)" failed - error: command '/bin/sh -c /opt/app/register.sh' exited with 7: , message: "curl: (7) Failed to connect to registry port 8500"`}
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{
					hookEvent("cart-5c9-x1", "FailedPostStartHook", "PostStartHook failed", at),
					hookEvent("cart-5c9-x1", "Killing", "FailedPostStartHook", at),
				}}
			},
			rule:    "lifecycle-hook",
			summary: []string{"postStart hook of container app in Deployment shop/cart", `exec "/bin/sh -c /opt/app/register.sh"`, "exits non-zero", "kills the container"},
			objects: []string{"deployment/shop/cart"},
			proof:   []string{"Warning FailedPostStartHook", "PostStartHookError"},
		},
		{
			name: "postStart httpGet refused, events only",
			snap: func() *Snapshot {
				h := &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/warmup", Port: intstr.FromInt32(8080)}}
				p := newPod("shop", "web", crashLooping(3), withHook(h, nil))
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{
					hookEvent("web", "FailedPostStartHook", `HTTP lifecycle hook (/warmup) for Container "app" in Pod "web_shop(1)" failed - error: Get "http://10.1.2.3:8080/warmup": dial tcp 10.1.2.3:8080: connect: connection refused`, at),
				}}
			},
			rule:    "lifecycle-hook",
			summary: []string{"pod shop/web", "httpGet http://<pod IP>:8080/warmup", "before its process listens"},
		},
		{
			name: "preStop failure is reported as the missing drain",
			snap: func() *Snapshot {
				p := newPod("shop", "web", withHook(nil, execHook))
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{hookEvent("web", "FailedPreStopHook", "PreStopHook failed", at)}}
			},
			rule:    "lifecycle-hook",
			summary: []string{"preStop hook of container app", "without the drain"},
		},
		{
			name: "a hook that is declared but never failed",
			snap: func() *Snapshot {
				p := newPod("shop", "web", crashLooping(4), withHook(execHook, execHook))
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{hookEvent("web", "Killing", "Container app failed liveness probe, will be restarted", at)}}
			},
		},
	})
}
