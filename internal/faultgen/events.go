package faultgen

import (
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// ev describes one Event: its reporter, how often it was seen and when.
type ev struct {
	typ, reason, message string
	component, host      string // source.component and source.host (kubelet)
	fieldPath            string // involvedObject.fieldPath, e.g. spec.containers{app}
	count                int32
	first, last          time.Duration // before the snapshot
}

// event records an Event about obj (any object built by the world).
func (w *world) event(obj runtime.Object, e ev) *corev1.Event {
	m, apiVersion, kind := objectRef(obj)
	if e.count == 0 {
		e.count = 1
	}
	if e.first < e.last {
		e.first = e.last
	}
	if e.typ == "" {
		e.typ = corev1.EventTypeWarning
	}
	ns := m.Namespace
	if ns == "" {
		ns = "default"
	}
	evt := &corev1.Event{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Event"},
		ObjectMeta: metav1.ObjectMeta{Name: m.Name + "." + w.hex(16), Namespace: ns, UID: w.uid(),
			ResourceVersion: w.resourceVersion(), CreationTimestamp: w.ago(e.first)},
		InvolvedObject: corev1.ObjectReference{APIVersion: apiVersion, Kind: kind, Name: m.Name, Namespace: m.Namespace,
			UID: m.UID, ResourceVersion: m.ResourceVersion, FieldPath: e.fieldPath},
		Reason: e.reason, Message: e.message, Type: e.typ, Count: e.count,
		FirstTimestamp: w.ago(e.first), LastTimestamp: w.ago(e.last),
		Source:              corev1.EventSource{Component: e.component, Host: e.host},
		ReportingController: e.component, ReportingInstance: e.host,
	}
	if kind == "Node" { // the kubelet names its node by name, not UID
		evt.InvolvedObject.UID = types.UID(m.Name)
	}
	w.add(evt)
	return evt
}

// objectRef returns the metadata, apiVersion and kind of a world object.
func objectRef(obj runtime.Object) (metav1.ObjectMeta, string, string) {
	gvk := obj.GetObjectKind().GroupVersionKind()
	acc, ok := obj.(metav1.ObjectMetaAccessor)
	if !ok {
		return metav1.ObjectMeta{}, gvk.GroupVersion().String(), gvk.Kind
	}
	m := acc.GetObjectMeta()
	return metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), UID: m.GetUID(), ResourceVersion: m.GetResourceVersion()},
		gvk.GroupVersion().String(), gvk.Kind
}
