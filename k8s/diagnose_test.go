package k8s

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// Hand-built table tests per rule family (node, network policy, DNS,
// dependency, resource, JVM heap) are in diagnose_rules_test.go.

func TestSchedulerReasons(t *testing.T) {
	for _, tt := range []struct {
		name, msg string
		want      []string
	}{
		{"two reasons", "0/3 nodes are available: 1 node(s) were unschedulable, 2 node(s) had volume node affinity conflict. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.",
			[]string{"1 node(s) were unschedulable", "2 node(s) had volume node affinity conflict"}},
		{"taint with comma", "0/2 nodes are available: 1 node(s) had untolerated taint {a: b, c}, 1 Insufficient cpu.",
			[]string{"1 node(s) had untolerated taint {a: b, c}", "1 Insufficient cpu"}},
		{"unbound pvc", "0/3 nodes are available: pod has unbound immediate PersistentVolumeClaims. preemption: x",
			[]string{"pod has unbound immediate PersistentVolumeClaims"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := schedulerReasons(tt.msg); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestLastErrorLine(t *testing.T) {
	for _, tt := range []struct {
		name  string
		lines []string
		want  string
	}{
		{"python traceback keeps the exception", []string{"Traceback (most recent call last):", `  File "x.py", line 3, in <module>`, "    raise X", "ValueError: missing setting DB_URL"}, "ValueError: missing setting DB_URL"},
		{"info lines ignored", []string{"ERROR boom: disk full", `{"level":"info","msg":"retry failed later"}`}, "ERROR boom: disk full"},
		{"json fatal with go caller", []string{`{"level":"fatal","caller":"server/main.go:66","error":"open /etc/x.yaml: no such file or directory"}`}, `{"level":"fatal","caller":"server/main.go:66","error":"open /etc/x.yaml: no such file or directory"}`},
		{"short last prefers the detailed cause", []string{"Caused by: Connection refused: db.shop.svc.cluster.local/10.0.0.1:5432 while connecting to the database", "Caused by: java.net.ConnectException: Connection refused"}, "Caused by: Connection refused: db.shop.svc.cluster.local/10.0.0.1:5432 while connecting to the database"},
		{"no error", []string{"started", "listening on :8080"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := lastErrorLine(tt.lines); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestSplitImage(t *testing.T) {
	for _, tt := range []struct{ name, image, repo, tag, host string }{
		{"tagged", "registry.acme.io/web/app:v2.3.1", "registry.acme.io/web/app", "v2.3.1", "registry.acme.io"},
		{"port in host", "localhost:5000/app", "localhost:5000/app", "latest", "localhost:5000"},
		{"docker hub", "yourcompany/crw", "yourcompany/crw", "latest", "docker.io"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r, tag := splitImage(tt.image)
			if r != tt.repo || tag != tt.tag || registryHost(tt.image) != tt.host {
				t.Errorf("got %s %s %s", r, tag, registryHost(tt.image))
			}
		})
	}
}

func TestDiagnoseServiceSelectorNearMiss(t *testing.T) {
	running := corev1.PodStatus{Phase: corev1.PodRunning}
	s := &Snapshot{
		Services: []corev1.Service{{ObjectMeta: metav1.ObjectMeta{Namespace: "pay", Name: "api"},
			Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "payments-api"}}}},
		Endpoints: []corev1.Endpoints{{ObjectMeta: metav1.ObjectMeta{Namespace: "pay", Name: "api"}}},
		Pods: []corev1.Pod{
			{ObjectMeta: metav1.ObjectMeta{Namespace: "pay", Name: "payment-api-1", Labels: map[string]string{"app": "payment-api"}}, Status: running},
			{ObjectMeta: metav1.ObjectMeta{Namespace: "pay", Name: "other", Labels: map[string]string{"team": "x"}}, Status: running},
		},
	}
	fs := s.Diagnose()
	if len(fs) == 0 || fs[0].Rule != "service-selector" {
		t.Fatalf("findings %+v", fs)
	}
	if !strings.Contains(fs[0].Summary, "app=payment-api") || strings.Contains(fs[0].Summary, "other") {
		t.Errorf("summary should name the near-miss pod's labels only: %s", fs[0].Summary)
	}
	// With a matching pod the rule stays quiet.
	s.Pods[0].Labels["app"] = "payments-api"
	for _, f := range s.Diagnose() {
		if f.Rule == "service-selector" {
			t.Errorf("unexpected %s", f.Summary)
		}
	}
}

func TestClassifyError(t *testing.T) {
	for _, tt := range []struct{ name, line, want string }{
		{"missing executable beats missing file", `exec: "wge": executable file not found in $PATH`, "a missing or misspelled executable"},
		{"missing file", "open /etc/app/config.yaml: no such file or directory", "a missing file"},
		{"authorization", "An error occurred (AccessDenied) when calling the PutObject operation", "an authorization failure (permission denied by the called system)"},
		{"expired cert", "ExpiredCertException: Certificate expired on 2024-08-03", "an expired or invalid TLS certificate"},
		{"unknown", "something odd happened", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := classifyError(tt.line); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestImpliedCategory(t *testing.T) {
	for rule, want := range map[string]investigate.Category{
		"netpol-ingress-deny": investigate.NetworkPolicy, "netpol-egress-dns": investigate.NetworkPolicy,
		"dns-loop": investigate.DNSIssues, "node-disk-pressure": investigate.DiskPressure,
		"oom-killed": investigate.OOMKilled, "failed-scheduling": investigate.PodPending,
		"liveness-probe": investigate.PodRestart, "service-selector": investigate.ServiceDown,
		"dependency-connection-refused": "", "eviction": "",
	} {
		if got := impliedCategory(rule); got != want {
			t.Errorf("impliedCategory(%q) = %q, want %q", rule, got, want)
		}
	}
}
