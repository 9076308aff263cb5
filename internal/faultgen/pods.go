package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// status returns the pod's status of the named container (init containers included).
func status(p *corev1.Pod, container string) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == container {
			return &p.Status.ContainerStatuses[i]
		}
	}
	for i := range p.Status.InitContainerStatuses {
		if p.Status.InitContainerStatuses[i].Name == container {
			return &p.Status.InitContainerStatuses[i]
		}
	}
	return nil
}

func mainContainer(p *corev1.Pod) string { return p.Spec.Containers[0].Name }

// setReady sets the pod's Ready and ContainersReady conditions.
func (w *world) setReady(p *corev1.Pod, ready bool, since time.Duration, unready ...string) {
	for i := range p.Status.Conditions {
		c := &p.Status.Conditions[i]
		if c.Type != corev1.PodReady && c.Type != corev1.ContainersReady {
			continue
		}
		if ready {
			c.Status, c.Reason, c.Message = corev1.ConditionTrue, "", ""
		} else {
			c.Status, c.Reason = corev1.ConditionFalse, "ContainersNotReady"
			c.Message = fmt.Sprintf("containers with unready status: %v", unready)
		}
		c.LastTransitionTime = w.ago(since)
	}
	for i := range p.Status.ContainerStatuses {
		for _, u := range unready {
			if p.Status.ContainerStatuses[i].Name == u {
				p.Status.ContainerStatuses[i].Ready = false
			}
		}
	}
}

// restart describes the last terminated instance of a container.
type restart struct {
	exitCode int32
	reason   string // Error, OOMKilled, StartError, Completed, ContainerCannotRun
	message  string
	ran      time.Duration // how long the last instance ran
	count    int32         // restart count
	since    time.Duration // how long the pod has been crash-looping
}

// crashLoop puts the container in CrashLoopBackOff after r.
func (w *world) crashLoop(p *corev1.Pod, container string, r restart) {
	cs := status(p, container)
	finished := w.between(10*time.Second, 4*time.Minute)
	cs.LastTerminationState = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: r.exitCode, Reason: r.reason, Message: r.message,
		StartedAt: w.ago(finished + r.ran), FinishedAt: w.ago(finished), ContainerID: "containerd://" + w.hex(64)}}
	if r.reason == "StartError" || r.reason == "ContainerCannotRun" {
		cs.LastTerminationState.Terminated.StartedAt = metav1.NewTime(time.Unix(0, 0).UTC())
	}
	cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff",
		Message: fmt.Sprintf("back-off 5m0s restarting failed container=%s pod=%s_%s(%s)", container, p.Name, p.Namespace, p.UID)}}
	cs.RestartCount, cs.Ready, cs.Started = r.count, false, ptr(false)
	cs.ContainerID = cs.LastTerminationState.Terminated.ContainerID
	w.setReady(p, false, finished+r.ran, container)
	node := p.Spec.NodeName
	fp := fmt.Sprintf("spec.containers{%s}", container)
	if isInit(p, container) {
		fp = fmt.Sprintf("spec.initContainers{%s}", container)
	}
	w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Pulled", component: "kubelet", host: node, fieldPath: fp, count: r.count + 1, first: r.since, last: finished + r.ran,
		message: fmt.Sprintf("Container image %q already present on machine", imageOf(p, container))})
	w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Created", component: "kubelet", host: node, fieldPath: fp, count: r.count + 1, first: r.since, last: finished + r.ran,
		message: "Created container: " + container})
	if r.reason != "StartError" && r.reason != "ContainerCannotRun" {
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Started", component: "kubelet", host: node, fieldPath: fp, count: r.count + 1, first: r.since, last: finished + r.ran,
			message: "Started container " + container})
	} else {
		w.event(p, ev{reason: "Failed", component: "kubelet", host: node, fieldPath: fp, count: r.count + 1, first: r.since, last: finished,
			message: "Error: " + r.message})
	}
	w.event(p, ev{reason: "BackOff", component: "kubelet", host: node, fieldPath: fp, count: 4 * r.count, first: r.since - 30*time.Second, last: w.between(2*time.Second, 40*time.Second),
		message: fmt.Sprintf("Back-off restarting failed container %s in pod %s_%s(%s)", container, p.Name, p.Namespace, p.UID)})
}

func isInit(p *corev1.Pod, container string) bool {
	for _, c := range p.Spec.InitContainers {
		if c.Name == container {
			return true
		}
	}
	return false
}

func imageOf(p *corev1.Pod, container string) string {
	for _, c := range append(append([]corev1.Container{}, p.Spec.InitContainers...), p.Spec.Containers...) {
		if c.Name == container {
			return c.Image
		}
	}
	return ""
}

// waiting leaves the container Waiting (never started) with reason and message.
func (w *world) waiting(p *corev1.Pod, container, reason, message string, since time.Duration) {
	cs := status(p, container)
	cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: message}}
	cs.Ready, cs.Started, cs.ContainerID, cs.RestartCount = false, ptr(false), "", 0
	cs.LastTerminationState = corev1.ContainerState{}
	if reason == "ErrImagePull" || reason == "ImagePullBackOff" || reason == "InvalidImageName" {
		cs.ImageID = ""
	}
	w.setReady(p, false, since, container)
	// A pod that never started any container was created when the fault began.
	p.CreationTimestamp = w.ago(since + 2*time.Second)
	p.Status.StartTime = ptr(w.ago(since))
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].LastTransitionTime.Before(&p.CreationTimestamp) {
			p.Status.Conditions[i].LastTransitionTime = w.ago(since)
		}
	}
}

// unschedulable turns the pod into one the scheduler cannot place, with
// the scheduler's FailedScheduling event.
func (w *world) unschedulable(p *corev1.Pod, message string, since time.Duration) {
	p.Spec.NodeName = ""
	p.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: p.Status.QOSClass, Conditions: []corev1.PodCondition{{
		Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: message, LastTransitionTime: w.ago(since)}}}
	p.CreationTimestamp = w.ago(since + time.Second)
	w.event(p, ev{reason: "FailedScheduling", component: "default-scheduler", message: message, count: int32(3 + w.r.Intn(20)), first: since, last: w.between(10*time.Second, 3*time.Minute)})
}

// notReady leaves the pod Running with the container unready since.
func (w *world) notReady(p *corev1.Pod, container string, since time.Duration) {
	w.setReady(p, false, since, container)
}

// evicted turns the pod into one the kubelet evicted with message.
func (w *world) evicted(p *corev1.Pod, message string, ago time.Duration) {
	p.Status.Phase, p.Status.Reason, p.Status.Message = corev1.PodFailed, "Evicted", message
	for i := range p.Status.ContainerStatuses {
		cs := &p.Status.ContainerStatuses[i]
		started := cs.State.Running
		cs.State = corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "Error", FinishedAt: w.ago(ago), ContainerID: cs.ContainerID}}
		if started != nil {
			cs.State.Terminated.StartedAt = started.StartedAt
		}
		cs.Ready, cs.Started = false, ptr(false)
	}
	w.setReady(p, false, ago, mainContainer(p))
	p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.DisruptionTarget, Status: corev1.ConditionTrue,
		Reason: "TerminationByKubelet", Message: message, LastTransitionTime: w.ago(ago)})
	w.event(p, ev{reason: "Evicted", component: "kubelet", host: p.Spec.NodeName, message: message, last: ago})
	w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Killing", component: "kubelet", host: p.Spec.NodeName, fieldPath: fmt.Sprintf("spec.containers{%s}", mainContainer(p)),
		message: "Stopping container " + mainContainer(p), last: ago})
}

// running resets the container to Running with restarts and started since.
func (w *world) running(p *corev1.Pod, container string, restarts int32, since time.Duration) {
	cs := status(p, container)
	cs.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: w.ago(since)}}
	cs.RestartCount = restarts
}
