package fold

import (
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

func TestWorkloadOfPod(t *testing.T) {
	for _, tt := range []struct {
		name, pod string
		want      investigate.Ref
	}{
		{"deployment pod", "checkout-7d9f8b6c5d-x2k4p", investigate.Ref{Kind: investigate.KindDeployment, Name: "checkout"}},
		{"deployment with dashes", "payment-api-6d4b8f7c59-wxq2l", investigate.Ref{Kind: investigate.KindDeployment, Name: "payment-api"}},
		{"statefulset pod", "db-12", investigate.Ref{Kind: investigate.KindStatefulSet, Name: "db"}},
		{"statefulset ordinal zero", "kafka-broker-0", investigate.Ref{Kind: investigate.KindStatefulSet, Name: "kafka-broker"}},
		{"daemonset or job pod", "node-exporter-x2k4p", investigate.Ref{Kind: "owner", Name: "node-exporter"}},
		{"hand-named pod", "debug-shell", investigate.Ref{}},
		{"hash outside the generated alphabet", "api-v2aeiou-abcde", investigate.Ref{}},
		{"leading zero is not an ordinal", "web-007", investigate.Ref{}},
		{"no dash", "nginx", investigate.Ref{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := WorkloadOfPod(tt.pod); got != tt.want {
				t.Errorf("WorkloadOfPod(%q) = %+v, want %+v", tt.pod, got, tt.want)
			}
		})
	}
}

func alertReq(name string, labels ...string) investigate.Request {
	l := map[string]string{"alertname": name}
	for i := 0; i+1 < len(labels); i += 2 {
		l[labels[i]] = labels[i+1]
	}
	return investigate.Request{Alert: &investigate.Alert{Status: investigate.StatusFiring, Labels: l}, Source: investigate.SourceAlertmanager}
}

func TestKey(t *testing.T) {
	podA := alertReq("KubePodCrashLooping", "namespace", "shop", "pod", "web-7d9f8b6c5d-x2k4p")
	for _, tt := range []struct {
		name string
		a, b investigate.Request
		same bool
	}{
		{"two pods of one deployment", podA, alertReq("KubePodCrashLooping", "namespace", "shop", "pod", "web-5c4b8d9f7d-zz9q2"), true},
		{"pod and its deployment label", podA, alertReq("KubePodCrashLooping", "namespace", "shop", "deployment", "web"), true},
		{"other alert name", podA, alertReq("KubePodNotReady", "namespace", "shop", "pod", "web-7d9f8b6c5d-x2k4p"), false},
		{"other namespace", podA, alertReq("KubePodCrashLooping", "namespace", "shop-canary", "pod", "web-7d9f8b6c5d-x2k4p"), false},
		{"other deployment", podA, alertReq("KubePodCrashLooping", "namespace", "shop", "pod", "cart-7d9f8b6c5d-x2k4p"), false},
		{"two hand-named pods", alertReq("KubePodCrashLooping", "namespace", "shop", "pod", "debug-a"),
			alertReq("KubePodCrashLooping", "namespace", "shop", "pod", "debug-b"), false},
		{"two nodes", alertReq("KubeNodeNotReady", "node", "worker-1"), alertReq("KubeNodeNotReady", "node", "worker-2"), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ka, kb := Key(&tt.a), Key(&tt.b)
			if ka == "" || kb == "" {
				t.Fatalf("empty key: %q %q", ka, kb)
			}
			if (ka == kb) != tt.same {
				t.Errorf("Key(a) = %q, Key(b) = %q, want same = %t", ka, kb, tt.same)
			}
		})
	}
	if k := Key(&investigate.Request{Target: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop"}}); k != "" {
		t.Errorf("a request without an alert has key %q, want none (never folded)", k)
	}
}

func TestWorkload(t *testing.T) {
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"deployment pod", map[string]string{"alertname": "A", "namespace": "shop", "pod": "checkout-66d9c8b7f4-x2b9z"}, "deployment/checkout"},
		{"statefulset pod", map[string]string{"alertname": "A", "namespace": "shop", "pod": "redis-2"}, "statefulset/redis"},
		{"pod naming no workload", map[string]string{"alertname": "A", "namespace": "shop", "pod": "checkout-old-00042"}, ""},
		{"node", map[string]string{"alertname": "A", "node": "worker-1"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			req := &investigate.Request{Alert: &investigate.Alert{Labels: tt.labels}}
			if got := Workload(req); got != tt.want {
				t.Errorf("Workload = %q, want %q", got, tt.want)
			}
		})
	}
	if got := Workload(&investigate.Request{}); got != "" {
		t.Errorf("Workload of a request without an alert = %q", got)
	}
}
