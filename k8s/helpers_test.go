package k8s

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

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

// newMemory returns a Memory holding objs, failing t when one cannot be held.
func newMemory(t testing.TB, objs ...runtime.Object) *Memory {
	t.Helper()
	m, err := NewMemory(objs...)
	if err != nil {
		t.Fatalf("NewMemory: %v", err)
	}
	return m
}

// gatherWith runs a Gatherer over a Memory holding objs (and an empty
// metrics API).
func gatherWith(t *testing.T, objs []runtime.Object, logs mapLogs, target investigate.Target, c investigate.Category) *Snapshot {
	t.Helper()
	g := NewGatherer(newMemory(t, objs...), Options{Logs: logs, Metrics: newMemory(t)})
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

// read is one request a recordingReader served: verb "get" or "list".
type read struct {
	verb      string
	resource  schema.GroupVersionResource
	namespace string
	name      string // "" for a list
}

// failure makes the reads of one verb and resource fail.
type failure struct {
	verb, resource string // "*" matches any
	fn             func(ctx context.Context) error
}

// recordingReader is a Reader over a Memory that counts and records every
// read (as an API server would serve it) and fails the reads chosen with
// failOn.
type recordingReader struct {
	mem *Memory
	// ignoreFieldSelectors makes List ignore field selectors, as
	// client-go's fake clientset does, to check that what the collectors
	// need filtered is filtered in code too.
	ignoreFieldSelectors bool

	n     atomic.Int64
	mu    sync.Mutex
	reads []read
	fails []failure
}

var _ Reader = (*recordingReader)(nil)

// newRecordingReader returns a recordingReader over a Memory holding objs.
func newRecordingReader(t testing.TB, objs ...runtime.Object) *recordingReader {
	t.Helper()
	return &recordingReader{mem: newMemory(t, objs...)}
}

// failOn makes the reads of verb ("get", "list" or "*") on resource (its
// plural name, e.g. "events", or "*") fail with what fn returns.
func (rr *recordingReader) failOn(verb, resource string, fn func(ctx context.Context) error) {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	rr.fails = append(rr.fails, failure{verb: verb, resource: resource, fn: fn})
}

// served returns how many reads were made.
func (rr *recordingReader) served() int64 { return rr.n.Load() }

// recorded returns the reads made so far, in order.
func (rr *recordingReader) recorded() []read {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	return append([]read(nil), rr.reads...)
}

// record records one read and returns the failure chosen for it, if any.
func (rr *recordingReader) record(ctx context.Context, q read) error {
	rr.n.Add(1)
	rr.mu.Lock()
	rr.reads = append(rr.reads, q)
	var fn func(context.Context) error
	for _, f := range rr.fails {
		if (f.verb == "*" || f.verb == q.verb) && (f.resource == "*" || f.resource == q.resource.Resource) {
			fn = f.fn
			break
		}
	}
	rr.mu.Unlock()
	if fn != nil {
		return fn(ctx)
	}
	return nil
}

func (rr *recordingReader) Get(ctx context.Context, r schema.GroupVersionResource, namespace, name string, into runtime.Object) error {
	if err := rr.record(ctx, read{verb: "get", resource: r, namespace: namespace, name: name}); err != nil {
		return err
	}
	return rr.mem.Get(ctx, r, namespace, name, into)
}

func (rr *recordingReader) List(ctx context.Context, r schema.GroupVersionResource, namespace string, opts metav1.ListOptions, into runtime.Object) error {
	if err := rr.record(ctx, read{verb: "list", resource: r, namespace: namespace}); err != nil {
		return err
	}
	if rr.ignoreFieldSelectors {
		opts.FieldSelector = ""
	}
	return rr.mem.List(ctx, r, namespace, opts, into)
}
