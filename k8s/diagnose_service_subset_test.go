package k8s

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestDiagnoseServiceSubsets(t *testing.T) {
	sel := func(kv ...string) corev1.Service {
		m := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return svc("pricing", "quote-api", m)
	}
	canary := newPod("pricing", "quote-api-canary-1", withLabels("app", "quote-api", "track", "canary"))
	stable := func(name string, opts ...podOpt) *corev1.Pod {
		return newPod("pricing", name, append([]podOpt{withLabels("app", "quote-api", "track", "stable")}, opts...)...)
	}
	runRuleCases(t, []string{"service-subset"}, []ruleCase{
		{name: "a track label only the canary carries", rule: "service-subset",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*canary}, RelatedPods: []corev1.Pod{*stable("quote-api-1"), *stable("quote-api-2")},
					Services: []corev1.Service{sel("app", "quote-api", "track", "canary")}}
			},
			summary: []string{"selects only 1 pod (quote-api-canary-1)", "track=canary", "2 other Running pods", "track=stable"}},
		{name: "the label missing on the rest", rule: "service-subset",
			snap: func() *Snapshot {
				plain := newPod("pricing", "quote-api-9", withLabels("app", "quote-api"))
				return &Snapshot{Pods: []corev1.Pod{*canary}, RelatedPods: []corev1.Pod{*plain},
					Services: []corev1.Service{sel("app", "quote-api", "track", "canary")}}
			},
			summary: []string{"track=(unset)"}},
		{name: "a single straggler among many selected is no split", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*stable("quote-api-1"), *stable("quote-api-2")}, RelatedPods: []corev1.Pod{*canary},
					Services: []corev1.Service{sel("app", "quote-api", "track", "stable")}}
			}},
		{name: "a one-label selector cannot split", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*canary}, RelatedPods: []corev1.Pod{*stable("quote-api-1")},
					Services: []corev1.Service{sel("app", "quote-api")}}
			}},
	})
}

// TestGatherKeepsSelectorSplits checks that the pods a Service's selector
// misses by one label reach the snapshot, so the audit above can see them.
func TestGatherKeepsSelectorSplits(t *testing.T) {
	s := svc("pricing", "quote-api", map[string]string{"app": "quote-api", "track": "canary"})
	objs := []runtime.Object{&s,
		newPod("pricing", "quote-api-canary-1", withLabels("app", "quote-api", "track", "canary")),
		newPod("pricing", "quote-api-1", withLabels("app", "quote-api", "track", "stable")),
		newPod("pricing", "quote-api-2", withLabels("app", "quote-api", "track", "stable")),
		newPod("pricing", "unrelated", withLabels("app", "ledger"))}
	g := NewGatherer(newMemory(t, objs...), Options{Logs: mapLogs{}})
	snap, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Namespace: "pricing", Name: "quote-api-canary-1", Pod: "quote-api-canary-1"}, investigate.CPUThrottling)
	if err != nil {
		t.Fatal(err)
	}
	fs := snap.Diagnose()
	found := false
	for _, f := range fs {
		found = found || (f.Rule == "service-subset" && strings.Contains(f.Summary, "quote-api-1") && !strings.Contains(f.Summary, "unrelated"))
	}
	if !found {
		t.Errorf("no service-subset finding naming the stable pods: %+v", fs)
	}
}
