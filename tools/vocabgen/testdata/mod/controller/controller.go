// Package controller emits through the events API (tools/events).
package controller

import v1 "example.com/kube/api"

type recorder interface {
	Eventf(regarding, related any, eventtype, reason, action, note string, args ...any)
}

func schedule(r recorder) {
	r.Eventf(nil, nil, v1.EventTypeWarning, "FailedScheduling", "Scheduling", "0/3 nodes are available")
}
