package investigate_test

import (
	"strings"
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

// wantTarget is the target each scenario's (first) alert names, derived by
// reading its alert.json and the summary in its expect.yaml.
var wantTarget = map[string]investigate.Target{
	// CPUThrottlingHigh from cAdvisor: the kubelet Service is the exporter's.
	"cpu-throttling-low-limit": {Kind: investigate.KindPod, Name: "image-resizer-6d4b8f7c59-8kzvt", Namespace: "media",
		Pod: "image-resizer-6d4b8f7c59-8kzvt", Container: "image-resizer", Instance: "10.0.1.12:10250"},
	"crashloop-db-connection-refused": {Kind: investigate.KindPod, Name: "catalog-web-7f9c6d8b5c-h2xkt", Namespace: "shop",
		Pod: "catalog-web-7f9c6d8b5c-h2xkt", Container: "catalog-web", Instance: "10.244.1.14:8080"},
	"crashloop-missing-configmap": {Kind: investigate.KindPod, Name: "inventory-api-5d8f9c7b64-xk2vq", Namespace: "shop",
		Pod: "inventory-api-5d8f9c7b64-xk2vq", Container: "inventory-api", Instance: "10.244.1.14:8080"},
	"crashloop-secret-in-logs": {Kind: investigate.KindPod, Name: "report-exporter-7b5d9c8f46-qz5lw", Namespace: "reporting",
		Pod: "report-exporter-7b5d9c8f46-qz5lw", Container: "report-exporter", Instance: "10.244.1.14:8080"},
	// node-exporter's own pod, namespace and Service are dropped; the
	// instance IP is what maps the alert to its node.
	"disk-pressure-eviction": {Instance: "10.0.1.11:9100"},
	// CoreDNSDown names nothing: the gatherer looks at kube-system's DNS.
	"dns-coredns-crashloop": {},
	"imagepull-bad-tag": {Kind: investigate.KindPod, Name: "storefront-web-6f8d9c7b5d-pt7wz", Namespace: "web",
		Pod: "storefront-web-6f8d9c7b5d-pt7wz"},
	"liveness-probe-restarts": {Kind: investigate.KindPod, Name: "loyalty-service-6b9f7d8c5d-2fjxw", Namespace: "loyalty",
		Pod: "loyalty-service-6b9f7d8c5d-2fjxw", Container: "loyalty-service", Instance: "10.244.1.14:8080"},
	// Team alert: service label names the frontend whose upstream fails.
	"networkpolicy-default-deny": {Kind: investigate.KindService, Name: "frontend", Namespace: "web", Service: "frontend"},
	// kube-state-metrics' pod and its monitoring namespace are dropped.
	"node-not-ready-kubelet-down": {Kind: investigate.KindNode, Name: "worker-2", Node: "worker-2", Instance: "10.244.1.14:8080"},
	"oomkilled-memory-limit": {Kind: investigate.KindPod, Name: "invoice-pdf-worker-5b7d8c9f6d-8qxzv", Namespace: "billing",
		Pod: "invoice-pdf-worker-5b7d8c9f6d-8qxzv", Container: "invoice-pdf-worker", Instance: "10.244.1.14:8080"},
	// The exporter pod is dropped, the deployment kept.
	"pending-insufficient-cpu": {Kind: investigate.KindDeployment, Name: "pricing-engine", Namespace: "pricing",
		Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "pricing-engine"}, Instance: "10.244.1.14:8080"},
	"pending-unbound-pvc": {Kind: investigate.KindPod, Name: "rabbitmq-0", Namespace: "messaging", Pod: "rabbitmq-0"},
	// Labels name only the namespace; the summary names the Service.
	"readiness-no-endpoints": {Kind: investigate.KindService, Name: "recommendations", Namespace: "recs", Service: "recommendations"},
	// Blackbox probe: service label and the probed URL agree.
	"service-selector-mismatch": {Kind: investigate.KindService, Name: "payments-api", Namespace: "payments", Service: "payments-api"},

	"hg-01-oom-kill": {Kind: investigate.KindPod, Name: "analytics-exporter-fast-76897854c-cw5wh", Namespace: "default",
		Pod: "analytics-exporter-fast-76897854c-cw5wh", Container: "memory-eater", Instance: "10.244.1.14:8080"},
	"hg-02-init-container-crashloop": {Kind: investigate.KindPod, Name: "logging-agent", Namespace: "default", Pod: "logging-agent"},
	"hg-04-image-pull-backoff": {Kind: investigate.KindPod, Name: "customer-relations-webapp-5d98ffcfd-tz4nc", Namespace: "default",
		Pod: "customer-relations-webapp-5d98ffcfd-tz4nc"},
	"hg-05-crashpod-expired-cert": {Kind: investigate.KindPod, Name: "db-certs-authenticator-757f89d977-795x7", Namespace: "default",
		Pod: "db-certs-authenticator-757f89d977-795x7", Container: "flask", Instance: "10.244.1.14:8080"},
	// KubeJobFailed from a kube-state-metrics whose Prometheus runs in the
	// Job's own namespace (default/robusta-...): the namespace is the Job's.
	"hg-06-job-failure-db-connection": {Kind: investigate.KindJob, Name: "java-api-checker", Namespace: "default",
		Workload: investigate.Ref{Kind: investigate.KindJob, Name: "java-api-checker"}, Instance: "10.244.1.5:8080"},
	"hg-07-job-shell-syntax-error": {Kind: investigate.KindJob, Name: "product-data-scraper", Namespace: "default",
		Workload: investigate.Ref{Kind: investigate.KindJob, Name: "product-data-scraper"}, Instance: "10.244.1.5:8080"},
	"hg-11-crashloop-missing-env": {Kind: investigate.KindPod, Name: "payment-processing-worker-747ccfb9db-pd6wz", Namespace: "default",
		Pod: "payment-processing-worker-747ccfb9db-pd6wz", Container: "payment-processing-container", Instance: "10.244.0.3:8080"},
	"hg-12-pending-insufficient-gpu": {Kind: investigate.KindPod, Name: "user-profile-resources-659d4dd659-cq4kq", Namespace: "default",
		Pod: "user-profile-resources-659d4dd659-cq4kq"},
	"hg-ask-02-oom-kill-bare-pod": {Kind: investigate.KindPod, Name: "giant-narwhal-6958c5bdd8-69gtn", Namespace: "app-02",
		Pod: "giant-narwhal-6958c5bdd8-69gtn", Container: "main", Instance: "10.244.1.14:8080"},
	"hg-ask-13b-pending-node-selector": {Kind: investigate.KindPod, Name: "user-profile-import", Namespace: "app-13b", Pod: "user-profile-import"},
	"hg-ask-21-job-unresolvable-host": {Kind: investigate.KindJob, Name: "get-data", Namespace: "default",
		Workload: investigate.Ref{Kind: investigate.KindJob, Name: "get-data"}, Instance: "172.31.8.207:8080"},
	"hg-ask-24b-pvc-missing-storageclass":   {Kind: investigate.KindPod, Name: "redis-747ffc844f-f9ghd", Namespace: "app-24b", Pod: "redis-747ffc844f-f9ghd"},
	"hg-ask-54-image-pull-unknown-registry": {Kind: investigate.KindPod, Name: "fast-fail-pod", Namespace: "namespace-54b", Pod: "fast-fail-pod"},
}

// plainTarget prints every field of a Target (Target's String hides most).
type plainTarget investigate.Target

func plain(t investigate.Target) plainTarget { return plainTarget(t) }

func TestTargetFromAlertScenarios(t *testing.T) {
	seen := 0
	for _, sc := range loadScenarios(t) {
		t.Run(sc.Name, func(t *testing.T) {
			want, ok := wantTarget[sc.Name]
			if !ok {
				t.Fatalf("no expected target for new scenario %s: add one", sc.Name)
			}
			seen++
			a := &sc.Message.Alerts[0]
			if got := investigate.TargetFromAlert(a); got != want {
				t.Errorf("TargetFromAlert =\n  %+v\nwant\n  %+v", plain(got), plain(want))
			}
			// Every alert of a grouped message names the same kind of object
			// in the same namespace.
			for i := range sc.Message.Alerts[1:] {
				got := investigate.TargetFromAlert(&sc.Message.Alerts[i+1])
				if got.Kind != want.Kind || got.Namespace != want.Namespace || got.Name == "" && want.Name != "" {
					t.Errorf("alert %d: target %+v, want a %s in %q", i+1, got, want.Kind, want.Namespace)
				}
			}
			// A namespaced object must carry its namespace: without it the
			// gatherer cannot look the object up.
			if got := investigate.TargetFromAlert(a); got.Kind != "" && got.Kind != investigate.KindNode && got.Namespace == "" {
				t.Errorf("%s target %s has no namespace", got.Kind, got)
			}
		})
	}
	if seen != len(wantTarget) {
		t.Errorf("checked %d scenarios, expectations exist for %d", seen, len(wantTarget))
	}
}

func TestTargetFromLabels(t *testing.T) {
	const prom = "monitoring/kube-prometheus-stack-prometheus"
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   investigate.Target
	}{
		{"nothing", nil, investigate.Target{}},
		{"namespace only", map[string]string{"alertname": "X", "namespace": "shop"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{"pod wins over workload, service and node",
			map[string]string{"namespace": "shop", "pod": "web-0", "deployment": "web", "service": "web", "node": "n1"},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0", Service: "web", Node: "n1",
				Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "web"}}},
		{"statefulset", map[string]string{"namespace": "db", "statefulset": "postgres"},
			investigate.Target{Kind: investigate.KindStatefulSet, Name: "postgres", Namespace: "db",
				Workload: investigate.Ref{Kind: investigate.KindStatefulSet, Name: "postgres"}}},
		{"daemonset", map[string]string{"namespace": "kube-system", "daemonset": "fluent-bit"},
			investigate.Target{Kind: investigate.KindDaemonSet, Name: "fluent-bit", Namespace: "kube-system",
				Workload: investigate.Ref{Kind: investigate.KindDaemonSet, Name: "fluent-bit"}}},
		{"job label of a KubeJob alert is the Job", map[string]string{"alertname": "KubeJobNotCompleted", "namespace": "etl", "job": "nightly"},
			investigate.Target{Kind: investigate.KindJob, Name: "nightly", Namespace: "etl",
				Workload: investigate.Ref{Kind: investigate.KindJob, Name: "nightly"}}},
		{"horizontalpodautoscaler label is a hint the gatherer follows", map[string]string{"alertname": "KubeHpaMaxedOut", "namespace": "shop", "horizontalpodautoscaler": "web"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop", Autoscaler: "web"}},
		{"job label of other alerts is the scrape job", map[string]string{"alertname": "TargetDown", "namespace": "shop", "job": "api"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{"service", map[string]string{"namespace": "shop", "service": "api"},
			investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop", Service: "api"}},
		{"exporter service label ignored", map[string]string{"namespace": "shop", "service": "kube-prometheus-stack-kube-state-metrics"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{"exported_service wins over the exporter's", map[string]string{"namespace": "shop", "service": "kube-prometheus-stack-kubelet", "exported_service": "api"},
			investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop", Service: "api"}},
		{"node", map[string]string{"node": "worker-1"},
			investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}},
		{"nodename alias", map[string]string{"nodename": "worker-1"},
			investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}},
		{"exported labels", map[string]string{"exported_namespace": "shop", "exported_pod": "web-0"},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{"instance ip:port kept", map[string]string{"instance": "10.0.1.11:9100"}, investigate.Target{Instance: "10.0.1.11:9100"}},
		{"instance ipv6 kept", map[string]string{"instance": "[fd00::1]:9100"}, investigate.Target{Instance: "[fd00::1]:9100"}},
		{"instance hostname dropped", map[string]string{"instance": "worker-1.example.com:9100"}, investigate.Target{}},
		{"node-exporter pod and namespace dropped, node kept",
			map[string]string{"alertname": "NodeFilesystemAlmostOutOfSpace", "namespace": "monitoring", "pod": "node-exporter-abc", "container": "node-exporter",
				"node": "worker-1", "prometheus": prom, "service": "kube-prometheus-stack-prometheus-node-exporter"},
			investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}},
		{"exporter namespace kept when Prometheus runs elsewhere",
			map[string]string{"namespace": "observability", "pod": "kube-state-metrics-x", "prometheus": prom},
			investigate.Target{Kind: investigate.KindNamespace, Name: "observability", Namespace: "observability"}},
		{"pod named like an exporter but not one is kept",
			map[string]string{"namespace": "reporting", "pod": "report-exporter-1", "prometheus": prom},
			investigate.Target{Kind: investigate.KindPod, Name: "report-exporter-1", Namespace: "reporting", Pod: "report-exporter-1"}},
		{"blackbox URL with cluster.local", map[string]string{"instance": "https://api.shop.svc.cluster.local/healthz"},
			investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop", Service: "api"}},
		// A Probe object in the monitoring namespace probing a Service in
		// shop: the URL says where the Service lives, the label where the Probe does.
		{"blackbox URL names the service's namespace", map[string]string{"alertname": "BlackboxProbeFailed", "namespace": "monitoring",
			"prometheus": prom, "job": "probe/monitoring/api", "instance": "http://api.shop.svc:8080/healthz"},
			investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop", Service: "api"}},
		{"external URL is not a service: its host is kept for the Ingress", map[string]string{"instance": "https://example.com/healthz"}, investigate.Target{Host: "example.com", Path: "/healthz"}},
		{"a URL's path drops query and fragment", map[string]string{"instance": "https://example.com/api/v1/health?full=1#top"}, investigate.Target{Host: "example.com", Path: "/api/v1/health"}},
		{"blackbox probe of a public URL drops the prober's namespace", map[string]string{
			"alertname": "BlackboxProbeFailed", "instance": "https://Label.Example.io:443/health", "job": "blackbox-https",
			"namespace": "monitoring", "prometheus": "monitoring/kube-prometheus-stack-prometheus"},
			investigate.Target{Host: "label.example.io", Path: "/health"}},
		{"a URL to an IP is no host", map[string]string{"instance": "http://10.0.0.4:8080/"}, investigate.Target{}},
		{"Argo CD names the destination namespace", map[string]string{
			"alertname": "ArgoCdAppSyncFailed", "namespace": "argocd", "dest_namespace": "billing", "name": "billing-service"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "billing", Namespace: "billing"}},
		{"an SLO alert names its service under its own key", map[string]string{
			"alertname": "CheckoutAvailabilityBudgetBurn", "sloth_service": "checkout", "sloth_slo": "availability", "team": "payments"},
			investigate.Target{Kind: investigate.KindService, Name: "checkout", Service: "checkout"}},
		{"an app label when nothing else names the subject", map[string]string{"alertname": "HighErrorRate", "app": "ledger", "namespace": "pay"},
			investigate.Target{Kind: investigate.KindService, Name: "ledger", Namespace: "pay", Service: "ledger"}},
		{"exported_namespace is the subject's", map[string]string{"namespace": "monitoring", "exported_namespace": "shop", "deployment": "web"},
			investigate.Target{Kind: investigate.KindDeployment, Name: "web", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "web"}}},
		{"invalid values dropped", map[string]string{
			"namespace": "Shop", "pod": "web_0", "container": "App!", "deployment": "-api", "service": "a b",
			"node": strings.Repeat("n", 254), "instance": "not-an-ip"},
			investigate.Target{}},
		{"invalid pod falls back to a valid alias", map[string]string{"namespace": "shop", "pod": "web 0", "pod_name": "web-0"},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{"path traversal in a label", map[string]string{"namespace": "../kube-system", "pod": "../../secrets"}, investigate.Target{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := investigate.TargetFromLabels(tt.labels); got != tt.want {
				t.Errorf("TargetFromLabels(%v) =\n  %+v\nwant\n  %+v", tt.labels, plain(got), plain(tt.want))
			}
		})
	}
}

func TestTargetFromAlertText(t *testing.T) {
	for _, tt := range []struct {
		name        string
		labels      map[string]string
		annotations map[string]string
		want        investigate.Target
	}{
		{"deployment in description", map[string]string{"alertname": "X", "namespace": "shop"},
			map[string]string{"description": "Deployment shop/api has not matched the expected number of replicas"},
			investigate.Target{Kind: investigate.KindDeployment, Name: "api", Namespace: "shop",
				Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "api"}}},
		{"pod in message", map[string]string{"alertname": "X"}, map[string]string{"message": "Pod shop/web-0 is crash looping"},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{"statefulset", map[string]string{"alertname": "X"}, map[string]string{"summary": "StatefulSet db/postgres is down"},
			investigate.Target{Kind: investigate.KindStatefulSet, Name: "postgres", Namespace: "db",
				Workload: investigate.Ref{Kind: investigate.KindStatefulSet, Name: "postgres"}}},
		{"text contradicting the namespace label ignored", map[string]string{"alertname": "X", "namespace": "shop"},
			map[string]string{"summary": "Service other/api has no endpoints"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{"labels win over text", map[string]string{"alertname": "X", "namespace": "shop", "pod": "web-0"},
			map[string]string{"summary": "Service shop/api has no endpoints"},
			investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{"summary first, then description", map[string]string{"alertname": "X"},
			map[string]string{"summary": "Service shop/api is down", "description": "Pod shop/web-0 is crashing"},
			investigate.Target{Kind: investigate.KindService, Name: "api", Namespace: "shop", Service: "api"}},
		{"lowercase kind word is not an object", map[string]string{"alertname": "X"},
			map[string]string{"summary": "the service shop/api is down"}, investigate.Target{}},
		{"no object in text", map[string]string{"alertname": "X"}, map[string]string{"summary": "Something is wrong"}, investigate.Target{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a := &investigate.Alert{Labels: tt.labels, Annotations: tt.annotations}
			if got := investigate.TargetFromAlert(a); got != tt.want {
				t.Errorf("TargetFromAlert =\n  %+v\nwant\n  %+v", plain(got), plain(tt.want))
			}
		})
	}
}

func TestTargetString(t *testing.T) {
	for _, tt := range []struct {
		t    investigate.Target
		want string
	}{
		{investigate.Target{}, "(no target)"},
		{investigate.Target{Namespace: "shop"}, "namespace/shop"},
		{investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop"}, "pod/web-0 -n shop"},
		{investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Namespace: "ignored"}, "node/worker-1"},
		{investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}, "namespace/shop"},
		{investigate.Target{Kind: investigate.KindDeployment, Name: "api"}, "deployment/api"},
	} {
		if got := tt.t.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.t, got, tt.want)
		}
	}
}

func TestIPFromInstance(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.1.11:9100":  "10.0.1.11",
		"10.0.1.11":       "10.0.1.11",
		"[fd00::1]:9100":  "fd00::1",
		"fd00::1":         "fd00::1",
		"worker-1:9100":   "",
		"":                "",
		"http://10.0.0.1": "",
	} {
		if got := (investigate.Target{Instance: in}).IPFromInstance(); got != want {
			t.Errorf("IPFromInstance(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestParseTarget(t *testing.T) {
	for _, tt := range []struct {
		name     string
		in       string
		want     investigate.Target
		question string
		err      string // substring; "" = no error
	}{
		{name: "pod with -n", in: "pod/web-0 -n shop",
			want: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{name: "deploy with --namespace and question", in: "deploy/api --namespace shop why is it slow?",
			want:     investigate.Target{Kind: investigate.KindDeployment, Name: "api", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "api"}},
			question: "why is it slow?"},
		{name: "svc with --namespace=", in: "svc/payments-api --namespace=payments",
			want: investigate.Target{Kind: investigate.KindService, Name: "payments-api", Namespace: "payments", Service: "payments-api"}},
		{name: "-n= before the object", in: "-n=db sts/postgres",
			want: investigate.Target{Kind: investigate.KindStatefulSet, Name: "postgres", Namespace: "db", Workload: investigate.Ref{Kind: investigate.KindStatefulSet, Name: "postgres"}}},
		{name: "daemonset alias", in: "ds/fluent-bit -n kube-system",
			want: investigate.Target{Kind: investigate.KindDaemonSet, Name: "fluent-bit", Namespace: "kube-system", Workload: investigate.Ref{Kind: investigate.KindDaemonSet, Name: "fluent-bit"}}},
		{name: "job", in: "job/nightly -n etl",
			want: investigate.Target{Kind: investigate.KindJob, Name: "nightly", Namespace: "etl", Workload: investigate.Ref{Kind: investigate.KindJob, Name: "nightly"}}},
		{name: "kind is case-insensitive", in: "Deployment/api -n shop",
			want: investigate.Target{Kind: investigate.KindDeployment, Name: "api", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "api"}}},
		{name: "node has no namespace", in: "node/worker-1 -n shop",
			want: investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}},
		{name: "no alias", in: "no/worker-1",
			want: investigate.Target{Kind: investigate.KindNode, Name: "worker-1", Node: "worker-1"}},
		{name: "namespace", in: "ns/shop",
			want: investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{name: "NS/NAME is a pod", in: "shop/web-0",
			want: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{name: "NS/NAME agreeing with -n", in: "shop/web-0 -n shop",
			want: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},
		{name: "default namespace", in: "pod/web-0",
			want: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "default", Pod: "web-0"}},
		{name: "question words around the object", in: "why is pod/web-0 crashing -n shop",
			want:     investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"},
			question: "why is crashing"},
		{name: "second slash word stays in the question", in: "pod/web-0 -n shop see https://wiki/x",
			want:     investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"},
			question: "see https://wiki/x"},
		{name: "extra whitespace", in: "  pod/web-0 \t -n   shop  ",
			want: investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}},

		{name: "empty", in: "", err: "no target"},
		{name: "only a question", in: "why is checkout slow", err: "no target"},
		{name: "-n without value", in: "pod/web-0 -n", err: "-n needs a namespace"},
		{name: "--namespace without value", in: "pod/web-0 --namespace", err: "--namespace needs a namespace"},
		{name: "invalid name", in: "pod/Web_0 -n shop", err: "not a valid Kubernetes name"},
		{name: "empty name", in: "pod/ -n shop", err: "not a valid Kubernetes name"},
		{name: "invalid namespace", in: "pod/web-0 -n Shop!", err: "not a valid namespace"},
		{name: "unknown kind", in: "Widget/x", err: "unknown kind"},
		{name: "NS/NAME contradicting -n", in: "shop/web-0 -n other", err: "contradicts"},
		{name: "nested path", in: "shop/web/0", err: "not a valid Kubernetes name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, q, err := investigate.ParseTarget(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseTarget(%q) error = %v, want one containing %q (target %+v)", tt.in, err, tt.err, got)
				}
				if !got.IsZero() || q != "" {
					t.Errorf("error returned with target %+v question %q", got, q)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseTarget(%q): %v", tt.in, err)
			}
			if got != tt.want || q != tt.question {
				t.Errorf("ParseTarget(%q) =\n  %+v %q\nwant\n  %+v %q", tt.in, plain(got), q, plain(tt.want), tt.question)
			}
			// What ParseTarget returns round-trips through String.
			again, _, err := investigate.ParseTarget(got.String())
			if err != nil || again.Kind != got.Kind || again.Name != got.Name || again.Namespace != got.Namespace {
				t.Errorf("ParseTarget(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}
