// Package status holds setters that call the event function they get.
package status

import (
	v1 "example.com/kube/api"
	"example.com/kube/events"
)

// ReadyCondition returns a setter that records NodeReady.
func ReadyCondition(recordEventFunc func(eventType, event string)) func() {
	return func() { recordEventFunc(v1.EventTypeNormal, events.NodeReady) }
}
