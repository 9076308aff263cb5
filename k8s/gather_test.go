package k8s

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/k8flex/k8flex/investigate"
)

func TestGatherGaps(t *testing.T) {
	target := investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}
	for _, tt := range []struct {
		name      string
		resource  string
		fail      func(ctx context.Context) error
		collector string
		reason    string
	}{
		{name: "rbac forbidden", resource: "events", collector: "events", reason: "forbidden",
			fail: func(context.Context) error {
				return apierrors.NewForbidden(schema.GroupResource{Resource: "events"}, "", nil)
			}},
		{name: "timeout", resource: "configmaps", collector: "refs", reason: "timed out after",
			fail: func(context.Context) error {
				time.Sleep(300 * time.Millisecond) // a reader ignoring its context; the collector's deadline is past when it returns
				return context.DeadlineExceeded
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod("shop", "web-0", crashLooping(1), func(p *corev1.Pod) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "cfg"}}}}
			})
			api := newRecordingReader(t, p)
			api.failOn("*", tt.resource, tt.fail)
			g := NewGatherer(api, Options{Logs: mapLogs{"shop/web-0/app": "boom"}, CollectorTimeout: 100 * time.Millisecond})
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
	api := newMemory(t, newPod("shop", "web-0"))
	snap, err := NewGatherer(api, Options{Logs: mapLogs{}}).Gather(context.Background(),
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
	_, err := NewGatherer(newMemory(t), Options{}).Gather(context.Background(), investigate.Target{Namespace: "x"}, "pod-sad")
	if err == nil {
		t.Fatal("want an error for an unknown category")
	}
}
