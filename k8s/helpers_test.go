package k8s

import (
	"context"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"
	metricsfake "k8s.io/metrics/pkg/client/clientset/versioned/fake"

	"github.com/k8flex/k8flex/investigate"
)

// mapLogs is a LogSource over a map keyed "ns/pod/container[/previous]".
type mapLogs map[string]string

func (m mapLogs) Logs(_ context.Context, ns, pod, container string, previous bool, _ int) (string, error) {
	k := ns + "/" + pod + "/" + container
	if previous {
		k += "/previous"
	}
	return m[k], nil
}

type podOpt func(*corev1.Pod)

// newPod returns a running, ready pod with one container "app".
func newPod(ns, name string, opts ...podOpt) *corev1.Pod {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{}, UID: types.UID(ns + "-" + name)},
		Spec:       corev1.PodSpec{NodeName: "node-1", Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
		Status: corev1.PodStatus{
			Phase:             corev1.PodRunning,
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "app", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		},
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func withLabels(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Labels[kv[i]] = kv[i+1]
		}
	}
}

func ownedByRS(rs string) podOpt {
	return func(p *corev1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "ReplicaSet", Name: rs, UID: types.UID("uid-" + rs), Controller: &t}}
	}
}

func crashLooping(restarts int32) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{
			Name: "app", RestartCount: restarts,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}},
		}}
	}
}

func pending() podOpt {
	return func(p *corev1.Pod) {
		p.Spec.NodeName = ""
		p.Status = corev1.PodStatus{Phase: corev1.PodPending}
	}
}

func newNode(name, ip string) *corev1.Node {
	return &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{
			Addresses:  []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}},
			Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
		},
	}
}

func newDeployment(ns, name string, selector map[string]string) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: selector}},
	}
}

func newEvent(ns, name, kind, objNS, objName, reason string, at time.Time) *corev1.Event {
	return &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Namespace: ns, Name: name},
		InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: objNS, Name: objName},
		Reason:         reason, Message: reason + " happened", Type: "Warning", Count: 1,
		LastTimestamp: metav1.NewTime(at),
	}
}

// gatherWith runs a Gatherer over a fake clientset holding objs.
func gatherWith(t *testing.T, objs []runtime.Object, logs mapLogs, target investigate.Target, c investigate.Category) *Snapshot {
	t.Helper()
	cs := fake.NewClientset(objs...)
	g := NewGatherer(cs, Options{Logs: logs, Metrics: metricsfake.NewSimpleClientset()})
	s, err := g.gather(context.Background(), target, c)
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	return s
}

func podNames(pods []corev1.Pod) []string {
	out := make([]string, len(pods))
	for i, p := range pods {
		out[i] = p.Name
	}
	return out
}

// gather returns the typed snapshot of a gather (for a gone target, the
// snapshot as resolve left it, with TargetGone set), for tests that
// inspect the typed fields.
func (g *Gatherer) gather(ctx context.Context, t investigate.Target, c investigate.Category) (*Snapshot, error) {
	r, err := g.gatherRun(ctx, t, c)
	if err != nil {
		return nil, err
	}
	r.snap.APIRequests = int(r.requests.Load())
	return r.snap, nil
}
