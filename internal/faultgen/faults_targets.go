package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/scenario"
)

// This file injects ordinary faults behind alerts whose labels do not name
// the broken object under the standard keys — the most common shape of
// application alerts: kube-state-metrics scraped without honor_labels
// (exported_*), a service mesh's destination labels (Istio, Linkerd), an
// exporter's address label holding a cluster-DNS name, an instance IP of
// the application's own pod, and a consumer group or queue that only the
// consumer's env or args carry.

// subjectFault builds the app of s broken by a fault whose verdict the
// rules know: OOMKilled at its memory limit (even variants) or an exit at
// start-up on an unset required environment variable (odd ones). It
// returns the app and the verdict; alsoAccept adds the categories the
// alert's own wording makes defensible.
func (w *world) subjectFault(s appSpec, v variant, alsoAccept ...investigate.Category) (*app, scenario.Expect) {
	since := w.between(25*time.Minute, 3*time.Hour)
	if v.n%2 == 0 {
		s.memLim = pick(w.r, []string{"256Mi", "384Mi", "512Mi", "768Mi"})
		s.memReq = s.memLim
		a := w.buildApp(s)
		for _, p := range a.pods {
			w.crashLoop(p, mainContainer(p), restart{exitCode: 137, reason: "OOMKilled", ran: w.between(3*time.Minute, 25*time.Minute), count: int32(4 + w.r.Intn(8)), since: since})
			t := w.now.Add(-20 * time.Minute)
			var lines []string
			for j := 0; j < 5; j++ {
				t = t.Add(w.between(20*time.Second, 3*time.Minute))
				lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"processed batch","batch":%d,"items":%d,"buffered":%d}`, ts(t), 900+j, 200+w.r.Intn(800), 90000*(j+1)+w.r.Intn(9000)))
			}
			w.log(s.ns, p.Name, mainContainer(p), true, lines...)
		}
		return a, expect(investigate.OOMKilled, append(cats{investigate.PodCrash, investigate.PodRestart}, alsoAccept...),
			fmt.Sprintf("Container %s of %s/%s is OOMKilled (exit code 137) at its memory limit of %s.", s.name, s.ns, s.name, s.memLim),
			g("oomkilled", "oom-killed", "oom killed", "out of memory", "oom"), g(strings.ToLower(s.memLim), strings.TrimSuffix(strings.ToLower(s.memLim), "i")))
	}
	missing := pick(w.r, []string{"DATABASE_URL", "REDIS_ADDR", "S3_BUCKET", "UPSTREAM_BASE_URL", "SMTP_HOST"})
	a := w.buildApp(s)
	w.crashAll(a, restart{exitCode: 1, reason: "Error", ran: 2 * time.Second, count: int32(6 + w.r.Intn(10)), since: since}, func(p *corev1.Pod) []string {
		t := w.now.Add(-3 * time.Minute)
		return []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"starting %s","version":"%s"}`, ts(t), s.name, s.version),
			fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"load config","error":"required environment variable %s is not set"}`, ts(t.Add(40*time.Millisecond)), missing)}
	})
	return a, expect(investigate.PodCrash, append(cats{investigate.PodRestart}, alsoAccept...),
		fmt.Sprintf("%s %s/%s exits at start-up because the environment variable %s is not set in its pod template.", s.kind, s.ns, s.name, missing),
		g(missing), g("environment variable", "env var", "not set", "missing", "unset", "keyerror", "is required", "required"))
}

// exporterApp builds a healthy exporter Deployment (kafka-exporter,
// redis-exporter…) in ns with env, returning its first pod.
func (w *world) exporterApp(ns, name string, port int32, env ...corev1.EnvVar) *corev1.Pod {
	s := w.defaultSpec(ns)
	s.name, s.serviceAccount, s.port = name, name, port
	s.portName = "metrics"
	s.image = w.image("platform", name, pick(w.r, []string{"1.7.0", "1.8.2", "0.14.1"}))
	s.replicas, s.probes = 1, false
	s.env = append(s.env, env...)
	a := w.buildApp(s)
	for _, p := range a.pods {
		w.log(ns, p.Name, name, false, fmt.Sprintf(`level=info ts=%s msg="Listening on" address=[::]:%d`, ts(w.now.Add(-w.between(2*time.Hour, 30*time.Hour))), port))
	}
	return a.pods[0]
}

// pullingNeighbour adds a Deployment to ns whose new rollout waits on an
// image tag the registry does not have: a second broken app the
// namespace alone does not tell apart from the subject.
func (w *world) pullingNeighbour(ns string) {
	hs := w.defaultSpec(ns)
	h := w.buildApp(hs)
	repo := strings.SplitN(hs.image, ":", 2)[0]
	image := repo + ":" + hs.version + "-rc" + fmt.Sprint(1+w.r.Intn(4))
	w.pullFailure(h, variant{}, image, fmt.Sprintf("rpc error: code = NotFound desc = failed to pull and unpack image %q: failed to resolve reference %q: %s: not found", image, image, image), nil)
}

// targetExportedLabels: kube-state-metrics scraped without honor_labels —
// its series keep the subject under exported_namespace/exported_pod(/
// exported_container), while namespace, pod and container name
// kube-state-metrics' own pod.
func targetExportedLabels(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a, e := w.subjectFault(s, v)
	p := a.pods[0]
	w.pullingNeighbour(s.ns)
	ksm := w.exporterApp("monitoring", "kube-state-metrics", 8080)
	labels := map[string]string{"job": "kube-state-metrics", "namespace": "monitoring", "pod": ksm.Name, "container": "kube-state-metrics",
		"service": "kube-state-metrics", "endpoint": "metrics", "instance": ksm.Status.PodIP + ":8080",
		"exported_namespace": p.Namespace, "exported_pod": p.Name}
	d := alertDef{labels: labels}
	if v.n%2 == 0 {
		labels["alertname"], labels["severity"], labels["reason"] = "KubePodCrashLooping", "warning", "CrashLoopBackOff"
		labels["exported_container"] = mainContainer(p)
		d.summary = "Pod is crash looping."
		d.description = fmt.Sprintf("Pod %s/%s (%s) is in waiting state (reason: \"CrashLoopBackOff\").", p.Namespace, p.Name, mainContainer(p))
		d.expr = `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1`
	} else {
		labels["alertname"], labels["severity"] = "KubePodNotReady", "warning"
		d.summary = "Pod has been in a non-ready state for more than 15 minutes."
		d.description = fmt.Sprintf("Pod %s/%s has been in a non-ready state for longer than 15 minutes.", p.Namespace, p.Name)
		d.expr = `sum by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown|Failed"}) > 0`
	}
	return result{ns: s.ns, alerts: []alertDef{d}, expect: e}
}

// callerApp builds a healthy client of the broken app in another
// namespace: the source side of mesh metrics.
func (w *world) callerApp() *app {
	cs := w.defaultSpec(w.namespace())
	cs.replicas = 2
	c := w.buildApp(cs)
	for _, p := range c.pods {
		w.log(cs.ns, p.Name, cs.name, false, w.healthyLog(cs, p, 4)...)
	}
	return c
}

// targetIstioDestination: an Istio request-error alert reported by the
// caller's sidecar (reporter="source"): namespace and pod are the
// caller's, the subject is destination_workload in
// destination_workload_namespace — a Deployment or a StatefulSet, which
// Istio does not say.
func targetIstioDestination(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a, e := w.subjectFault(s, v, investigate.ServiceDown, investigate.EndpointMissing)
	c := w.callerApp()
	fqdn := fmt.Sprintf("%s.%s.svc.cluster.local", a.spec.serviceName, s.ns)
	pct := 30 + w.r.Intn(60)
	labels := map[string]string{"alertname": pick(w.r, []string{"IstioHighRequestErrorRate", "MeshDestination5xxHigh"}), "severity": "critical",
		"reporter": "source", "namespace": c.spec.ns, "pod": c.pods[0].Name, "job": "istio-proxies",
		"source_workload": c.spec.name, "source_workload_namespace": c.spec.ns, "source_app": c.spec.name,
		"destination_workload": s.name, "destination_workload_namespace": s.ns, "destination_service": fqdn,
		"destination_service_name": a.spec.serviceName, "destination_service_namespace": s.ns, "destination_app": s.name,
		"response_code": "503", "response_flags": pick(w.r, []string{"UF", "URX", "UH"})}
	if v.n%2 == 1 {
		// The mesh-wide rule aggregates away the source.
		for _, k := range []string{"reporter", "pod", "source_workload", "source_workload_namespace", "source_app"} {
			delete(labels, k)
		}
		labels["namespace"] = "istio-system"
	}
	return result{ns: s.ns, alerts: []alertDef{{labels: labels,
		summary:     fmt.Sprintf("High 5xx rate to %s", fqdn),
		description: fmt.Sprintf("%d%% of requests to %s returned 503 over the last 5 minutes.", pct, fqdn),
		runbook:     "https://runbooks." + w.domain + "/mesh/destination-errors",
		expr:        `sum by (destination_workload, destination_workload_namespace, destination_service) (rate(istio_requests_total{response_code=~"5.."}[5m])) / sum by (destination_workload, destination_workload_namespace, destination_service) (rate(istio_requests_total[5m])) > 0.05`}},
		expect: e}
}

// targetLinkerdDestination: a Linkerd outbound alert from the caller's
// proxy: deployment, pod and namespace are the caller's; dst_deployment
// or dst_statefulset with dst_namespace, and authority, name the subject.
func targetLinkerdDestination(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a, e := w.subjectFault(s, v, investigate.ServiceDown, investigate.EndpointMissing)
	c := w.callerApp()
	authority := fmt.Sprintf("%s.%s.svc.cluster.local:%d", a.spec.serviceName, s.ns, a.spec.servicePort)
	labels := map[string]string{"alertname": pick(w.r, []string{"LinkerdOutboundFailureRate", "UpstreamSuccessRateLow"}), "severity": "critical",
		"namespace": c.spec.ns, "deployment": c.spec.name, "pod": c.pods[0].Name, "direction": "outbound", "tls": "true",
		"dst_namespace": s.ns, "authority": authority, "classification": "failure", "job": "linkerd-proxy"}
	if a.sts != nil {
		labels["dst_statefulset"] = s.name
	} else {
		labels["dst_deployment"] = s.name
	}
	return result{ns: s.ns, alerts: []alertDef{{labels: labels,
		summary:     fmt.Sprintf("Calls from %s to %s fail", c.spec.name, authority),
		description: fmt.Sprintf("The success rate of %s's outbound requests to %s fell below 80%%.", c.spec.name, authority),
		runbook:     "https://runbooks." + w.domain + "/mesh/outbound-failures",
		expr:        `sum by (namespace, deployment, dst_namespace, dst_deployment, dst_statefulset, authority) (rate(response_total{direction="outbound",classification="failure"}[5m])) / sum by (namespace, deployment, dst_namespace, dst_deployment, dst_statefulset, authority) (rate(response_total{direction="outbound"}[5m])) > 0.2`}},
		expect: e}
}

// targetExporterAddress: a database exporter's alert: job, pod and
// instance are the exporter's; its address label (redis_exporter's addr,
// postgres_exporter's server) holds the Service of the database, whose
// pods are the subject.
func targetExporterAddress(w *world, v variant) result {
	s := w.spec(v, kindStatefulSet, kindDeployment)
	a, e := w.subjectFault(s, v, investigate.ServiceDown, investigate.EndpointMissing)
	var labels map[string]string
	var d alertDef
	if v.n%2 == 0 {
		addr := fmt.Sprintf("redis://%s.%s.svc:%d", a.spec.serviceName, s.ns, a.spec.servicePort)
		exp := w.exporterApp(s.ns, s.name+"-redis-exporter", 9121, corev1.EnvVar{Name: "REDIS_ADDR", Value: addr})
		labels = map[string]string{"alertname": "RedisDown", "severity": "critical", "job": s.name + "-redis-exporter", "namespace": s.ns,
			"pod": exp.Name, "container": s.name + "-redis-exporter", "instance": exp.Status.PodIP + ":9121", "addr": addr}
		d = alertDef{summary: "Redis down (instance " + exp.Status.PodIP + ":9121)", description: "Redis instance is down\n  VALUE = 0",
			expr: `redis_up == 0`}
	} else {
		server := fmt.Sprintf("%s.%s.svc.cluster.local:%d", a.spec.serviceName, s.ns, a.spec.servicePort)
		ens := w.namespace()
		exp := w.exporterApp(ens, "postgres-exporter", 9187, corev1.EnvVar{Name: "DATA_SOURCE_URI", Value: server + "/app?sslmode=require"})
		labels = map[string]string{"alertname": "PostgresqlDown", "severity": "critical", "job": "postgres-exporter", "namespace": ens,
			"pod": exp.Name, "instance": exp.Status.PodIP + ":9187", "server": server}
		d = alertDef{summary: "Postgresql down (instance " + exp.Status.PodIP + ":9187)", description: "Postgresql instance is down\n  VALUE = 0",
			expr: `pg_up == 0`}
	}
	d.labels = labels
	d.runbook = "https://runbooks." + w.domain + "/databases/down"
	return result{ns: s.ns, alerts: []alertDef{d}, expect: e}
}

// targetInstanceIP: the application's own scrape series, aggregated by
// instance: the only pointer to the subject is the pod's IP:port (with
// the namespace in one variant, without in the other). A second broken
// app in the namespace is a red herring the namespace alone would not
// tell apart.
func targetInstanceIP(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a, e := w.subjectFault(s, v, investigate.ServiceDown, investigate.EndpointMissing)
	p := a.pods[len(a.pods)-1]
	w.uniquePodIP(p)
	labels := map[string]string{"alertname": camel(s.name) + pick(w.r, []string{"InstanceUnhealthy", "ScrapeErrors", "InstanceDown"}), "severity": "warning",
		"job": a.spec.serviceName, "instance": fmt.Sprintf("%s:%d", p.Status.PodIP, s.port)}
	if v.n%2 == 0 {
		labels["namespace"] = s.ns
		w.pullingNeighbour(s.ns)
	}
	return result{ns: s.ns, alerts: []alertDef{{labels: labels,
		summary:     "An instance of " + s.name + " is unhealthy",
		description: fmt.Sprintf("Instance %s of job %s has failed its health checks for 5 minutes.", labels["instance"], labels["job"]),
		runbook:     "https://runbooks." + w.domain + "/" + s.name + "/instance",
		expr:        fmt.Sprintf(`sum by (instance, job) (up{job=%q}) == 0`, labels["job"])}},
		expect: e}
}

// uniquePodIP gives p an IP no other pod of the world holds.
func (w *world) uniquePodIP(p *corev1.Pod) {
	used := map[string]bool{}
	for _, o := range w.objs {
		if q, ok := o.(*corev1.Pod); ok && q != p {
			used[q.Status.PodIP] = true
		}
	}
	for used[p.Status.PodIP] {
		p.Status.PodIP = fmt.Sprintf("10.%d.%d.%d", 200+w.r.Intn(50), w.r.Intn(250), 2+w.r.Intn(250))
	}
	p.Status.PodIPs = []corev1.PodIP{{IP: p.Status.PodIP}}
}

// targetConsumerClue: a lag alert from an exporter that reads the broker
// (kafka-lag-exporter, rabbitmq-exporter) in the monitoring namespace:
// its labels name a consumer group and topic, or a queue and vhost, that
// only the consumer's env or args carry. A producer of the same topic or
// queue (healthy) and the exporter itself are red herrings.
func targetConsumerClue(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	ps := w.defaultSpec(s.ns)
	var labels map[string]string
	var d alertDef
	if v.n%2 == 0 {
		group := s.ns + "-" + strings.Split(s.name, "-")[0] + pick(w.r, []string{"-consumer", "-cg", "-group"})
		topic := s.ns + "." + strings.Split(s.name, "-")[0] + pick(w.r, []string{".events", ".v1", ".postings"})
		s.env = append(s.env, corev1.EnvVar{Name: "KAFKA_BROKERS", Value: "kafka-bootstrap.kafka.svc:9092"},
			corev1.EnvVar{Name: "KAFKA_GROUP_ID", Value: group}, corev1.EnvVar{Name: "KAFKA_TOPIC", Value: topic})
		ps.env = append(ps.env, corev1.EnvVar{Name: "KAFKA_TOPIC", Value: topic})
		w.exporterApp("monitoring", "kafka-lag-exporter", 8000)
		lag := 20000 + w.r.Intn(80000)
		labels = map[string]string{"alertname": pick(w.r, []string{"KafkaConsumerLagHigh", "ConsumerGroupLagGrowing"}), "severity": "critical",
			"job": "kafka-lag-exporter", "namespace": "monitoring", "consumergroup": group, "topic": topic}
		d = alertDef{summary: "Consumer group is falling behind",
			description: fmt.Sprintf("Consumer group %s is %d messages behind on %s.", group, lag, topic),
			expr:        fmt.Sprintf(`sum by (consumergroup, topic) (kafka_consumergroup_group_lag{consumergroup=%q}) > 10000`, group)}
	} else {
		queue := strings.Split(s.name, "-")[0] + pick(w.r, []string{"-jobs", ".tasks", "-inbound"})
		s.args = []string{"--amqp-url=amqp://rabbitmq.messaging.svc:5672/" + s.ns, "--queue=" + queue, "--prefetch=20"}
		ps.args = []string{"--publish-to=" + queue}
		w.exporterApp("monitoring", "rabbitmq-exporter", 9419)
		labels = map[string]string{"alertname": pick(w.r, []string{"RabbitmqQueueBacklog", "QueueMessagesReadyHigh"}), "severity": "warning",
			"job": "rabbitmq-exporter", "namespace": "monitoring", "queue": queue, "vhost": s.ns}
		d = alertDef{summary: "Messages pile up in a queue",
			description: fmt.Sprintf("Queue %s in vhost %s holds %d ready messages and no consumer acknowledges them.", queue, s.ns, 5000+w.r.Intn(40000)),
			expr:        fmt.Sprintf(`rabbitmq_queue_messages_ready{queue=%q} > 1000`, queue)}
	}
	_, e := w.subjectFault(s, v)
	prod := w.buildApp(ps)
	for _, p := range prod.pods {
		w.log(ps.ns, p.Name, ps.name, false, w.healthyLog(ps, p, 4)...)
	}
	d.labels = labels
	d.runbook = "https://runbooks." + w.domain + "/queues/backlog"
	return result{ns: s.ns, alerts: []alertDef{d}, expect: e}
}
