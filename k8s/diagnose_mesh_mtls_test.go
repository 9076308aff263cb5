package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestMeshMTLSRule(t *testing.T) {
	sidecar := func(ip string) podOpt {
		return func(p *corev1.Pod) {
			p.Status.PodIP = ip
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy", Image: "istio/proxyv2:1.22.3"})
		}
	}
	ip := func(ip string) podOpt { return func(p *corev1.Pod) { p.Status.PodIP = ip } }
	proxyLog := func(pod string, lines ...string) []ContainerLog {
		return []ContainerLog{{Namespace: "stock", Pod: pod, Container: "istio-proxy", Lines: lines}}
	}
	nr := func(local, remote string) string {
		return `[2026-01-02T10:00:00.000Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - ` + local + " " + remote + " - -"
	}
	cases := []ruleCase{
		{name: "caller without a sidecar is named", rule: "mesh-mtls-strict-plaintext",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("stock", "api-1", sidecar("10.1.0.5"))},
					RelatedPods: []corev1.Pod{*newPod("jobs", "planner-1", ip("10.1.2.7"))},
					Logs:        proxyLog("api-1", nr("10.1.0.5:9090", "10.1.2.7:40112"), nr("10.1.0.5:9090", "10.1.2.7:40113"))}
			},
			summary: []string{"port 9090", "pod jobs/planner-1 (10.1.2.7, no istio-proxy sidecar)", "STRICT", "plaintext because they have no sidecar"}},
		{name: "caller unknown to the snapshot: its address", rule: "mesh-mtls-strict-plaintext",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("stock", "api-2", sidecar("10.1.0.6"))},
					Logs: proxyLog("api-2", nr("10.1.0.6:8080", "10.9.9.9:5000"))}
			},
			summary: []string{"port 8080 from 10.9.9.9", "STRICT"}},
		{name: "served requests and outbound resets only: no finding", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("stock", "api-3", sidecar("10.1.0.7"))},
					Logs: proxyLog("api-3",
						`[2026-01-02T10:00:00.000Z] "GET /v1 HTTP/1.1" 200 - via_upstream - "-" 0 12 3 2 "-" "curl" "x" "api" "10.1.0.7:8080" inbound|8080|| 127.0.0.6:5 10.1.0.7:8080 10.1.2.7:4 - default`,
						// Outbound: the local address is not this pod's.
						nr("10.2.0.1:443", "10.1.0.7:51000"))}
			}},
		{name: "no sidecar: no finding", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("stock", "api-4", ip("10.1.0.8"))},
					Logs: []ContainerLog{{Namespace: "stock", Pod: "api-4", Container: "app", Lines: []string{nr("10.1.0.8:8080", "10.1.2.7:1")}}}}
			}},
	}
	runRuleCases(t, []string{"mesh-"}, cases)
}

// A caller whose connections to a dependency are reset pulls in the
// access log of the dependency's mesh proxy; another error does not.
func TestDependencySidecarLogFollowed(t *testing.T) {
	objs := func() []runtime.Object {
		return []runtime.Object{
			newPod("jobs", "planner-1", withLabels("app", "planner"), func(p *corev1.Pod) { p.Status.PodIP = "10.1.2.7" }),
			newPod("stock", "api-1", withLabels("app", "api"), func(p *corev1.Pod) {
				p.Status.PodIP = "10.1.0.5"
				p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "istio-proxy"})
				p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: "istio-proxy", Ready: true,
					State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}})
			}),
			&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "stock", Name: "api"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "api"}, ClusterIP: "10.96.3.3",
				Ports: []corev1.ServicePort{{Port: 9090}}}},
		}
	}
	target := investigate.Target{Kind: investigate.KindPod, Name: "planner-1", Namespace: "jobs", Pod: "planner-1"}
	proxy := `[2026-01-02T10:00:00.000Z] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - 10.1.0.5:9090 10.1.2.7:40112 - -`
	for _, tt := range []struct {
		log  string
		want bool
	}{
		{`level=error msg="call failed" err="Get \"http://api.stock.svc.cluster.local:9090/v1\": read tcp 10.1.2.7:40112->10.96.3.3:9090: read: connection reset by peer"`, true},
		{`level=error msg="call failed" err="Get \"http://api.stock.svc.cluster.local:9090/v1\": 404 not found"`, false},
	} {
		s := gatherWith(t, objs(), mapLogs{"jobs/planner-1/app": tt.log, "stock/api-1/istio-proxy": proxy}, target, investigate.ServiceDown)
		read := false
		for _, l := range s.Logs {
			read = read || (l.Pod == "api-1" && l.Container == "istio-proxy")
		}
		if read != tt.want {
			t.Errorf("log %q: sidecar log read = %v, want %v", tt.log, read, tt.want)
		}
		if tt.want {
			found := false
			for _, f := range s.Diagnose() {
				found = found || (f.Rule == "mesh-mtls-strict-plaintext" && strings.Contains(f.Summary, "pod jobs/planner-1"))
			}
			if !found {
				t.Error("no mesh-mtls-strict-plaintext finding naming the caller")
			}
		}
	}
}
