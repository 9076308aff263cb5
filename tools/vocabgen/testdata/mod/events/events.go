// Package events declares reasons as constants, as pkg/kubelet/events does.
package events

const (
	Pulling   = "Pulling"
	BackOff   = "BackOff"
	Unhealthy = "Unhealthy"
	NodeReady = "NodeReady"
)
