// Package api stands for k8s.io/api: event types and typed reasons.
package api

const (
	EventTypeNormal  = "Normal"
	EventTypeWarning = "Warning"
)

type PodConditionType string

const PodReasonUnschedulable = "Unschedulable"

type ContainerStateWaiting struct{ Reason, Message string }
type ContainerStateTerminated struct{ Reason string }
type PodStatus struct{ Reason string }
