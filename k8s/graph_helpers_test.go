package k8s

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// controlledBy returns a pod option setting the pod's controller.
func controlledBy(kind, name string) podOpt {
	return func(p *corev1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{Kind: kind, Name: name, UID: types.UID("uid-" + name), Controller: &t}}
	}
}

// section returns the body of the named evidence section, failing t when
// the snapshot renders none.
func section(t *testing.T, s *Snapshot, name string) string {
	t.Helper()
	for _, sec := range s.Evidence().Sections {
		if sec.Name == name {
			return sec.Body
		}
	}
	t.Fatalf("no section %q in the evidence", name)
	return ""
}

// containsAll reports the wanted strings body lacks.
func containsAll(t *testing.T, what, body string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(body, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, body)
		}
	}
}

// involvedEvent reports whether the snapshot kept an event of the object
// among the events of the objects involved.
func involvedEvent(s *Snapshot, kind, name string) bool {
	for _, e := range s.Events[:s.InvolvedEvents] {
		if e.InvolvedObject.Kind == kind && e.InvolvedObject.Name == name {
			return true
		}
	}
	return false
}

// newReplicaSet returns a ReplicaSet controlled by the Deployment.
func newReplicaSet(ns, name, deployment string) *appsv1.ReplicaSet {
	t := true
	return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, UID: types.UID("uid-" + name),
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "Deployment", Name: deployment, UID: types.UID("uid-" + deployment), Controller: &t}}}}
}
