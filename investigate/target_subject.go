package investigate

import (
	"sort"
	"strings"
)

// This file finds an alert's subject when its labels do not name it under
// the standard keys: a service mesh's destination labels, cluster-DNS
// names in any label, and — when nothing names an object — the alert's
// distinctive label values (Clues) the gatherer searches the workloads for.

// meshDest is what a service mesh's destination labels name.
type meshDest struct {
	Workload  Ref
	Service   string
	Namespace string
}

func (d meshDest) IsZero() bool { return d.Workload.IsZero() && d.Service == "" }

// meshDestination reads the destination of a mesh metric: Istio's
// destination_workload (+ destination_workload_namespace),
// destination_service_name (+ destination_service_namespace) and
// destination_service (a cluster FQDN); Linkerd's dst_deployment,
// dst_statefulset, dst_daemonset, dst_service (+ dst_namespace) and
// authority (name.ns.svc.cluster.local:port). Istio writes "unknown" for
// what it could not tell; such values are ignored.
func meshDestination(labels map[string]string) meshDest {
	val := func(k string) string {
		v := labels[k]
		if v == "" || v == "unknown" || !ValidName(v) {
			return ""
		}
		return v
	}
	var d meshDest
	for _, k := range []string{"destination_workload_namespace", "destination_service_namespace", "dst_namespace"} {
		if d.Namespace = val(k); d.Namespace != "" {
			break
		}
	}
	for _, w := range []struct {
		key  string
		kind Kind
	}{{"dst_deployment", KindDeployment}, {"dst_statefulset", KindStatefulSet}, {"dst_daemonset", KindDaemonSet}, {"destination_workload", KindWorkload}} {
		if v := val(w.key); v != "" {
			d.Workload = Ref{Kind: w.kind, Name: v}
			break
		}
	}
	for _, k := range []string{"destination_service", "authority", "dst_service", "destination_service_name"} {
		if svc, ns := serviceFromURL(labels[k]); svc != "" {
			d.Service = svc
			if d.Namespace == "" {
				d.Namespace = ns
			}
			break
		}
	}
	if d.Service == "" {
		for _, k := range []string{"destination_service_name", "dst_service"} {
			if v := val(k); v != "" && !strings.Contains(v, ".") {
				d.Service = v
				break
			}
		}
	}
	return d
}

// serviceInLabels finds a cluster-DNS name (svc.ns.svc[.cluster.local],
// a URL or host:port holding one) in the alert's labels other than
// instance (handled with the blackbox rules) and the client side's
// (source_*, src_*, client*): an exporter's addr, a probe's target, an
// upstream. Preferred keys first, then the others in key order.
func serviceInLabels(labels map[string]string) (svc, ns string) {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		switch {
		case k == "instance" || k == "prometheus" || k == "alertname",
			strings.HasPrefix(k, "source_"), strings.HasPrefix(k, "src_"), strings.HasPrefix(k, "client"):
			continue
		}
		keys = append(keys, k)
	}
	pref := map[string]int{"target": 1, "url": 2, "addr": 3, "address": 4, "endpoint": 5, "upstream": 6, "server": 7, "host": 8}
	sort.Slice(keys, func(i, j int) bool {
		pi, pj := pref[keys[i]], pref[keys[j]]
		if pi == 0 {
			pi = 100
		}
		if pj == 0 {
			pj = 100
		}
		if pi != pj {
			return pi < pj
		}
		return keys[i] < keys[j]
	})
	for _, k := range keys {
		// kubernetes.default.svc is the API server (a cluster address in
		// Argo CD's dest_server), never an application's Service.
		if svc, ns := serviceFromURL(labels[k]); svc != "" && !(svc == "kubernetes" && ns == "default") {
			return svc, ns
		}
	}
	return "", ""
}

// scrapedExporterPod reports whether the pod label names the exporter the
// series was scraped from rather than the subject: the scrape job is an
// exporter's and the pod is one too (kafka-exporter, redis-exporter,
// postgres-exporter…), not a pod some other exporter reports about.
func scrapedExporterPod(labels map[string]string, pod string) bool {
	return pod != "" && pod == labels["pod"] && strings.Contains(labels["job"], "exporter") && strings.Contains(pod, "exporter")
}

// notClue are label keys that never identify an alert's subject: alert
// metadata, the scrape target, Kubernetes objects handled elsewhere,
// HTTP and metric dimensions shared by every workload.
var notClue = map[string]bool{
	"alertname": true, "alertstate": true, "alertgroup": true, "severity": true, "severity_level": true, "priority": true, "page": true,
	"prometheus": true, "prometheus_replica": true, "replica": true, "cluster": true, "env": true, "environment": true, "stage": true,
	"region": true, "zone": true, "az": true, "datacenter": true, "dc": true, "team": true, "owner": true, "squad": true,
	"receiver": true, "tier": true, "job": true, "instance": true, "namespace": true, "pod": true, "pod_name": true,
	"container": true, "container_name": true, "service": true, "endpoint": true, "node": true, "nodename": true, "host": true,
	"hostname": true, "name": true, "app": true, "application": true, "component": true, "part_of": true, "version": true,
	"revision": true, "image": true, "le": true, "quantile": true, "reason": true, "status": true, "code": true,
	"status_code": true, "method": true, "verb": true, "handler": true, "path": true, "route": true, "uri": true, "url": true,
	"target": true, "module": true, "condition": true, "phase": true, "type": true, "resource": true, "unit": true, "uid": true,
	"metrics_path": true, "scheme": true, "reporter": true, "mode": true, "cpu": true, "device": true, "fstype": true,
	"mountpoint": true, "interface": true, "slo": true, "sli": true, "objective": true, "window": true, "runbook": true,
	"runbook_url": true, "dashboard": true, "summary": true, "description": true, "deployment": true, "statefulset": true,
	"daemonset": true, "job_name": true, "cronjob": true, "horizontalpodautoscaler": true, "poddisruptionbudget": true,
	"resourcequota": true, "persistentvolumeclaim": true, "persistentvolume": true, "storageclass": true, "configmap": true,
	"secret": true, "ingress": true, "lease": true, "networkpolicy": true, "created_by_kind": true, "created_by_name": true,
	"owner_kind": true, "owner_name": true, "owner_is_controller": true, "service_name": true, "authority": true,
	"addr": true, "address": true, "upstream": true, "server": true, "severity_name": true, "alert_type": true, "category": true,
}

// kubernetesJob reports whether a scrape job reports on Kubernetes itself
// (kube-state-metrics, the kubelet, node-exporter, the control plane,
// cluster DNS, blackbox probes): its labels name objects under the
// standard keys, never application clues.
func kubernetesJob(job string) bool {
	if isExporterService(job) {
		return true
	}
	for _, x := range []string{"apiserver", "kube-proxy", "kube-scheduler", "kube-controller-manager", "kube-etcd", "cadvisor", "probe"} {
		if strings.Contains(job, x) {
			return true
		}
	}
	return false
}

// cluesOf returns the distinctive label values of an application alert as
// "key=value" pairs ("consumergroup=orders queue=payments"), at most 8 in
// key order, followed by the scrape job: "job=NAME" when it is the
// application's own, "scraper=NAME" when it is an exporter (whose
// workload is then never taken for the subject). "" when the alert
// carries no distinctive value or comes from a job that reports on
// Kubernetes objects.
func cluesOf(labels map[string]string) string {
	job := labels["job"]
	if kubernetesJob(job) {
		return ""
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if notClue[k] || clueKeySkipped(k) {
			continue
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []string
	for _, k := range keys {
		v := labels[k]
		if !clueValue(v) || v == labels["namespace"] || v == labels["cluster"] || v == labels["alertname"] {
			continue
		}
		out = append(out, k+"="+v)
		if len(out) == 8 {
			break
		}
	}
	if len(out) == 0 {
		return ""
	}
	if clueValue(job) {
		if strings.Contains(job, "exporter") {
			out = append(out, "scraper="+job)
		} else {
			out = append(out, "job="+job)
		}
	}
	return strings.Join(out, " ")
}

func clueKeySkipped(k string) bool {
	for _, p := range []string{"exported_", "destination_", "source_", "dst_", "src_", "__", "sloth_", "client", "kubernetes_", "label_", "annotation_", "app_kubernetes_io_", "helm_", "grafana_"} {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	for _, s := range []string{"_namespace", "_pod", "_node", "_id", "_uid", "_ip", "_url", "_service", "_version", "_type", "_status", "_code"} {
		if strings.HasSuffix(k, s) {
			return true
		}
	}
	return false
}

// clueValue reports whether a label value can identify something: 3 to
// 128 characters of names (letters, digits, . _ - : / @), at least one
// letter, not a URL (cluster-DNS URLs are read as Services), not a boolean
// or placeholder word.
func clueValue(v string) bool {
	if len(v) < 3 || len(v) > 128 || strings.Contains(v, "://") {
		return false
	}
	letter := false
	for _, c := range v {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == ':', c == '/', c == '@':
		default:
			return false
		}
	}
	switch strings.ToLower(v) {
	case "true", "false", "none", "null", "nil", "unknown", "default", "all", "any", "yes", "no", "n/a":
		return false
	}
	return letter
}

// Clue is one distinctive label of an alert.
type Clue struct {
	Key, Value string
}

// ClueList parses Clues.
func (t Target) ClueList() []Clue {
	var out []Clue
	for _, f := range strings.Fields(t.Clues) {
		k, v, ok := strings.Cut(f, "=")
		if ok && k != "" && v != "" {
			out = append(out, Clue{Key: k, Value: v})
		}
	}
	return out
}
