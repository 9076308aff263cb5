package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestDiagnoseWarningEvents(t *testing.T) {
	ev := func(kind, ns, name, reason, msg string, count int32) corev1.Event {
		return corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns, Name: name}, Type: corev1.EventTypeWarning,
			Reason: reason, Message: msg, Count: count, Source: corev1.EventSource{Component: "kubelet"}}
	}
	pending := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	}
	// Reasons no specific rule explains.
	hook := ev("Pod", "media", "enc-1", "FailedPostStartHook", `PostStartHook failed: exec /opt/warmup.sh: context deadline exceeded`, 14)
	kill := ev("Pod", "media", "enc-1", "FailedKillPod", `error killing pod: failed to "KillPodSandbox" for "enc-1" with KillPodSandboxError: "rpc error: code = DeadlineExceeded"`, 3)
	for _, tt := range []struct {
		name   string
		snap   *Snapshot
		want   []string // summaries, in order
		absent string
	}{
		{name: "the kubelet's message becomes the finding, the most repeated first",
			snap: &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", pending)}, Events: []corev1.Event{kill, hook}},
			want: []string{"Pod media/enc-1 reports FailedPostStartHook (14 times): PostStartHook failed", "reports FailedKillPod (3 times): error killing pod"}},
		{name: "another pod's warning is not ours",
			snap: &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", pending)}, RelatedPods: []corev1.Pod{*newPod("media", "other-1")},
				Events: []corev1.Event{ev("Pod", "media", "other-1", "FailedAttachVolume", "Multi-Attach error", 2)}},
			absent: "Multi-Attach"},
		{name: "routine back-off is left to the crash-loop rule",
			snap:   &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", crashLooping(3))}, Events: []corev1.Event{ev("Pod", "media", "enc-1", "BackOff", "Back-off restarting failed container app", 30)}},
			absent: "reports BackOff"},
		{name: "a warning a rule already cites is not repeated",
			snap: &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", func(p *corev1.Pod) {
				p.Status.Phase = corev1.PodPending
				p.Spec.Volumes = []corev1.Volume{{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "enc-cfg"}}}}}
			})}, Events: []corev1.Event{ev("Pod", "media", "enc-1", "FailedMount", `MountVolume.SetUp failed for volume "cfg" : configmap "enc-cfg" not found`, 9)}},
			absent: "reports FailedMount"},
		{name: "a long message a rule cites is not repeated either",
			snap: &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", func(p *corev1.Pod) {
				p.Spec.Containers[0].Image = "registry.example.org/media/enc:9"
				p.Status.Phase = corev1.PodPending
				p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull"}}}}
			})}, Events: []corev1.Event{ev("Pod", "media", "enc-1", "Failed", `Failed to pull image "registry.example.org/media/enc:9": failed to pull and unpack image "registry.example.org/media/enc:9": failed to resolve reference "registry.example.org/media/enc:9": registry.example.org/media/enc:9: not found`, 4)}},
			absent: "reports Failed"},
		{name: "the events of the pod's owner count too",
			snap: &Snapshot{Pods: []corev1.Pod{*newPod("media", "enc-1", ownedByRS("enc-5d4"), withLabels("pod-template-hash", "5d4"))},
				Events: []corev1.Event{ev("ReplicaSet", "media", "enc-5d4", "FailedDelete", `Error deleting: pods "enc-5d4-x2k9p" is forbidden: unable to delete pod in a terminating namespace`, 7)}},
			want: []string{"ReplicaSet media/enc-5d4 reports FailedDelete (7 times): Error deleting"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, f := range tt.snap.Diagnose() {
				if f.Rule == "warning-event" {
					got = append(got, f.Summary)
				}
			}
			if len(got) < len(tt.want) {
				t.Fatalf("got %q, want %d findings", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d = %q, want %q", i, got[i], w)
				}
			}
			if tt.absent != "" && strings.Contains(strings.Join(got, "\n"), tt.absent) {
				t.Errorf("got %q, must not contain %q", got, tt.absent)
			}
		})
	}
}
