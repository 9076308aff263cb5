package k8s

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestUnresolvedHost(t *testing.T) {
	for line, want := range map[string]string{
		`dial tcp: lookup orders-db.shop.svc.cluster.local on 10.96.0.10:53: no such host`: "orders-db.shop.svc.cluster.local",
		`Error: getaddrinfo ENOTFOUND ledger-api.payments.svc.cluster.local`:               "ledger-api.payments.svc.cluster.local",
		`Failed to resolve 'asset-catalog' ([Errno -2] Name or service not known)`:         "asset-catalog",
		`curl: (6) Could not resolve host: reports.internal.example.com`:                   "reports.internal.example.com",
		`java.net.UnknownHostException: inventory: Name or service not known`:              "inventory",
		`** server can't find billing.finance: NXDOMAIN`:                                   "billing.finance",
		`dial tcp: lookup 10.0.0.12: no such host`:                                         "",
		`connection refused`: "",
	} {
		if got := unresolvedHost(line); got != want {
			t.Errorf("unresolvedHost(%q) = %q, want %q", line, got, want)
		}
	}
}

// TestFollowUnresolvedNames gathers and diagnoses pods that fail to resolve
// a Service name: a short name of a Service that lives in another
// namespace, and a misspelled name configured in a ConfigMap.
func TestFollowUnresolvedNames(t *testing.T) {
	service := func(ns, name string) *corev1.Service {
		s := svc(ns, name, map[string]string{"app": name})
		return &s
	}
	for _, tt := range []struct {
		name    string
		objs    func() []runtime.Object
		log     string
		summary []string
	}{
		{name: "short name of a Service in another namespace",
			log: "ERROR sync failed: Failed to resolve 'asset-catalog' ([Errno -2] Name or service not known)",
			objs: func() []runtime.Object {
				return []runtime.Object{service("media", "asset-catalog"), service("playout", "scheduler")}
			},
			summary: []string{"Service asset-catalog does not exist in namespace playout", "exists in namespace media", "namespace-qualified", "asset-catalog.media.svc.cluster.local"}},
		{name: "misspelled Service name from a ConfigMap key",
			log: "fatal: preflight: getaddrinfo ENOTFOUND member-directroy.playout.svc.cluster.local",
			objs: func() []runtime.Object {
				return []runtime.Object{service("playout", "member-directory"),
					&corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "playout", Name: "worker-config"}, Data: map[string]string{"MEMBER_API_HOST": "member-directroy.playout.svc.cluster.local"}}}
			},
			summary: []string{"Service playout/member-directroy does not exist", "Service member-directory", "key MEMBER_API_HOST of ConfigMap playout/worker-config"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := newPod("playout", "sync-1", crashLooping(3), func(p *corev1.Pod) {
				p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "worker-config"}}}}
			})
			objs := []runtime.Object{p}
			objs = append(objs, tt.objs()...)
			m := newMemory(t, objs...)
			g := NewGatherer(m, Options{Logs: mapLogs{"playout/sync-1/app/previous": "starting\n" + tt.log}})
			snap, err := g.Gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Namespace: "playout", Name: "sync-1", Pod: "sync-1"}, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			fs := snap.Diagnose()
			if len(fs) == 0 || !strings.HasPrefix(fs[0].Rule, "dependency-") {
				t.Fatalf("top finding should be the dependency, got %+v", fs)
			}
			for _, w := range tt.summary {
				if !strings.Contains(fs[0].Summary, w) {
					t.Errorf("summary lacks %q:\n%s", w, fs[0].Summary)
				}
			}
		})
	}
}
