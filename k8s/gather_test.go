package k8s

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/k8flex/k8flex/investigate"
)

func TestGatherGaps(t *testing.T) {
	target := investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}
	for _, tt := range []struct {
		name      string
		resource  string
		reactor   k8stesting.ReactionFunc
		collector string
		reason    string
	}{
		{name: "rbac forbidden", resource: "events", collector: "events", reason: "forbidden",
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", nil)
			}},
		{name: "timeout", resource: "configmaps", collector: "refs", reason: "timed out after",
			reactor: func(a k8stesting.Action) (bool, runtime.Object, error) {
				time.Sleep(300 * time.Millisecond) // the fake ignores contexts; the collector's deadline is past when it returns
				return true, nil, context.DeadlineExceeded
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod("shop", "web-0", crashLooping(1), func(p *corev1.Pod) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
			})
			cs := fake.NewClientset(p)
			cs.PrependReactor("*", tt.resource, tt.reactor)
			g := NewGatherer(cs, Options{Logs: mapLogs{"shop/web-0/app": "boom"}, CollectorTimeout: 100 * time.Millisecond})
			snap, err := g.Gather(context.Background(), target, investigate.PodCrash)
			if err != nil {
				t.Fatalf("a failing collector must not fail the investigation: %v", err)
			}
			ev := snap.Evidence()
			found := false
			for _, gp := range ev.Gaps {
				if gp.Collector == tt.collector && strings.Contains(gp.Reason, tt.reason) {
					found = true
				}
			}
			if !found {
				t.Errorf("gaps = %+v, want %s: %s", ev.Gaps, tt.collector, tt.reason)
			}
			if len(ev.Sections) == 0 || ev.Sections[0].Name != "pod/shop/web-0" {
				t.Errorf("the other collectors' evidence is missing: %+v", ev.Sections)
			}
		})
	}
}

func TestGatherWithoutMetricsAPI(t *testing.T) {
	cs := fake.NewClientset(newPod("shop", "web-0"))
	snap, err := NewGatherer(cs, Options{Logs: mapLogs{}}).Gather(context.Background(),
		investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.CPUThrottling)
	if err != nil {
		t.Fatal(err)
	}
	gaps := snap.Evidence().Gaps
	if len(gaps) != 1 || gaps[0].Collector != "metrics" {
		t.Errorf("gaps = %+v, want the metrics API gap", gaps)
	}
}

func TestGatherRejectsUnknownCategory(t *testing.T) {
	_, err := NewGatherer(fake.NewClientset(), Options{}).Gather(context.Background(), investigate.Target{Namespace: "x"}, "pod-sad")
	if err == nil {
		t.Fatal("want an error for an unknown category")
	}
}
