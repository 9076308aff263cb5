package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// Classes for rules that had only unit tests: the search-list expansion of
// external names under ClusterFirst, and a pod filling its node's disk
// through a hostPath or an unbounded emptyDir because its destination
// refuses what it sends.

// externalHosts are vendor-style host names with one or two dots, fewer
// than the kubelet's default ndots:5.
var externalHosts = []string{"api.mailgun-eu.example", "hooks.partner-crm.example", "events.billing-vendor.example",
	"ingest.metrics-saas.example", "rates.fx-provider.example", "sms.gateway-co.example", "auth.idp-cloud.example"}

// nodeSearchDomains are search domains a node's own resolv.conf adds after
// the cluster's (the cloud's internal zone, a corporate domain).
var nodeSearchDomains = []string{"eu-central-1.compute.internal", "corp.example.net", "c.prod-project.internal", "lan.office.example"}

// dnsNdotsExpansion: an application calls an external host by a name
// without a trailing dot under dnsPolicy ClusterFirst; the resolver tries
// it with every search suffix first, and CoreDNS logs the expanded names
// (NXDOMAIN from the cluster zone, timeouts for the node's search domains
// it forwards). Variant 0: a Deployment with the default ndots:5 whose
// client (Go, .NET or Python) gives up and exits (a crash-loop alert),
// CoreDNS's errors plugin with timeouts and its concurrency limit;
// variant 1: a StatefulSet with ndots:3 or 4 in its dnsConfig, a Java,
// Node or Python client, a latency alert, CoreDNS's log plugin with
// NXDOMAIN answers. A neighbour resolving a
// fully qualified name (trailing dot) is a red herring.
func dnsNdotsExpansion(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	host := pick(w.r, externalHosts)
	search := pick(w.r, nodeSearchDomains)
	ndots := "5"
	var dnsConfig *corev1.PodDNSConfig
	if v.n%2 == 1 {
		ndots = fmt.Sprint(3 + w.r.Intn(2))
		dnsConfig = &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: ptr(ndots)}, {Name: "timeout", Value: ptr("2")}}}
	}
	a := w.buildApp(s)
	if dnsConfig != nil {
		setDNSConfig(a, dnsConfig)
	}
	// The application's own failures: lookups that time out.
	runtime := pick(w.r, [][]string{{"go", "dotnet", "python"}, {"java", "node", "python"}}[v.n%2])
	w.errorLogs(a, func(t time.Time) string { return w.lookupFailure(runtime, host, t) })
	// A neighbour writes its external name fully qualified: CoreDNS sees it
	// as given, once.
	ns := w.defaultSpec(s.ns)
	nb := w.buildApp(ns)
	other := pick(w.r, []string{"sts.cloud-vendor.example", "storage.blob-host.example", "queue.cloud-vendor.example"})
	for _, p := range nb.pods {
		w.log(s.ns, p.Name, ns.name, false, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"upstream ok","url":"https://%s./v1/ping","ms":%d}`, ts(w.now.Add(-time.Minute)), other, 20+w.r.Intn(80)))
	}
	// CoreDNS: the expanded names, then the name as given.
	suffixes := []string{s.ns + ".svc.cluster.local", "svc.cluster.local", "cluster.local", search}
	up := fmt.Sprintf("10.%d.%d.2", 20+w.r.Intn(40), w.r.Intn(250))
	for _, p := range w.coreDNS.pods {
		var lines []string
		t := w.now.Add(-6 * time.Minute)
		client := a.pods[w.r.Intn(len(a.pods))].Status.PodIP
		for i := 0; i < 9; i++ {
			t = t.Add(w.between(2*time.Second, 20*time.Second))
			qtype := pick(w.r, []string{"A", "AAAA"})
			if v.n%2 == 0 {
				// errors plugin: only failures are logged; the node's search
				// domain is forwarded upstream and times out.
				if i%4 == 3 {
					lines = append(lines, fmt.Sprintf("[ERROR] plugin/errors: 2 %s. %s: concurrent queries exceeded maximum 1000", host, qtype))
					continue
				}
				lines = append(lines, fmt.Sprintf("[ERROR] plugin/errors: 2 %s.%s. %s: read udp %s:%d->%s:53: i/o timeout", host, search, qtype, p.Status.PodIP, 30000+w.r.Intn(30000), up))
				continue
			}
			// log plugin: every query, the cluster suffixes answered NXDOMAIN.
			sfx := suffixes[i%len(suffixes)]
			lines = append(lines, fmt.Sprintf(`[INFO] %s:%d - %d "%s IN %s.%s. udp %d false 512" NXDOMAIN qr,aa,rd %d 0.000%ds`,
				client, 30000+w.r.Intn(30000), w.r.Intn(65535), qtype, host, sfx, 40+len(host)+len(sfx), 140+w.r.Intn(30), 1+w.r.Intn(9)))
		}
		lines = append(lines, fmt.Sprintf(`[INFO] %s:%d - %d "A IN %s. udp %d false 512" NOERROR qr,rd,ra %d 0.0%ds`,
			nb.pods[0].Status.PodIP, 30000+w.r.Intn(30000), w.r.Intn(65535), other, 40+len(other), 90+w.r.Intn(40), 10+w.r.Intn(80)))
		w.log("kube-system", p.Name, "coredns", false, lines...)
	}
	// Variant 0's client gives up and exits: a crash-loop alert, far from
	// the cause.
	alert := w.errorRate(s.ns, s.name, s.name+"."+w.domain)
	also := cats{investigate.ServiceDown, investigate.EndpointMissing}
	if v.n%2 == 0 {
		since := w.between(15*time.Minute, 50*time.Minute)
		for _, p := range a.pods {
			w.crashLoop(p, mainContainer(p), restart{exitCode: 1, reason: "Error", ran: w.between(40*time.Second, 3*time.Minute), count: int32(3 + w.r.Intn(6)), since: since})
		}
		alert = w.crashLooping(a.pods[0], mainContainer(a.pods[0]))
		also = cats{investigate.PodCrash, investigate.PodRestart}
	} else {
		alert = alertDef{labels: map[string]string{"alertname": camel(s.name) + pick(w.r, []string{"LatencyHigh", "SlowUpstreamCalls"}), "severity": "warning", "namespace": s.ns, "service": s.name},
			summary:     "Outbound calls are slow",
			description: fmt.Sprintf("p99 latency of %s's calls to its provider is %.1fs over the last 10 minutes.", s.name, 4+w.r.Float64()*8),
			runbook:     "https://runbooks." + w.domain + "/" + s.ns + "/latency",
			expr:        fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_client_request_duration_seconds_bucket{namespace=%q}[5m]))) > 2`, s.ns)}
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.DNSIssues, also,
			fmt.Sprintf("%s resolves %s without a trailing dot under dnsPolicy ClusterFirst with ndots:%s: the name has fewer dots than ndots, so each lookup is first tried with every search suffix (%s), and CoreDNS receives several failing queries per lookup.", s.name, host, ndots, strings.Join(suffixes, ", ")),
			g("ndots"), g(host), g("search", "suffix", "trailing dot", "fully qualified"))}
}

// lookupFailure is a failed lookup of host as a widely used runtime's HTTP
// client logs it.
func (w *world) lookupFailure(runtime, host string, t time.Time) string {
	switch runtime {
	case "go":
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"delivery failed","error":"Post \"https://%s/v2/messages\": dial tcp: lookup %s on %s:53: i/o timeout","attempt":%d}`,
			ts(t), host, host, w.dnsIP, 1+w.r.Intn(5))
	case "dotnet":
		return fmt.Sprintf(`%s fail: System.Net.Http.HttpClient.Upstream[%d] System.Net.Http.HttpRequestException: Resource temporarily unavailable (%s:443) ---> System.Net.Sockets.SocketException (11): Resource temporarily unavailable`,
			t.UTC().Format(time.RFC3339), 100+w.r.Intn(900), host)
	case "python":
		return fmt.Sprintf(`%s ERROR worker: request failed: HTTPSConnectionPool(host='%s', port=443): Max retries exceeded with url: /v1/events (Caused by NameResolutionError("<urllib3.connection.HTTPSConnection object at 0x7f%s>: Failed to resolve '%s' ([Errno -3] Temporary failure in name resolution)"))`,
			t.UTC().Format("2006-01-02 15:04:05,000"), host, w.hex(6), host)
	case "node":
		return fmt.Sprintf(`{"level":50,"time":%d,"msg":"upstream call failed","err":{"type":"Error","message":"getaddrinfo EAI_AGAIN %s","code":"EAI_AGAIN","syscall":"getaddrinfo","hostname":"%s"}}`,
			t.UnixMilli(), host, host)
	}
	return fmt.Sprintf(`%s WARN  [pool-%d-thread-%d] c.e.client.Upstream - call failed: java.net.UnknownHostException: %s: Temporary failure in name resolution`,
		t.UTC().Format("2006-01-02 15:04:05.000"), 1+w.r.Intn(4), 1+w.r.Intn(16), host)
}

// setDNSConfig sets the pod template's and the pods' dnsConfig.
func setDNSConfig(a *app, c *corev1.PodDNSConfig) {
	switch {
	case a.dep != nil:
		a.dep.Spec.Template.Spec.DNSConfig = c
		a.rs.Spec.Template.Spec.DNSConfig = c
	case a.sts != nil:
		a.sts.Spec.Template.Spec.DNSConfig = c
	case a.ds != nil:
		a.ds.Spec.Template.Spec.DNSConfig = c
	}
	for _, p := range a.pods {
		p.Spec.DNSConfig = c
	}
}

// nodeDiskHostBuffer: a node has DiskPressure because a pod on it keeps
// what its destination refuses in a volume on the node's disk. Variant 0: a
// log-shipping DaemonSet buffering to a writable hostPath of its own (and
// reading /var/log read-only) while its sink answers 429; variant 1: a
// Deployment spooling to an emptyDir without sizeLimit while its broker or
// API answers 503. The kubelet evicts small neighbours, which frees
// nothing; image garbage collection finds nothing to free.
func nodeDiskHostBuffer(w *world, v variant) result {
	n := w.nodes[0]
	since := w.between(10*time.Minute, 40*time.Minute)
	var writer *app
	var where string
	var lines []string
	t := w.now.Add(-8 * time.Minute)
	if v.n%2 == 0 {
		ws := w.defaultSpec(pick(w.r, []string{"logging", "observability", "telemetry"}))
		ws.kind, ws.service, ws.probes = kindDaemonSet, false, false
		ws.name = pick(w.r, []string{"log-forwarder", "fluent-bit", "vector-agent", "otel-node-agent"})
		ws.image = w.registry + "/mirror/" + ws.name + ":" + w.version()
		ws.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
		where = "/var/lib/" + ws.name + pick(w.r, []string{"-buffer", "/storage", "/spool"})
		ws.volumes = []corev1.Volume{
			{Name: "varlog", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
			{Name: "buffer", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: where, Type: ptr(corev1.HostPathDirectoryOrCreate)}}},
		}
		ws.mounts = []corev1.VolumeMount{{Name: "varlog", MountPath: "/var/log", ReadOnly: true}, {Name: "buffer", MountPath: "/buffer"}}
		writer = w.buildApp(ws)
		sink := pick(w.r, []string{"logs-ingest.observability-vendor.example", "loki-gateway.logging.svc:3100", "es-ingest.search.example"})
		for i := 0; i < 6; i++ {
			t = t.Add(w.between(20*time.Second, 70*time.Second))
			if i%2 == 0 {
				lines = append(lines, fmt.Sprintf("[%s] [ warn] [engine] failed to flush chunk '1-%d.%d.flb', retry in %d seconds: task_id=%d, output=http.0 (HTTP status=429 Too Many Requests from %s)",
					t.UTC().Format("2006/01/02 15:04:05"), w.r.Intn(1<<30), w.r.Intn(1000), 10+w.r.Intn(50), w.r.Intn(500), sink))
			} else {
				lines = append(lines, fmt.Sprintf("[%s] [ info] [storage] backlog: %d chunks (%.1fG) on disk at /buffer, %d up, %d down",
					t.UTC().Format("2006/01/02 15:04:05"), 20000+w.r.Intn(60000), 30+w.r.Float64()*40, 128, 20000+w.r.Intn(60000)))
			}
		}
	} else {
		ws := w.defaultSpec(w.namespace())
		ws.name = pick(w.r, []string{"event-relay", "export-spooler", "audit-forwarder", "order-outbox"})
		ws.image = w.image(ws.ns, ws.name, ws.version)
		ws.replicas, ws.nodes = 1, []*corev1.Node{n}
		vol := pick(w.r, []string{"spool", "outbox", "queue-data"})
		where = "emptyDir " + vol
		ws.volumes = []corev1.Volume{{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		ws.mounts = []corev1.VolumeMount{{Name: vol, MountPath: "/var/" + vol}}
		writer = w.buildApp(ws)
		// A higher priority than its neighbours: the kubelet ranks pods
		// over their requests by priority, so the neighbours go first.
		setPriority(writer, pick(w.r, []string{"business-critical", "tier-1", "high-priority"}), 100000+int32(w.r.Intn(900000)))
		dest := pick(w.r, []string{"https://ingest.partner-analytics.example/v1/batch", "http://warehouse-loader.data.svc:8080/load"})
		for i := 0; i < 6; i++ {
			t = t.Add(w.between(20*time.Second, 70*time.Second))
			lines = append(lines, fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"failed to send batch, will retry","dest":%q,"status":503,"queued_files":%d,"spool":"/var/%s"}`,
				ts(t), dest, 100000+i*7000+w.r.Intn(5000), vol))
		}
	}
	w.diskHerrings(n)
	var wp *corev1.Pod
	for _, p := range writer.pods {
		if p.Spec.NodeName == n.Name {
			wp = p
		}
	}
	if wp == nil {
		wp = writer.pods[0]
	}
	w.log(wp.Namespace, wp.Name, writer.spec.name, false, lines...)
	w.setNodeCondition(n, corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure", since)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	w.event(n, ev{reason: "EvictionThresholdMet", component: "kubelet", host: n.Name, count: int32(3 + w.r.Intn(5)), first: since, last: w.between(time.Minute, 5*time.Minute), message: "Attempting to reclaim ephemeral-storage"})
	w.event(n, ev{reason: "FreeDiskSpaceFailed", component: "kubelet", host: n.Name, count: int32(2 + w.r.Intn(4)), first: since, last: w.between(time.Minute, 5*time.Minute),
		message: fmt.Sprintf("Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found 0 bytes eligible to free.", 6_000_000_000+w.r.Int63n(9_000_000_000))})
	// Small neighbours are evicted; their replacements run elsewhere.
	s := w.spec(v)
	s.nodes = []*corev1.Node{n}
	victims := w.buildApp(s)
	w.evicted(victims.pods[0], fmt.Sprintf("The node was low on resource: ephemeral-storage. Threshold quantity: 10%%, available: %dKi. Container %s was using %dKi, request is 0, has larger consumption of ephemeral-storage. ",
		5_000_000+w.r.Intn(2_000_000), s.name, 20_000+w.r.Intn(80_000)), since-2*time.Minute)
	alerts := []alertDef{w.nodePressure(n, "DiskPressure")}
	if v.n%2 == 1 {
		alerts = []alertDef{w.nodeEviction(n, "nodefs.available")}
	}
	how := "hostPath " + where
	if v.n%2 == 1 {
		how = where + " without sizeLimit"
	}
	return result{ns: writer.spec.ns, alerts: alerts,
		expect: expect(investigate.DiskPressure, cats{investigate.PodRestart, investigate.NodeNotReady},
			fmt.Sprintf("Node %s has DiskPressure: %s %s/%s buffers on the node's disk (%s) what its destination refuses (its log shows failed sends and retries); evicting neighbours frees nothing.", n.Name, writer.kindName(), wp.Namespace, wp.Name, how),
			g(n.Name), g(writer.spec.name), g("hostpath", "emptydir"), g("refuses", "429", "503", "buffer", "backlog", "retr"))}
}

// diskHerrings adds, on node n, pods that write to the node's disk and
// deliver what they write: the network plugin's agent (system-node-critical,
// writable hostPaths for its binaries and state) and an application with a
// scratch emptyDir without sizeLimit whose log shows no refusal.
func (w *world) diskHerrings(n *corev1.Node) {
	plugin := pick(w.r, []string{"calico-node", "cilium", "aws-node"})
	cs := w.defaultSpec("kube-system")
	cs.kind, cs.name, cs.serviceAccount, cs.service, cs.probes = kindDaemonSet, plugin, plugin, false, false
	cs.image = w.registry + "/mirror/" + plugin + ":" + w.version()
	cs.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	cs.volumes = []corev1.Volume{
		{Name: "cni-bin", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/opt/cni/bin", Type: ptr(corev1.HostPathDirectoryOrCreate)}}},
		{Name: "state", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/lib/" + plugin, Type: ptr(corev1.HostPathDirectoryOrCreate)}}},
	}
	cs.mounts = []corev1.VolumeMount{{Name: "cni-bin", MountPath: "/host/opt/cni/bin"}, {Name: "state", MountPath: "/var/lib/" + plugin}}
	ca := w.buildApp(cs)
	setPriority(ca, "system-node-critical", 2000001000)
	for _, p := range ca.pods {
		w.log("kube-system", p.Name, plugin, false, fmt.Sprintf(`%s level=info msg="Synced state to /var/lib/%s" subsys=daemon`, ts(w.now.Add(-time.Minute)), plugin))
	}
	as := w.defaultSpec(w.namespace())
	as.replicas, as.nodes = 1, []*corev1.Node{n}
	as.volumes = []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
	as.mounts = []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}}
	a := w.buildApp(as)
	for _, p := range a.pods {
		w.log(as.ns, p.Name, as.name, false, w.healthyLog(as, p, 4)...)
	}
}

// setPriority sets the priority class of the app's pod templates and pods.
func setPriority(a *app, class string, value int32) {
	var ts []*corev1.PodTemplateSpec
	switch {
	case a.dep != nil:
		ts = []*corev1.PodTemplateSpec{&a.dep.Spec.Template, &a.rs.Spec.Template}
	case a.sts != nil:
		ts = []*corev1.PodTemplateSpec{&a.sts.Spec.Template}
	case a.ds != nil:
		ts = []*corev1.PodTemplateSpec{&a.ds.Spec.Template}
	}
	for _, t := range ts {
		t.Spec.PriorityClassName, t.Spec.Priority = class, ptr(value)
	}
	for _, p := range a.pods {
		p.Spec.PriorityClassName, p.Spec.Priority = class, ptr(value)
	}
}

// kindName is the API kind of the app's controller.
func (a *app) kindName() string {
	switch {
	case a.dep != nil:
		return "Deployment"
	case a.sts != nil:
		return "StatefulSet"
	case a.ds != nil:
		return "DaemonSet"
	}
	return "Pod"
}

// targetConfigMapClue: a lag or backlog alert from a broker exporter whose
// labels (consumer group and topic, or queue and vhost) only a ConfigMap
// the consumer reads carries: through envFrom (variant 0), or as a mounted
// configuration file (variant 1). A producer carrying the same topic or
// queue in its own env or args, and the exporter, are red herrings.
func targetConfigMapClue(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	ps := w.defaultSpec(s.ns)
	base := strings.Split(s.name, "-")[0]
	cmName := s.name + pick(w.r, []string{"-config", "-settings", "-env"})
	age := w.between(2*24*time.Hour, 30*24*time.Hour)
	var d alertDef
	if v.n%2 == 0 {
		group := base + pick(w.r, []string{"-consumers", "-readers", "-sink"})
		topic := s.ns + "." + base + pick(w.r, []string{".changes", ".v2", ".records"})
		w.configMap(s.ns, cmName, map[string]string{"KAFKA_BOOTSTRAP": "kafka-bootstrap.kafka.svc:9092", "CONSUMER_GROUP": group, "INPUT_TOPIC": topic, "MAX_POLL_RECORDS": "500"}, age)
		s.envFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}}}
		ps.env = append(ps.env, corev1.EnvVar{Name: "OUTPUT_TOPIC", Value: topic})
		w.exporterApp("monitoring", pick(w.r, []string{"kafka-exporter", "kafka-lag-exporter"}), 9308)
		d = alertDef{labels: map[string]string{"alertname": pick(w.r, []string{"KafkaConsumergroupLag", "ConsumerLagGrowing"}), "severity": "warning",
			"namespace": "monitoring", "job": "kafka-exporter", "consumergroup": group, "topic": topic},
			summary:     "Kafka consumer group lag is growing",
			description: fmt.Sprintf("Consumer group %s lags %d messages behind on topic %s.", group, 30000+w.r.Intn(90000), topic),
			expr:        fmt.Sprintf(`sum by (consumergroup, topic) (kafka_consumergroup_lag{consumergroup=%q}) > 20000`, group)}
	} else {
		queue := base + pick(w.r, []string{"-work", ".incoming", "-batch"})
		file := pick(w.r, []string{"worker.yaml", "consumer.yml", "app.properties"})
		body := fmt.Sprintf("broker: amqp://rabbitmq.messaging.svc:5672/%s\nqueue: %s\nprefetch: %d\n", s.ns, queue, 10+w.r.Intn(40))
		if strings.HasSuffix(file, ".properties") {
			body = fmt.Sprintf("amqp.uri=amqp://rabbitmq.messaging.svc:5672/%s\namqp.queue=%s\namqp.prefetch=%d\n", s.ns, queue, 10+w.r.Intn(40))
		}
		w.configMap(s.ns, cmName, map[string]string{file: body}, age)
		s.volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}}}}
		s.mounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/" + base, ReadOnly: true}}
		s.args = []string{"--config=/etc/" + base + "/" + file}
		ps.args = []string{"--publish=" + queue, "--exchange=" + base}
		w.exporterApp("monitoring", "rabbitmq-exporter", 9419)
		d = alertDef{labels: map[string]string{"alertname": pick(w.r, []string{"RabbitmqTooManyReadyMessages", "QueueNotDrained"}), "severity": "critical",
			"namespace": "monitoring", "job": "rabbitmq-exporter", "queue": queue, "vhost": s.ns},
			summary:     "Queue is not drained",
			description: fmt.Sprintf("Queue %s in vhost %s holds %d ready messages with no acknowledgements.", queue, s.ns, 4000+w.r.Intn(50000)),
			expr:        fmt.Sprintf(`rabbitmq_queue_messages_ready{queue=%q} > 1000`, queue)}
	}
	_, e := w.subjectFault(s, v)
	prod := w.buildApp(ps)
	for _, p := range prod.pods {
		w.log(ps.ns, p.Name, ps.name, false, w.healthyLog(ps, p, 4)...)
	}
	d.runbook = "https://runbooks." + w.domain + "/messaging/lag"
	return result{ns: s.ns, alerts: []alertDef{d}, expect: e}
}
