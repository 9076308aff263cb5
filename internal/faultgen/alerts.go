package faultgen

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// alertDef is one alert rule firing: its labels (alertname and severity
// included) and annotations, the PromQL it fires on, and since when.
type alertDef struct {
	labels      map[string]string
	summary     string
	description string
	runbook     string // runbook path below runbooks.prometheus-operator.dev, or a full URL
	expr        string
	firing      time.Duration // how long before the snapshot it started
}

// alert builds the Alertmanager alert of d as kube-prometheus-stack sends it.
func (w *world) alert(d alertDef) investigate.Alert {
	labels := map[string]string{"prometheus": "monitoring/kube-prometheus-stack-prometheus", "cluster": w.cluster}
	for k, v := range d.labels {
		if v != "" {
			labels[k] = v
		}
	}
	ann := map[string]string{"summary": d.summary, "description": strings.ReplaceAll(d.description, "$cluster", w.cluster)}
	switch {
	case strings.HasPrefix(d.runbook, "https://"):
		ann["runbook_url"] = d.runbook
	case d.runbook != "":
		ann["runbook_url"] = "https://runbooks.prometheus-operator.dev/runbooks/" + d.runbook
	}
	if d.firing == 0 {
		d.firing = w.between(2*time.Minute, 6*time.Minute)
	}
	return investigate.Alert{Status: investigate.StatusFiring, Labels: labels, Annotations: ann,
		StartsAt:     w.now.Add(-d.firing).Truncate(time.Millisecond).Add(time.Duration(w.r.Intn(1000)) * time.Millisecond),
		EndsAt:       time.Time{},
		GeneratorURL: "https://prometheus." + w.domain + "/graph?g0.expr=" + url.QueryEscape(d.expr) + "&g0.tab=1",
		Fingerprint:  w.hex(16)}
}

// ksm returns the labels kube-state-metrics series carry.
func (w *world) ksm(extra ...string) map[string]string {
	m := map[string]string{"job": "kube-state-metrics", "service": "kube-prometheus-stack-kube-state-metrics", "endpoint": "http",
		"instance": fmt.Sprintf("10.244.%d.%d:8080", w.r.Intn(8), 2+w.r.Intn(250))}
	for i := 0; i+1 < len(extra); i += 2 {
		m[extra[i]] = extra[i+1]
	}
	return m
}

func (w *world) crashLooping(p *corev1.Pod, container string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubePodCrashLooping", "severity", "warning", "namespace", p.Namespace, "pod", p.Name, "container", container,
		"reason", "CrashLoopBackOff", "uid", string(p.UID)),
		summary:     "Pod is crash looping.",
		description: fmt.Sprintf("Pod %s/%s (%s) is in waiting state (reason: \"CrashLoopBackOff\") on cluster $cluster.", p.Namespace, p.Name, container),
		runbook:     "kubernetes/kubepodcrashlooping",
		expr:        `max_over_time(kube_pod_container_status_waiting_reason{job="kube-state-metrics",namespace=~".*",reason="CrashLoopBackOff"}[5m]) >= 1`}
}

func (w *world) podNotReady(p *corev1.Pod) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubePodNotReady", "severity", "warning", "namespace", p.Namespace, "pod", p.Name),
		summary:     "Pod has been in a non-ready state for more than 15 minutes.",
		description: fmt.Sprintf("Pod %s/%s has been in a non-ready state for longer than 15 minutes on cluster $cluster.", p.Namespace, p.Name),
		runbook:     "kubernetes/kubepodnotready",
		expr:        `sum by (namespace, pod, cluster) (max by (namespace, pod, cluster) (kube_pod_status_phase{job="kube-state-metrics",namespace=~".*",phase=~"Pending|Unknown|Failed"}) * on (namespace, pod, cluster) group_left (owner_kind) topk by (namespace, pod, cluster) (1, max by (namespace, pod, owner_kind, cluster) (kube_pod_owner{owner_kind!="Job"}))) > 0`}
}

func (w *world) containerWaiting(p *corev1.Pod, container, reason string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeContainerWaiting", "severity", "warning", "namespace", p.Namespace, "pod", p.Name, "container", container, "reason", reason),
		summary:     "Pod container waiting longer than 1 hour",
		description: fmt.Sprintf("pod/%s in namespace %s on container %s has been in waiting state for longer than 1 hour. (reason: %q) on cluster $cluster.", p.Name, p.Namespace, container, reason),
		runbook:     "kubernetes/kubecontainerwaiting",
		expr:        `kube_pod_container_status_waiting_reason{job="kube-state-metrics",namespace=~".*",reason!="CrashLoopBackOff"} > 0`}
}

// workloadAlert is the replicas-mismatch / rollout alert of the app's controller.
func (w *world) replicasMismatch(a *app) alertDef {
	switch {
	case a.sts != nil:
		return alertDef{labels: w.ksm("alertname", "KubeStatefulSetReplicasMismatch", "severity", "warning", "namespace", a.spec.ns, "statefulset", a.spec.name),
			summary:     "StatefulSet has not matched the expected number of replicas.",
			description: fmt.Sprintf("StatefulSet %s/%s has not matched the expected number of replicas for longer than 15 minutes on cluster $cluster.", a.spec.ns, a.spec.name),
			runbook:     "kubernetes/kubestatefulsetreplicasmismatch",
			expr:        `(kube_statefulset_status_replicas_ready{job="kube-state-metrics",namespace=~".*"} != kube_statefulset_replicas{job="kube-state-metrics",namespace=~".*"}) and (changes(kube_statefulset_status_replicas_updated{job="kube-state-metrics",namespace=~".*"}[10m]) == 0)`}
	case a.ds != nil:
		return alertDef{labels: w.ksm("alertname", "KubeDaemonSetRolloutStuck", "severity", "warning", "namespace", a.spec.ns, "daemonset", a.spec.name),
			summary:     "DaemonSet rollout is stuck.",
			description: fmt.Sprintf("DaemonSet %s/%s has not finished or progressed for at least 15m on cluster $cluster.", a.spec.ns, a.spec.name),
			runbook:     "kubernetes/kubedaemonsetrolloutstuck",
			expr:        `((kube_daemonset_status_current_number_scheduled{job="kube-state-metrics",namespace=~".*"} != kube_daemonset_status_desired_number_scheduled{job="kube-state-metrics",namespace=~".*"}) or (kube_daemonset_status_number_misscheduled{job="kube-state-metrics",namespace=~".*"} != 0) or (kube_daemonset_status_updated_number_scheduled{job="kube-state-metrics",namespace=~".*"} != kube_daemonset_status_desired_number_scheduled{job="kube-state-metrics",namespace=~".*"}) or (kube_daemonset_status_number_available{job="kube-state-metrics",namespace=~".*"} != kube_daemonset_status_desired_number_scheduled{job="kube-state-metrics",namespace=~".*"}))`}
	}
	return alertDef{labels: w.ksm("alertname", "KubeDeploymentReplicasMismatch", "severity", "warning", "namespace", a.spec.ns, "deployment", a.spec.name),
		summary:     "Deployment has not matched the expected number of replicas.",
		description: fmt.Sprintf("Deployment %s/%s has not matched the expected number of replicas for longer than 15 minutes on cluster $cluster.", a.spec.ns, a.spec.name),
		runbook:     "kubernetes/kubedeploymentreplicasmismatch",
		expr:        `(kube_deployment_spec_replicas{job="kube-state-metrics",namespace=~".*"} > kube_deployment_status_replicas_available{job="kube-state-metrics",namespace=~".*"}) and (changes(kube_deployment_status_replicas_updated{job="kube-state-metrics",namespace=~".*"}[10m]) == 0)`}
}

func (w *world) rolloutStuck(a *app) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeDeploymentRolloutStuck", "severity", "warning", "namespace", a.spec.ns, "deployment", a.spec.name, "condition", "Progressing", "status", "false"),
		summary:     "Deployment rollout is not progressing.",
		description: fmt.Sprintf("Rollout of deployment %s/%s is not progressing for longer than 15 minutes on cluster $cluster.", a.spec.ns, a.spec.name),
		runbook:     "kubernetes/kubedeploymentrolloutstuck",
		expr:        `kube_deployment_status_condition{condition="Progressing",job="kube-state-metrics",namespace=~".*",status="false"} != 0`}
}

// errorRate is an application SLO alert on the ingress controller's
// metrics, far from any cause: only the service and namespace are known.
func (w *world) errorRate(ns, service, host string) alertDef {
	name := camel(service) + pick(w.r, []string{"HighErrorRate", "ErrorBudgetBurn", "5xxRatioHigh"})
	expr := fmt.Sprintf(`sum by (namespace, service) (rate(nginx_ingress_controller_requests{namespace=%q,service=%q,status=~"5.."}[5m])) / sum by (namespace, service) (rate(nginx_ingress_controller_requests{namespace=%q,service=%q}[5m])) > 0.05`, ns, service, ns, service)
	pct := 20 + w.r.Intn(80)
	return alertDef{labels: map[string]string{"alertname": name, "severity": "critical", "namespace": ns, "service": service, "team": strings.SplitN(ns, "-", 2)[0]},
		summary:     fmt.Sprintf("High 5xx ratio on %s", host),
		description: fmt.Sprintf("%d%% of requests to service %s/%s returned 5xx over the last 5 minutes.", pct, ns, service),
		runbook:     "https://runbooks." + w.domain + "/" + ns + "/" + service + "-errors", expr: expr}
}

// probeFailed is a blackbox-exporter probe alert on a URL.
func (w *world) probeFailed(ns, service, target string) alertDef {
	return alertDef{labels: map[string]string{"alertname": "BlackboxProbeFailed", "severity": "critical", "namespace": ns, "service": service,
		"job": "blackbox-exporter", "instance": target, "target": target},
		summary:     fmt.Sprintf("Probe failed (instance %s)", target),
		description: fmt.Sprintf("Probe failed\n  VALUE = 0\n  LABELS = map[instance:%s job:blackbox-exporter namespace:%s service:%s]", target, ns, service),
		runbook:     "https://runbooks." + w.domain + "/blackbox/probe-failed", expr: `probe_success == 0`}
}

func (w *world) nodeNotReady(n *corev1.Node) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeNodeNotReady", "severity", "warning", "node", n.Name, "condition", "Ready", "status", "true"),
		summary:     "Node is not ready.",
		description: fmt.Sprintf("%s has been unready for more than 15 minutes on cluster $cluster.", n.Name),
		runbook:     "kubernetes/kubenodenotready",
		expr:        `kube_node_status_condition{job="kube-state-metrics",condition="Ready",status="true"} == 0`}
}

func (w *world) nodePressure(n *corev1.Node, condition string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeNodePressure", "severity", "info", "node", n.Name, "condition", condition, "status", "true"),
		summary:     "Node has as active Condition.",
		description: fmt.Sprintf("%s on cluster $cluster has active Condition %s. This is caused by resource usage exceeding eviction thresholds.", n.Name, condition),
		runbook:     "kubernetes/kubenodepressure",
		expr:        `kube_node_status_condition{job="kube-state-metrics",condition=~"(MemoryPressure|DiskPressure|PIDPressure)",status="true"} == 1 and on (cluster, node) kube_node_spec_unschedulable{job="kube-state-metrics"} == 0`}
}

func (w *world) nodeEviction(n *corev1.Node, signal string) alertDef {
	return alertDef{labels: map[string]string{"alertname": "KubeNodeEviction", "severity": "info", "node": n.Name, "eviction_signal": signal,
		"job": "kubelet", "metrics_path": "/metrics", "service": "kube-prometheus-stack-kubelet", "endpoint": "https-metrics", "instance": nodeIP(n) + ":10250"},
		summary:     "Node is evicting pods.",
		description: fmt.Sprintf("Node %s on $cluster is evicting Pods due to %s.  Eviction occurs when eviction thresholds are crossed, typically caused by Pods exceeding RAM/ephemeral-storage limits.", n.Name, signal),
		runbook:     "kubernetes/kubenodeeviction",
		expr:        `sum(rate(kubelet_evictions{job="kubelet", metrics_path="/metrics"}[15m])) by (cluster, eviction_signal, instance) * on (cluster, instance) group_left(node) max by (cluster, instance, node) (kubelet_node_name{job="kubelet", metrics_path="/metrics"}) > 0`}
}

func (w *world) jobFailed(ns, job string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeJobFailed", "severity", "warning", "namespace", ns, "job_name", job, "condition", "true"),
		summary:     "Job failed to complete.",
		description: fmt.Sprintf("Job %s/%s failed to complete. Removing failed job after investigation should clear this alert on cluster $cluster.", ns, job),
		runbook:     "kubernetes/kubejobfailed",
		expr:        `kube_job_failed{job="kube-state-metrics",namespace=~".*"} > 0`}
}

func (w *world) hpaMaxedOut(ns, hpa string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeHpaMaxedOut", "severity", "warning", "namespace", ns, "horizontalpodautoscaler", hpa),
		summary:     "HPA is running at max replicas",
		description: fmt.Sprintf("HPA %s/%s has been running at max replicas for longer than 15 minutes on cluster $cluster.", ns, hpa),
		runbook:     "kubernetes/kubehpamaxedout",
		expr:        `kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics",namespace=~".*"} == kube_horizontalpodautoscaler_spec_max_replicas{job="kube-state-metrics",namespace=~".*"}`}
}

func (w *world) hpaMismatch(ns, hpa string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeHpaReplicasMismatch", "severity", "warning", "namespace", ns, "horizontalpodautoscaler", hpa),
		summary:     "HPA has not matched desired number of replicas.",
		description: fmt.Sprintf("HPA %s/%s has not matched the desired number of replicas for longer than 15 minutes on cluster $cluster.", ns, hpa),
		runbook:     "kubernetes/kubehpareplicasmismatch",
		expr:        `(kube_horizontalpodautoscaler_status_desired_replicas{job="kube-state-metrics",namespace=~".*"} != kube_horizontalpodautoscaler_status_current_replicas{job="kube-state-metrics",namespace=~".*"})`}
}

func (w *world) cpuThrottling(p *corev1.Pod, container string, ratio float64) alertDef {
	return alertDef{labels: map[string]string{"alertname": "CPUThrottlingHigh", "severity": "info", "namespace": p.Namespace, "pod": p.Name, "container": container},
		summary:     "Processes experience elevated CPU throttling.",
		description: fmt.Sprintf("%.4g%% throttling of CPU in namespace %s for container %s in pod %s on cluster $cluster.", ratio*100, p.Namespace, container, p.Name),
		runbook:     "kubernetes/cputhrottlinghigh",
		expr:        `sum without (id, metrics_path, name, image, endpoint, job, node) (increase(container_cpu_cfs_throttled_periods_total{container!="",job="kubelet",metrics_path="/metrics/cadvisor"}[5m])) / on (cluster, namespace, pod, container, instance) group_left () sum without (id, metrics_path, name, image, endpoint, job, node) (increase(container_cpu_cfs_periods_total{job="kubelet",metrics_path="/metrics/cadvisor"}[5m])) > (25 / 100)`}
}

func (w *world) quotaFullyUsed(ns, quota, resource string) alertDef {
	return alertDef{labels: w.ksm("alertname", "KubeQuotaFullyUsed", "severity", "info", "namespace", ns, "resourcequota", quota, "resource", resource),
		summary:     "Namespace quota is fully used.",
		description: fmt.Sprintf("Namespace %s is using 100%% of its %s quota on cluster $cluster.", ns, resource),
		runbook:     "kubernetes/kubequotafullyused",
		expr:        `kube_resourcequota{job="kube-state-metrics",type="used"} / ignoring(instance, job, type) (kube_resourcequota{job="kube-state-metrics",type="hard"} > 0) == 1`}
}

func camel(s string) string {
	var b strings.Builder
	for _, part := range strings.Split(s, "-") {
		if part != "" {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}
