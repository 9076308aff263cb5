package kubelet

import (
	"errors"
	"fmt"

	"golang.org/x/text/cases"

	v1 "example.com/kube/api"
	"example.com/kube/events"
	"example.com/kube/kubelet/status"
)

type recorder interface {
	Event(obj any, eventtype, reason, message string)
	Eventf(obj any, eventtype, reason, messageFmt string, args ...any)
}

type Kubelet struct{ recorder recorder }

// ErrStart is a start failure: it becomes a waiting reason.
var ErrStart = errors.New("StartFailure")

// ErrKill is only the error of another action's sync result.
var ErrKill = errors.New("KillFailure")

// errMessage is not a reason word.
var errMessage = errors.New("no matching container")

func (kl *Kubelet) pull() error {
	kl.recorder.Eventf(nil, v1.EventTypeNormal, events.Pulling, "Pulling image %q", "x")
	kl.recorder.Event(nil, v1.EventTypeWarning, "Literal", "a literal reason")
	return ErrStart
}

// recordContainerEvent is a wrapper: each caller pairs its own type and reason.
func (kl *Kubelet) recordContainerEvent(eventType, reason, message string) {
	kl.recorder.Event(nil, eventType, reason, message)
}

func (kl *Kubelet) probe(ok bool) {
	kl.recordContainerEvent(v1.EventTypeWarning, events.Unhealthy, "probe failed")
	if !ok {
		kl.recordContainerEvent(v1.EventTypeNormal, "Recovered", "probe passed")
	}
}

// local assignments, shadowing, and a formatted reason.
func (kl *Kubelet) sync(n int, verb string) {
	reason := "Synced"
	if n > 1 {
		reason = "SyncedMany"
	}
	{
		reason := "Shadowed" // a different variable: not an event reason
		_ = reason
	}
	kl.recorder.Event(nil, v1.EventTypeNormal, reason, "")
	kl.recorder.Event(nil, v1.EventTypeWarning, fmt.Sprintf("Failed%s", cases.Title(nil).String(verb)), "")
}

func (kl *Kubelet) syncAll() {
	kl.sync(1, "create")
	kl.sync(2, "delete")
}

// recordNodeStatusEvent is passed as a value to a status setter.
func (kl *Kubelet) recordNodeStatusEvent(eventType, event string) {
	kl.recorder.Eventf(nil, eventType, event, "Node status is now: %s", event)
}

func (kl *Kubelet) setters() []func() {
	return []func(){status.ReadyCondition(kl.recordNodeStatusEvent)}
}

type syncResult struct{}

func NewSyncResult(action string) *syncResult    { return &syncResult{} }
func (r *syncResult) Fail(err error, msg string) {}

const KillContainer = "KillContainer"

func (kl *Kubelet) kill() {
	killResult := NewSyncResult(KillContainer)
	killResult.Fail(ErrKill, "kill failed")
	_ = errMessage
}

// builtEvent carries its reason in a field: the resolver cannot follow it
// from the emitter, only a ReasonSet collects it where it is made.
type builtEvent struct{ Type, Reason string }

func build() builtEvent { return builtEvent{Type: v1.EventTypeNormal, Reason: "Built"} }

func (kl *Kubelet) dynamic() {
	ev := build()
	kl.recorder.Event(nil, v1.EventTypeWarning, ev.Reason, "")
}

func (kl *Kubelet) states() (v1.ContainerStateWaiting, v1.ContainerStateTerminated, v1.PodStatus) {
	return v1.ContainerStateWaiting{Reason: "ContainerCreating"},
		v1.ContainerStateTerminated{Reason: "Completed"},
		v1.PodStatus{Reason: v1.PodReasonUnschedulable}
}

// evict sets the pod's status reason; copying another reason is skipped.
func (kl *Kubelet) evict(status *v1.PodStatus, old v1.PodStatus) {
	status.Reason = "Evicted"
	status.Reason = old.Reason
}
