package k8s

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// listPodNames lists the pods of namespace through m with opts.
func listPodNames(t *testing.T, m *Memory, namespace string, opts metav1.ListOptions) []string {
	t.Helper()
	var l corev1.PodList
	if err := m.List(context.Background(), resPods, namespace, opts, &l); err != nil {
		t.Fatalf("list pods in %q with %+v: %v", namespace, opts, err)
	}
	var names []string
	for _, p := range l.Items {
		names = append(names, p.Namespace+"/"+p.Name)
	}
	return names
}

func memoryPods() []runtime.Object {
	return []runtime.Object{
		newPod("shop", "web-1", withLabels("app", "web", "tier", "front")),
		newPod("shop", "web-0", withLabels("app", "web")),
		newPod("shop", "db-0", withLabels("app", "db"), pending()),
		newPod("other", "web-0", withLabels("app", "web"), func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }),
	}
}

func TestMemoryListNamespacesAndOrder(t *testing.T) {
	m := newMemory(t, memoryPods()...)
	if got, want := listPodNames(t, m, "", metav1.ListOptions{}), []string{"other/web-0", "shop/db-0", "shop/web-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("all namespaces = %v, want %v (namespace/name order)", got, want)
	}
	if got, want := listPodNames(t, m, "shop", metav1.ListOptions{}), []string{"shop/db-0", "shop/web-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("namespace shop = %v, want %v", got, want)
	}
	if got := listPodNames(t, m, "nowhere", metav1.ListOptions{}); len(got) != 0 {
		t.Errorf("namespace nowhere = %v, want none", got)
	}
	if got, want := listPodNames(t, m, "", metav1.ListOptions{Limit: 2}), []string{"other/web-0", "shop/db-0"}; !slices.Equal(got, want) {
		t.Errorf("limit 2 = %v, want %v", got, want)
	}
}

func TestMemoryLabelSelector(t *testing.T) {
	m := newMemory(t, memoryPods()...)
	for _, tt := range []struct {
		selector string
		ns       string
		want     []string
	}{
		{"app=web", "", []string{"other/web-0", "shop/web-0", "shop/web-1"}},
		{"app=web", "shop", []string{"shop/web-0", "shop/web-1"}},
		{"app=web,tier=front", "", []string{"shop/web-1"}},
		{"app!=web", "", []string{"shop/db-0"}},
		{"app in (db, cache)", "", []string{"shop/db-0"}},
		{"tier", "", []string{"shop/web-1"}},
		{"app=nothing", "", nil},
	} {
		t.Run(tt.selector+"/"+tt.ns, func(t *testing.T) {
			if got := listPodNames(t, m, tt.ns, metav1.ListOptions{LabelSelector: tt.selector}); !slices.Equal(got, tt.want) {
				t.Errorf("pods = %v, want %v", got, tt.want)
			}
		})
	}
	var l corev1.PodList
	if err := m.List(context.Background(), resPods, "", metav1.ListOptions{LabelSelector: "app in (web"}, &l); !apierrors.IsBadRequest(err) {
		t.Errorf("malformed label selector: err = %v, want BadRequest", err)
	}
}

func TestMemoryFieldSelectors(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	objs := append(memoryPods(),
		newEvent("shop", "e-pod", "Pod", "shop", "web-0", "BackOff", t0),
		newEvent("default", "e-node-1", "Node", "", "node-1", "NodeNotReady", t0),
		newEvent("kube-system", "e-node-2", "Node", "", "node-2", "NodeNotReady", t0),
	)
	m := newMemory(t, objs...)

	t.Run("pods spec.nodeName", func(t *testing.T) {
		if got, want := listPodNames(t, m, "", metav1.ListOptions{FieldSelector: "spec.nodeName=node-2"}), []string{"other/web-0"}; !slices.Equal(got, want) {
			t.Errorf("pods on node-2 = %v, want %v", got, want)
		}
		// db-0 is pending: not scheduled, nodeName empty.
		if got, want := listPodNames(t, m, "shop", metav1.ListOptions{FieldSelector: "spec.nodeName=node-1"}), []string{"shop/web-0", "shop/web-1"}; !slices.Equal(got, want) {
			t.Errorf("pods on node-1 in shop = %v, want %v", got, want)
		}
		if got, want := listPodNames(t, m, "", metav1.ListOptions{FieldSelector: "spec.nodeName="}), []string{"shop/db-0"}; !slices.Equal(got, want) {
			t.Errorf("unscheduled pods = %v, want %v", got, want)
		}
	})
	t.Run("pods with labels and fields", func(t *testing.T) {
		opts := metav1.ListOptions{LabelSelector: "app=web", FieldSelector: "spec.nodeName=node-1,metadata.name!=web-1"}
		if got, want := listPodNames(t, m, "", opts), []string{"shop/web-0"}; !slices.Equal(got, want) {
			t.Errorf("pods = %v, want %v", got, want)
		}
	})
	t.Run("metadata.name everywhere", func(t *testing.T) {
		if got, want := listPodNames(t, m, "", metav1.ListOptions{FieldSelector: "metadata.name=web-0"}), []string{"other/web-0", "shop/web-0"}; !slices.Equal(got, want) {
			t.Errorf("pods named web-0 = %v, want %v", got, want)
		}
	})
	t.Run("events involvedObject.kind", func(t *testing.T) {
		var l corev1.EventList
		if err := m.List(context.Background(), resEvents, "", metav1.ListOptions{FieldSelector: "involvedObject.kind=Node"}, &l); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, e := range l.Items {
			got = append(got, e.Name)
		}
		if want := []string{"e-node-1", "e-node-2"}; !slices.Equal(got, want) {
			t.Errorf("node events = %v, want %v", got, want)
		}
		if err := m.List(context.Background(), resEvents, "shop", metav1.ListOptions{FieldSelector: "involvedObject.kind=Node"}, &l); err != nil || len(l.Items) != 0 {
			t.Errorf("node events in shop = %v, %v; want none", l.Items, err)
		}
	})
	t.Run("unsupported field is a bad request", func(t *testing.T) {
		for _, tt := range []struct {
			name     string
			res      string
			selector string
			into     runtime.Object
		}{
			{"unknown pod field", "pods", "spec.priority=1", &corev1.PodList{}},
			{"event field on pods", "pods", "involvedObject.kind=Node", &corev1.PodList{}},
			{"pod field on events", "events", "spec.nodeName=node-1", &corev1.EventList{}},
			{"pod field on services", "services", "status.phase=Running", &corev1.ServiceList{}},
		} {
			res := corev1.SchemeGroupVersion.WithResource(tt.res)
			err := m.List(context.Background(), res, "", metav1.ListOptions{FieldSelector: tt.selector}, tt.into)
			if !apierrors.IsBadRequest(err) {
				t.Errorf("%s: list %s with %q: err = %v, want BadRequest", tt.name, tt.res, tt.selector, err)
			}
		}
		if err := m.List(context.Background(), resPods, "", metav1.ListOptions{FieldSelector: "spec.nodeName"}, &corev1.PodList{}); !apierrors.IsBadRequest(err) {
			t.Errorf("malformed field selector: err = %v, want BadRequest", err)
		}
	})
}

func TestMemoryGet(t *testing.T) {
	m := newMemory(t, append(memoryPods(), newNode("node-1", "10.0.0.1"))...)
	ctx := context.Background()
	var p corev1.Pod
	if err := m.Get(ctx, resPods, "other", "web-0", &p); err != nil {
		t.Fatal(err)
	}
	if p.Namespace != "other" || p.Name != "web-0" || p.Spec.NodeName != "node-2" {
		t.Errorf("got %s/%s on %q, want other/web-0 on node-2", p.Namespace, p.Name, p.Spec.NodeName)
	}
	var n corev1.Node
	if err := m.Get(ctx, resNodes, "", "node-1", &n); err != nil || n.Name != "node-1" {
		t.Errorf("cluster-scoped get: %q, %v", n.Name, err)
	}
	for _, tt := range []struct{ ns, name string }{{"shop", "missing"}, {"nowhere", "web-0"}, {"", "web-0"}} {
		if err := m.Get(ctx, resPods, tt.ns, tt.name, &p); !apierrors.IsNotFound(err) {
			t.Errorf("get pod %s/%s: err = %v, want NotFound", tt.ns, tt.name, err)
		}
	}
	if err := m.Get(ctx, resConfigMaps, "shop", "web-0", &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
		t.Errorf("get of a resource holding nothing: err = %v, want NotFound", err)
	}
	if err := m.Get(ctx, resPods, "shop", "web-0", &corev1.Service{}); err == nil {
		t.Error("get into the wrong type succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := m.Get(cancelled, resPods, "shop", "web-0", &p); err == nil {
		t.Error("get under a cancelled context succeeded")
	}
	if err := m.List(cancelled, resPods, "", metav1.ListOptions{}, &corev1.PodList{}); err == nil {
		t.Error("list under a cancelled context succeeded")
	}
}

func TestMemoryReturnsCopies(t *testing.T) {
	orig := newPod("shop", "web-0", withLabels("app", "web"))
	m := newMemory(t, orig)
	ctx := context.Background()

	// Add keeps a copy: changing the caller's object changes nothing stored.
	orig.Labels["app"] = "changed"
	orig.Spec.Containers[0].Image = "changed"

	var p corev1.Pod
	if err := m.Get(ctx, resPods, "shop", "web-0", &p); err != nil {
		t.Fatal(err)
	}
	if p.Labels["app"] != "web" || p.Spec.Containers[0].Image != "app:1" {
		t.Fatalf("stored pod follows the caller's object: labels %v, image %q", p.Labels, p.Spec.Containers[0].Image)
	}
	p.Labels["app"] = "mutated"
	p.Spec.Containers[0].Image = "mutated"
	p.Status.Phase = corev1.PodFailed

	var l corev1.PodList
	if err := m.List(ctx, resPods, "shop", metav1.ListOptions{}, &l); err != nil {
		t.Fatal(err)
	}
	if len(l.Items) != 1 || l.Items[0].Labels["app"] != "web" || l.Items[0].Spec.Containers[0].Image != "app:1" || l.Items[0].Status.Phase != corev1.PodRunning {
		t.Fatalf("mutating a got object changed the store: %+v", l.Items)
	}
	l.Items[0].Labels["app"] = "mutated"
	l.Items[0].Spec.Containers[0].Image = "mutated"

	var again corev1.Pod
	if err := m.Get(ctx, resPods, "shop", "web-0", &again); err != nil {
		t.Fatal(err)
	}
	if again.Labels["app"] != "web" || again.Spec.Containers[0].Image != "app:1" {
		t.Errorf("mutating a listed object changed the store: labels %v, image %q", again.Labels, again.Spec.Containers[0].Image)
	}
	if got := listPodNames(t, m, "", metav1.ListOptions{LabelSelector: "app=web"}); len(got) != 1 {
		t.Errorf("the selector no longer matches the stored labels: %v", got)
	}
}

func TestMemoryAddReplaces(t *testing.T) {
	m := newMemory(t, memoryPods()...)
	ctx := context.Background()
	if err := m.Add(newPod("shop", "web-0", withLabels("app", "api"), crashLooping(3))); err != nil {
		t.Fatal(err)
	}
	if got, want := listPodNames(t, m, "shop", metav1.ListOptions{}), []string{"shop/db-0", "shop/web-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("pods after replacing web-0 = %v, want %v (no duplicate)", got, want)
	}
	var p corev1.Pod
	if err := m.Get(ctx, resPods, "shop", "web-0", &p); err != nil {
		t.Fatal(err)
	}
	if p.Labels["app"] != "api" || p.Status.ContainerStatuses[0].RestartCount != 3 {
		t.Errorf("get returned the replaced pod: labels %v, statuses %+v", p.Labels, p.Status.ContainerStatuses)
	}
	if got, want := listPodNames(t, m, "", metav1.ListOptions{LabelSelector: "app=web"}), []string{"other/web-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("app=web after replacing = %v, want %v", got, want)
	}
	// The same name in another namespace, or of another resource, is another object.
	if err := m.Add(&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0"}}); err != nil {
		t.Fatal(err)
	}
	if err := m.Get(ctx, resPods, "other", "web-0", &p); err != nil || p.Labels["app"] != "web" {
		t.Errorf("other/web-0 = %v, %v; want it untouched", p.Labels, err)
	}
	if got := listPodNames(t, m, "", metav1.ListOptions{}); len(got) != 4 {
		t.Errorf("pods = %v, want 4", got)
	}
}

func TestMemoryDelete(t *testing.T) {
	m := newMemory(t, memoryPods()...)
	ctx := context.Background()
	m.Delete(resPods, "shop", "web-0")
	if err := m.Get(ctx, resPods, "shop", "web-0", &corev1.Pod{}); !apierrors.IsNotFound(err) {
		t.Errorf("get of a deleted pod: err = %v, want NotFound", err)
	}
	if got, want := listPodNames(t, m, "", metav1.ListOptions{}), []string{"other/web-0", "shop/db-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("pods after delete = %v, want %v", got, want)
	}
	// Deleting what is not there, or another resource's object of that name, is a no-op.
	m.Delete(resPods, "shop", "web-0")
	m.Delete(resPods, "nowhere", "web-1")
	m.Delete(resServices, "shop", "web-1")
	if got, want := listPodNames(t, m, "", metav1.ListOptions{}), []string{"other/web-0", "shop/db-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("pods after no-op deletes = %v, want %v", got, want)
	}
	// A deleted object can be added again.
	if err := m.Add(newPod("shop", "web-0")); err != nil {
		t.Fatal(err)
	}
	if err := m.Get(ctx, resPods, "shop", "web-0", &corev1.Pod{}); err != nil {
		t.Errorf("get of a re-added pod: %v", err)
	}
}

func TestMemoryMetrics(t *testing.T) {
	pm := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-0"}}
	nm := &metricsv1beta1.NodeMetrics{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}}
	m := newMemory(t, newPod("shop", "web-0"), newNode("node-1", "10.0.0.1"), pm, nm)
	ctx := context.Background()
	var pml metricsv1beta1.PodMetricsList
	if err := m.List(ctx, resPodMetrics, "shop", metav1.ListOptions{}, &pml); err != nil || len(pml.Items) != 1 || pml.Items[0].Name != "web-0" {
		t.Errorf("pod metrics = %+v, %v", pml.Items, err)
	}
	var gotNM metricsv1beta1.NodeMetrics
	if err := m.Get(ctx, resNodeMetrics, "", "node-1", &gotNM); err != nil || gotNM.Name != "node-1" {
		t.Errorf("node metrics = %q, %v", gotNM.Name, err)
	}
	// metrics.k8s.io's pods are not core pods.
	if got := listPodNames(t, m, "", metav1.ListOptions{}); !slices.Equal(got, []string{"shop/web-0"}) {
		t.Errorf("core pods = %v", got)
	}
	var n corev1.Node
	if err := m.Get(ctx, resNodes, "", "node-1", &n); err != nil || len(n.Status.Addresses) != 1 {
		t.Errorf("core node = %+v, %v", n.Status, err)
	}
}

func TestNewMemoryRejects(t *testing.T) {
	for _, tt := range []struct {
		name string
		obj  runtime.Object
	}{
		{"a kind K8flex does not read", &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "r"}}},
		{"an object without a name", &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop"}}},
	} {
		if _, err := NewMemory(newPod("shop", "web-0"), tt.obj); err == nil {
			t.Errorf("%s: NewMemory accepted it", tt.name)
		}
	}
}

// TestMemoryConcurrentUse is for the race detector: Memory is safe for
// concurrent use.
func TestMemoryConcurrentUse(t *testing.T) {
	m := newMemory(t, memoryPods()...)
	ctx := context.Background()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprintf("p-%d", i)
			for range 50 {
				if err := m.Add(newPod("shop", name, withLabels("app", "web"))); err != nil {
					t.Error(err)
					return
				}
				var l corev1.PodList
				if err := m.List(ctx, resPods, "shop", metav1.ListOptions{LabelSelector: "app=web"}, &l); err != nil {
					t.Error(err)
					return
				}
				for j := range l.Items {
					l.Items[j].Labels["app"] = "mutated"
				}
				if err := m.Get(ctx, resPods, "shop", "web-0", &corev1.Pod{}); err != nil {
					t.Error(err)
					return
				}
				m.Delete(resPods, "shop", name)
			}
		})
	}
	wg.Wait()
	if got, want := listPodNames(t, m, "", metav1.ListOptions{LabelSelector: "app=web"}), []string{"other/web-0", "shop/web-0", "shop/web-1"}; !slices.Equal(got, want) {
		t.Errorf("pods = %v, want %v", got, want)
	}
}
