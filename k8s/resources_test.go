package k8s

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectResources(t *testing.T) {
	p := newPod("media", "resizer-0", func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}
	})
	lr := &corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "defaults"}}
	pm := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "resizer-0"},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("495m")}}}}
	g := NewGatherer(newMemory(t, p, lr), Options{Logs: mapLogs{}, Metrics: newMemory(t, pm)})
	snap, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Name: "resizer-0", Namespace: "media", Pod: "resizer-0"}, investigate.CPUThrottling)
	if err != nil {
		t.Fatal(err)
	}
	s := snap.(*Snapshot)
	if len(s.PodMetrics) != 1 || len(s.LimitRanges) != 1 {
		t.Fatalf("pod metrics %d, limit ranges %d; want 1 and 1", len(s.PodMetrics), len(s.LimitRanges))
	}
	for _, sec := range s.Evidence().Sections {
		if sec.Name == "resources/usage" {
			if !strings.Contains(sec.Body, "cpu usage 495m / limit 500m (99%)") {
				t.Errorf("usage section: %s", sec.Body)
			}
			return
		}
	}
	t.Error("no resources/usage section")
}

// A slow or timing-out Service is most often one whose pods sit at their
// CPU limit: a service category reads the pods' usage too, and the
// throttling outranks the symptoms it explains.
func TestServiceCategoryReadsUsage(t *testing.T) {
	for _, cat := range []investigate.Category{investigate.ServiceDown, investigate.EndpointMissing} {
		t.Run(string(cat), func(t *testing.T) {
			var objs, usage []runtime.Object
			for _, name := range []string{"tiles-0", "tiles-1"} {
				objs = append(objs, newPod("geo", name, withLabels("app", "tiles"), func(p *corev1.Pod) {
					p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}
				}))
				usage = append(usage, &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "geo", Name: name},
					Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("970m")}}}})
			}
			objs = append(objs, &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "geo", Name: "tiles"},
				Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "tiles"}, Ports: []corev1.ServicePort{{Name: "http", Port: 80}}}})
			g := NewGatherer(newMemory(t, objs...), Options{Logs: mapLogs{}, Metrics: newMemory(t, usage...)})
			snap, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindService, Name: "tiles", Namespace: "geo", Service: "tiles"}, cat)
			if err != nil {
				t.Fatal(err)
			}
			if n := len(snap.(*Snapshot).PodMetrics); n != 2 {
				t.Fatalf("%d PodMetrics read for a %s investigation; want the 2 pods'", n, cat)
			}
			fs := snap.Diagnose()
			if len(fs) == 0 || fs[0].Category != investigate.CPUThrottling {
				t.Fatalf("top finding %+v; want CPU throttling of the Service's pods", fs)
			}
		})
	}
}
