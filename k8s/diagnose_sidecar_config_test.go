package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// withSidecar adds a second container "agent" in CrashLoopBackOff to the
// pod; the app container stays running.
func withSidecar(port int32) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "agent", Image: "agent:2", Ports: []corev1.ContainerPort{{ContainerPort: port}}})
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: "agent", RestartCount: 6,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Error", ExitCode: 1}},
		})
	}
}

// A sidecar that rejects its configuration at start-up is the root cause;
// the app's refused calls to 127.0.0.1 are its symptom.
func TestDiagnoseSidecarConfigRejected(t *testing.T) {
	cases := []struct {
		name, port string
		agentLog   []string
		appLog     string
		want       []string
	}{
		{name: "collector config names a removed exporter (detail on the next line)", port: "4317",
			agentLog: []string{"Error: failed to get config: cannot unmarshal the configuration: decoding failed due to the following error(s):", "",
				"'exporters' the foo exporter has been removed, use the bar exporter instead"},
			appLog: `level=warn msg="export failed" error="dial tcp 127.0.0.1:4317: connect: connection refused"`,
			want:   []string{"Container agent", "CrashLoopBackOff", "the foo exporter has been removed", "configuration the program rejects"}},
		{name: "proxy sidecar with an unknown directive", port: "15001",
			agentLog: []string{`[emerg] 1#1: unknown directive "proxy_pas" in /etc/nginx/conf.d/default.conf:12`},
			appLog:   `ERROR upstream call failed: connect ECONNREFUSED localhost:15001`,
			want:     []string{"Container agent", "unknown directive"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var port int32
			for _, c := range tc.port {
				port = port*10 + int32(c-'0')
			}
			p := newPod("apps", "planner-5d-abc", ownedByRS("planner-5d"), withSidecar(port))
			s := &Snapshot{Pods: []corev1.Pod{*p}, Logs: []ContainerLog{
				{Namespace: "apps", Pod: p.Name, Container: "agent", Previous: true, Lines: tc.agentLog},
				{Namespace: "apps", Pod: p.Name, Container: "app", Lines: []string{tc.appLog, tc.appLog}},
			}}
			fs := s.Diagnose()
			if len(fs) == 0 || fs[0].Rule != "crashloop" {
				t.Fatalf("top finding = %+v, want the sidecar's crashloop", fs)
			}
			for _, w := range tc.want {
				if !strings.Contains(fs[0].Summary+" "+fs[0].Detail, w) {
					t.Errorf("root cause lacks %q: %s", w, fs[0].Summary)
				}
			}
			for _, f := range fs {
				if strings.HasPrefix(f.Rule, "dependency-") && !strings.Contains(f.Summary, "container agent of the same pod") {
					t.Errorf("loopback failure not tied to the sidecar: %s", f.Summary)
				}
			}
		})
	}
	// A refused call to another Service is not explained by a sidecar.
	p := newPod("apps", "planner-5d-abc", ownedByRS("planner-5d"), withSidecar(4317))
	s := &Snapshot{Pods: []corev1.Pod{*p}, Logs: []ContainerLog{{Namespace: "apps", Pod: p.Name, Container: "app",
		Lines: []string{`error="dial tcp 10.0.0.9:5432: connect: connection refused"`}}}}
	for _, f := range s.Diagnose() {
		if strings.HasPrefix(f.Rule, "dependency-") && strings.Contains(f.Summary, "same pod") {
			t.Errorf("remote dependency blamed on the sidecar: %s", f.Summary)
		}
	}
}
