package investigate_test

import (
	"testing"

	"github.com/k8flex/k8flex/investigate"
)

// TestTargetFromLabelsSubject covers the label shapes whose subject is not
// under the standard keys: each shape in two variants, and the cases where
// the standard labels must still win.
func TestTargetFromLabelsSubject(t *testing.T) {
	const prom = "monitoring/kube-prometheus-stack-prometheus"
	svc := func(ns, name string) investigate.Target {
		return investigate.Target{Kind: investigate.KindService, Name: name, Namespace: ns, Service: name}
	}
	for _, tt := range []struct {
		name   string
		labels map[string]string
		want   investigate.Target
	}{
		// exported_*: a target scraped without honor_labels.
		{"exported_pod and exported_container win over the exporter's pod and container", map[string]string{
			"namespace": "monitoring", "pod": "kube-state-metrics-7d9c-x2x", "container": "kube-state-metrics",
			"exported_namespace": "shop", "exported_pod": "cart-5f7d8-abcde", "exported_container": "cart", "job": "kube-state-metrics"},
			investigate.Target{Kind: investigate.KindPod, Name: "cart-5f7d8-abcde", Namespace: "shop", Pod: "cart-5f7d8-abcde", Container: "cart"}},
		{"exported_pod without exported_container drops the exporter's container", map[string]string{
			"namespace": "observability", "pod": "custom-metrics-1", "container": "collector",
			"exported_namespace": "batch", "exported_pod": "etl-0"},
			investigate.Target{Kind: investigate.KindPod, Name: "etl-0", Namespace: "batch", Pod: "etl-0"}},
		{"exported_service and exported_namespace of an ingress controller's series: its pod is not the subject", map[string]string{
			"namespace": "ingress-nginx", "pod": "ingress-nginx-controller-6b7-zz", "service": "ingress-nginx-controller-metrics",
			"exported_namespace": "store", "exported_service": "storefront", "ingress": "storefront"},
			svc("store", "storefront")},

		// Istio.
		{"Istio destination_workload of unknown kind, reported by the source", map[string]string{
			"alertname": "HighRequestErrorRate", "reporter": "source", "namespace": "frontend", "pod": "web-6d5f-q1",
			"source_workload": "web", "source_workload_namespace": "frontend",
			"destination_workload": "reviews-v2", "destination_workload_namespace": "bookinfo",
			"destination_service": "reviews.bookinfo.svc.cluster.local", "destination_service_name": "reviews", "response_code": "503"},
			investigate.Target{Kind: investigate.KindWorkload, Name: "reviews-v2", Namespace: "bookinfo", Service: "reviews",
				Workload: investigate.Ref{Kind: investigate.KindWorkload, Name: "reviews-v2"}}},
		{"Istio destination's own pod (reporter destination) is kept", map[string]string{
			"reporter": "destination", "namespace": "pay", "pod": "ledger-7c9-abcde",
			"destination_workload": "ledger", "destination_workload_namespace": "pay", "destination_service_name": "ledger"},
			investigate.Target{Kind: investigate.KindPod, Name: "ledger-7c9-abcde", Namespace: "pay", Pod: "ledger-7c9-abcde", Service: "ledger",
				Workload: investigate.Ref{Kind: investigate.KindWorkload, Name: "ledger"}}},
		{"Istio destination service only, workload unknown", map[string]string{
			"namespace": "istio-system", "destination_workload": "unknown", "destination_service": "checkout.shop.svc.cluster.local",
			"destination_service_namespace": "shop"},
			svc("shop", "checkout")},

		// Linkerd: deployment/pod/namespace are the source proxy's.
		{"Linkerd dst_deployment wins over the source's deployment label", map[string]string{
			"namespace": "web", "deployment": "frontend", "pod": "frontend-5d-xx", "direction": "outbound",
			"dst_namespace": "api", "dst_deployment": "orders", "authority": "orders.api.svc.cluster.local:8080"},
			investigate.Target{Kind: investigate.KindDeployment, Name: "orders", Namespace: "api", Service: "orders",
				Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "orders"}}},
		{"Linkerd dst_statefulset", map[string]string{
			"namespace": "app", "deployment": "worker", "dst_namespace": "data", "dst_statefulset": "kv"},
			investigate.Target{Kind: investigate.KindStatefulSet, Name: "kv", Namespace: "data",
				Workload: investigate.Ref{Kind: investigate.KindStatefulSet, Name: "kv"}}},
		{"Linkerd authority alone", map[string]string{"namespace": "linkerd-viz", "authority": "search.catalog.svc.cluster.local:9200"},
			svc("catalog", "search")},

		// Cluster-DNS names in any label.
		{"an exporter's addr names the Service it watches", map[string]string{
			"alertname": "RedisDown", "job": "redis-exporter", "namespace": "cache", "pod": "redis-exporter-5b-k2", "instance": "10.244.1.9:9121",
			"addr": "redis://redis-master.cache.svc.cluster.local:6379"},
			investigate.Target{Kind: investigate.KindService, Name: "redis-master", Namespace: "cache", Service: "redis-master", Instance: "10.244.1.9:9121"}},
		{"a probe target with userinfo and a headless pod name", map[string]string{
			"alertname": "ProbeFailed", "namespace": "monitoring", "prometheus": prom,
			"target": "postgres://probe@pg-0.pg-headless.db.svc:5432/app"},
			svc("db", "pg-headless")},
		{"the API server's address is not the subject", map[string]string{
			"alertname": "SyncFailed", "namespace": "argocd", "dest_namespace": "billing", "dest_server": "https://kubernetes.default.svc"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "billing", Namespace: "billing"}},

		// An exporter's own pod when its labels name something else.
		{"postgres-exporter pod dropped for the database it reports", map[string]string{
			"alertname": "PostgresTooManyConnections", "job": "postgres-exporter", "namespace": "db", "pod": "postgres-exporter-6c-x1",
			"datname": "orders", "server": "orders-db.db.svc:5432"},
			svc("db", "orders-db")},
		{"kafka-exporter pod dropped, its topic kept as a clue", map[string]string{
			"alertname": "KafkaTopicLag", "job": "kafka-exporter", "namespace": "kafka", "pod": "kafka-exporter-7f-z9", "topic": "invoices.v1"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "kafka", Namespace: "kafka", Clues: "topic=invoices.v1 scraper=kafka-exporter"}},
		{"an exporter down is about the exporter's pod", map[string]string{
			"alertname": "TargetDown", "job": "redis-exporter", "namespace": "cache", "pod": "redis-exporter-5b-k2"},
			investigate.Target{Kind: investigate.KindPod, Name: "redis-exporter-5b-k2", Namespace: "cache", Pod: "redis-exporter-5b-k2"}},

		// Clues.
		{"consumer group and topic from an exporter in Prometheus' namespace", map[string]string{
			"alertname": "ConsumerLagHigh", "consumergroup": "billing-events", "topic": "billing.events", "job": "kafka-lag-exporter",
			"namespace": "monitoring", "prometheus": prom, "severity": "critical", "team": "billing"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "monitoring", Namespace: "monitoring",
				Clues: "consumergroup=billing-events topic=billing.events scraper=kafka-lag-exporter"}},
		{"Grafana's folder label is not a clue", map[string]string{
			"alertname": "QueueBacklog", "queue": "thumbnails", "vhost": "media", "job": "media-worker", "grafana_folder": "Kubernetes"},
			investigate.Target{Clues: "queue=thumbnails vhost=media job=media-worker"}},
		{"a queue alert of the application's own job", map[string]string{
			"alertname": "QueueBacklog", "queue": "thumbnails", "vhost": "media", "job": "media-worker"},
			investigate.Target{Clues: "queue=thumbnails vhost=media job=media-worker"}},
		{"kube-state-metrics labels are never clues", map[string]string{
			"alertname": "KubeQuotaAlmostFull", "job": "kube-state-metrics", "namespace": "shop", "resourcequota": "compute", "resource": "cpu"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},
		{"metric dimensions are not clues", map[string]string{
			"alertname": "HighLatency", "namespace": "shop", "method": "GET", "code": "500", "le": "0.5", "quantile": "0.99"},
			investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"}},

		// Must not: an alert that names its pod or workload directly.
		{"a pod named directly keeps its pod despite clues", map[string]string{
			"alertname": "ConsumerStuck", "namespace": "ledger", "pod": "poster-6d-abcde", "consumergroup": "ledger", "job": "poster"},
			investigate.Target{Kind: investigate.KindPod, Name: "poster-6d-abcde", Namespace: "ledger", Pod: "poster-6d-abcde"}},
		{"a report-exporter app pod named by kube-state-metrics stays the target", map[string]string{
			"alertname": "KubePodCrashLooping", "job": "kube-state-metrics", "namespace": "reporting", "pod": "report-exporter-1", "topic": "x.y"},
			investigate.Target{Kind: investigate.KindPod, Name: "report-exporter-1", Namespace: "reporting", Pod: "report-exporter-1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := investigate.TargetFromLabels(tt.labels); got != tt.want {
				t.Errorf("TargetFromLabels(%v) =\n  %+v\nwant\n  %+v", tt.labels, plain(got), plain(tt.want))
			}
		})
	}
}

func TestClueList(t *testing.T) {
	got := investigate.Target{Clues: "consumergroup=a-b topic=x.y scraper=kafka-exporter bad =v k="}.ClueList()
	want := []investigate.Clue{{Key: "consumergroup", Value: "a-b"}, {Key: "topic", Value: "x.y"}, {Key: "scraper", Value: "kafka-exporter"}}
	if len(got) != len(want) {
		t.Fatalf("ClueList = %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("ClueList[%d] = %v, want %v", i, got[i], want[i])
		}
	}
}
