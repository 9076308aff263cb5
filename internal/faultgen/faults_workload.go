package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

func rolloutStuck(w *world, v variant) result {
	s := w.spec(v)
	s.maxSurge, s.maxUnavailable = "1", "0"
	// The dependency the new version checks in its readiness: up, but
	// answering 503 while it runs a maintenance task.
	ds := w.defaultSpec(s.ns)
	dep := ds.name
	da := w.buildApp(ds)
	for _, p := range da.pods {
		w.log(s.ns, p.Name, dep, false, fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"maintenance mode: reindex in progress, answering 503 on /health"}`, ts(w.now.Add(-40*time.Minute))))
	}
	flag := pick(w.r, []string{"SCHEMA_VERSION", "MIGRATION_TARGET", "CACHE_WARMUP"})
	a := w.buildApp(s)
	since := w.between(25*time.Minute, 90*time.Minute)
	pods := a.rollout(func(s *appSpec) {
		s.env = append(s.env, corev1.EnvVar{Name: flag, Value: pick(w.r, []string{"42", "v7", "full"})})
	}, 1, since, true)
	p := pods[0]
	c := mainContainer(p)
	w.notReady(p, c, since)
	w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: int32(150 + w.r.Intn(200)), first: since, last: w.between(2*time.Second, 20*time.Second),
		message: "Readiness probe failed: HTTP probe failed with statuscode: 503"})
	var lines []string
	t := w.now.Add(-3 * time.Minute)
	for i := 0; i < 5; i++ {
		t = t.Add(15 * time.Second)
		lines = append(lines, fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"readiness check failed","check":"dependency","dependency":"%s","error":"GET http://%s.%s.svc:8080/health: 503 Service Unavailable"}`, ts(t), dep, dep, s.ns))
	}
	w.log(s.ns, p.Name, c, false, lines...)
	alerts := []alertDef{w.rolloutStuck(a)}
	if v.n == 1 {
		alerts = []alertDef{w.podNotReady(p), w.rolloutStuck(a)}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.EndpointMissing, cats{investigate.PodCrash, investigate.PodPending},
			fmt.Sprintf("The new ReplicaSet %s of %s/%s never becomes ready (readiness 503: dependency %s unhealthy); with maxUnavailable 0 the rollout exceeds its progress deadline.", a.rs.Name, s.ns, s.name, dep),
			g("readiness", "not ready", "never ready", "unready", "never becomes ready"), g(dep, "progressdeadlineexceeded", "progress deadline", "timed out progressing", "rollout"))}
}

func hpaAtMax(w *world, v variant) result {
	s := w.spec(v)
	s.replicas = int32(4 + w.r.Intn(5))
	a := w.buildApp(s)
	h := w.hpa(a, 2, s.replicas, s.replicas, 70, int32(140+w.r.Intn(120)))
	h.Status.DesiredReplicas = s.replicas
	since := w.between(30*time.Minute, 2*time.Hour)
	w.hpaConditions(h, since,
		[3]string{"True", "ReadyForNewScale", "recommended size matches current size"},
		[3]string{"True", "ValidMetricFound", "the HPA was able to successfully calculate a replica count from cpu resource utilization (percentage of request)"},
		[3]string{"True", "TooManyReplicas", "the desired replica count is more than the maximum replica count"})
	for _, p := range a.pods {
		var lines []string
		t := w.now.Add(-4 * time.Minute)
		for i := 0; i < 5; i++ {
			t = t.Add(30 * time.Second)
			lines = append(lines, fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"slow request","path":"/api/v1/items","duration_ms":%d,"queue_depth":%d}`, ts(t), 1800+w.r.Intn(3000), 40+w.r.Intn(200)))
		}
		w.log(s.ns, p.Name, s.name, false, lines...)
	}
	alerts := []alertDef{w.hpaMaxedOut(s.ns, h.Name)}
	if v.n == 1 {
		alerts = []alertDef{{labels: map[string]string{"alertname": camel(s.name) + "LatencyHigh", "severity": "warning", "namespace": s.ns, "service": s.name},
			summary: "p99 latency above SLO", description: fmt.Sprintf("p99 latency of %s/%s is %.1fs (SLO 500ms).", s.ns, s.name, 1.5+w.r.Float64()*3),
			runbook: "https://runbooks." + w.domain + "/" + s.ns + "/latency", expr: fmt.Sprintf(`histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket{namespace=%q,service=%q}[5m]))) > 0.5`, s.ns, s.name)},
			w.hpaMaxedOut(s.ns, h.Name)}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.CPUThrottling, cats{investigate.ServiceDown},
			fmt.Sprintf("HPA %s/%s runs at its maxReplicas %d with CPU above target: the service is saturated and cannot scale further.", s.ns, h.Name, s.replicas),
			g("maxreplicas", "max replicas", "maximum replicas", "maximum replica", "toomanyreplicas", "too many replicas", "maxed out", "at its maximum", "at the maximum", "at maximum", "ceiling", "capped"),
			g("hpa", "horizontalpodautoscaler", "horizontal pod autoscaler", "autoscaler"))}
}

func hpaMissingRequest(w *world, v variant) result {
	s := w.spec(v)
	s.cpuReq, s.cpuLim = "", ""
	sidecar := pick(w.r, []string{"envoy", "oauth2-proxy", "redis-proxy", "log-forwarder"})
	a := w.buildApp(s)
	// The sidecar carries no CPU request either; the main container has one.
	addSidecar := func(ps *corev1.PodSpec) {
		ps.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("250m")
		ps.Containers = append(ps.Containers, corev1.Container{Name: sidecar, Image: w.registry + "/mirror/" + sidecar + ":" + w.version(),
			Ports:           []corev1.ContainerPort{{Name: "proxy", ContainerPort: 15001, Protocol: corev1.ProtocolTCP}},
			ImagePullPolicy: corev1.PullIfNotPresent, TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile})
	}
	addSidecar(&a.dep.Spec.Template.Spec)
	addSidecar(&a.rs.Spec.Template.Spec)
	for _, p := range a.pods {
		p.Spec.Containers[0].Resources.Requests[corev1.ResourceCPU] = resource.MustParse("250m")
		p.Spec.Containers = append(p.Spec.Containers, a.dep.Spec.Template.Spec.Containers[1])
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: sidecar, Image: a.dep.Spec.Template.Spec.Containers[1].Image,
			ImageID: imageID(a.dep.Spec.Template.Spec.Containers[1].Image, w.hex(64)), ContainerID: "containerd://" + w.hex(64), Ready: true, Started: ptr(true),
			State: p.Status.ContainerStatuses[0].State})
		p.Status.QOSClass = corev1.PodQOSBurstable
	}
	a.spec.cpuReq = "250m"
	h := w.hpa(a, int32(len(a.pods)), 12, int32(len(a.pods)), 70, 0)
	since := w.between(30*time.Minute, 3*time.Hour)
	msg := fmt.Sprintf("failed to get cpu utilization: missing request for cpu in container %s of Pod %s", sidecar, a.pods[0].Name)
	w.hpaConditions(h, since,
		[3]string{"True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"},
		[3]string{"False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: " + msg},
		[3]string{"False", "DesiredWithinRange", "the desired count is within the acceptable range"})
	w.event(h, ev{reason: "FailedGetResourceMetric", component: "horizontal-pod-autoscaler", count: int32(200 + w.r.Intn(400)), first: since, last: w.between(5*time.Second, 30*time.Second), message: msg})
	w.event(h, ev{reason: "FailedComputeMetricsReplicas", component: "horizontal-pod-autoscaler", count: int32(200 + w.r.Intn(400)), first: since, last: w.between(5*time.Second, 30*time.Second),
		message: "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value: " + msg})
	alerts := []alertDef{{labels: map[string]string{"alertname": camel(s.name) + "LatencyHigh", "severity": "warning", "namespace": s.ns, "service": s.name},
		summary: "p99 latency above SLO", description: fmt.Sprintf("p99 latency of %s/%s is above 1s while traffic doubled.", s.ns, s.name),
		runbook: "https://runbooks." + w.domain + "/" + s.ns + "/latency", expr: `histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5m]))) > 1`}}
	if v.n == 1 {
		alerts = []alertDef{w.hpaMismatch(s.ns, h.Name)}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.CPUThrottling, cats{investigate.ServiceDown, investigate.PodRestart},
			fmt.Sprintf("HPA %s/%s cannot compute CPU utilisation because container %s of its pods has no CPU request; it never scales out.", s.ns, h.Name, sidecar),
			g("missing request", "request for cpu", "cpu request", "requests.cpu", "no request", "without a request", "without a cpu request"), g(sidecar))}
}

func hpaNoMetricsServer(w *world, v variant) result {
	s := w.spec(v)
	a := w.buildApp(s)
	h := w.hpa(a, int32(len(a.pods)), int32(len(a.pods)+6), int32(len(a.pods)), 75, 0)
	since := w.between(2*time.Hour, 30*time.Hour)
	msg := "failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"
	w.hpaConditions(h, since,
		[3]string{"True", "SucceededGetScale", "the HPA controller was able to get the target's current scale"},
		[3]string{"False", "FailedGetResourceMetric", "the HPA was unable to compute the replica count: " + msg},
		[3]string{"False", "DesiredWithinRange", "the desired count is within the acceptable range"})
	w.event(h, ev{reason: "FailedGetResourceMetric", component: "horizontal-pod-autoscaler", count: int32(500 + w.r.Intn(900)), first: since, last: w.between(5*time.Second, 30*time.Second), message: msg})
	alerts := []alertDef{w.hpaMismatch(s.ns, h.Name)}
	if v.n == 1 {
		alerts = []alertDef{w.errorRate(s.ns, s.name, s.name+"."+w.domain), w.hpaMismatch(s.ns, h.Name)}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.CPUThrottling, cats{investigate.ServiceDown},
			fmt.Sprintf("HPA %s/%s cannot read CPU metrics: the resource metrics API (metrics.k8s.io, metrics-server) is not served.", s.ns, h.Name),
			g("metrics-server", "metrics server", "metrics.k8s.io", "resource metrics api", "metrics api"), g("hpa", "horizontalpodautoscaler", "autoscaler", h.Name))}
}

func pdbBlocksDrain(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.nodes = w.nodes
	a := w.buildApp(s)
	min := intstr.FromInt32(int32(len(a.pods)))
	if v.n == 1 {
		min = intstr.FromString("100%")
	}
	pdb := w.pdb(a, min, int32(len(a.pods)), 0)
	node := w.nodes[0]
	since := w.between(40*time.Minute, 3*time.Hour)
	node.Spec.Unschedulable = true
	node.Spec.Taints = append(node.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	node.Labels["node.kubernetes.io/upgrade"] = "in-progress"
	w.event(node, ev{typ: corev1.EventTypeNormal, reason: "NodeNotSchedulable", component: "kubelet", host: node.Name, last: since,
		message: fmt.Sprintf("Node %s status is now: NodeNotSchedulable", node.Name)})
	var victim *corev1.Pod
	for _, p := range a.pods {
		if p.Spec.NodeName == node.Name {
			victim = p
		}
	}
	w.event(node, ev{reason: "FailedDraining", component: "node-upgrade-controller", count: int32(30 + w.r.Intn(60)), first: since, last: w.between(10*time.Second, time.Minute),
		message: fmt.Sprintf("error when evicting pods/%q -n %q (will retry after 5s): Cannot evict pod as it would violate the pod's disruption budget.", victim.Name, s.ns)})
	alerts := []alertDef{{labels: map[string]string{"alertname": "NodeDrainStuck", "severity": "warning", "node": node.Name},
		summary: "Node drain is not progressing", description: fmt.Sprintf("Node %s has been cordoned for draining for more than 30 minutes and still runs evictable pods.", node.Name),
		runbook: "https://runbooks." + w.domain + "/platform/node-drain", expr: `kube_node_spec_unschedulable == 1 and on (node) count by (node) (kube_pod_info{created_by_kind!="DaemonSet"}) > 0`}}
	if v.n == 1 {
		alerts = append([]alertDef{{labels: w.ksm("alertname", "PodDisruptionBudgetAtLimit", "severity", "warning", "namespace", s.ns, "poddisruptionbudget", pdb.Name),
			summary: "The pod disruption budget is preventing further disruption to pods.", description: fmt.Sprintf("The pod disruption budget %s/%s is at the minimum pods allowed level. Further disruptions to pods will not be allowed.", s.ns, pdb.Name),
			expr: `max by(namespace, poddisruptionbudget) (kube_poddisruptionbudget_status_current_healthy == kube_poddisruptionbudget_status_desired_healthy)`}}, alerts...)
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.NodeNotReady, cats{investigate.PodPending},
			fmt.Sprintf("PodDisruptionBudget %s/%s requires all %d pods of %s available (0 disruptions allowed), so draining node %s cannot evict %s.", s.ns, pdb.Name, len(a.pods), s.name, node.Name, victim.Name),
			g("poddisruptionbudget", "disruption budget", "pdb"), g(pdb.Name, "disruptionsallowed: 0", "0 disruptions", "disruptions allowed"))}
}

// jobs.

func jobBackoffLimit(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"nightly-export", "invoice-import", "ledger-reconcile", "report-builder", "feed-ingest"})
	file := fmt.Sprintf("/data/input/%s.csv", w.now.Add(-24*time.Hour).Format("2006-01-02"))
	j := jobRun{ns: ns, name: name, image: w.image(ns, name, w.version()), sa: name, backoffLimit: 3, command: []string{"python", "-m", "jobs." + strings.ReplaceAll(name, "-", "_")}}
	if v.n == 1 {
		j.cron = pick(w.r, []string{"0 2 * * *", "30 1 * * *", "15 */6 * * *"})
	}
	since := w.between(40*time.Minute, 2*time.Hour)
	job, pods, _ := w.buildJob(j, 4, since)
	for _, p := range pods {
		w.failPod(p, 1, "Error", 3*time.Second)
		w.log(ns, p.Name, name, false,
			fmt.Sprintf("%s INFO starting %s", w.now.Add(-since).Format("2006-01-02 15:04:05,000"), name),
			"Traceback (most recent call last):",
			`  File "/usr/local/lib/python3.12/runpy.py", line 198, in _run_module_as_main`,
			fmt.Sprintf(`  File "/app/jobs/%s.py", line 41, in main`, strings.ReplaceAll(name, "-", "_")),
			"    with open(path, newline=\"\") as fh:",
			fmt.Sprintf("FileNotFoundError: [Errno 2] No such file or directory: '%s'", file))
	}
	w.jobFailedStatus(job, pods, "BackoffLimitExceeded", "Job has reached the specified backoff limit", w.between(2*time.Minute, 10*time.Minute))
	return result{ns: ns, alerts: []alertDef{w.jobFailed(ns, job.Name)},
		expect: expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("Job %s/%s failed (BackoffLimitExceeded): every attempt exits 1 because the input file %s does not exist.", ns, job.Name, file),
			g(file), g("no such file", "not found", "does not exist", "doesn't exist", "missing"))}
}

func jobDeadlineExceeded(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"search-reindex", "catalog-sync", "db-vacuum", "cache-rebuild"})
	deadline := pick(w.r, []int64{600, 900, 1800})
	j := jobRun{ns: ns, name: name, image: w.image(ns, name, w.version()), sa: name, backoffLimit: 6, deadline: deadline}
	if v.n == 1 {
		j.cron = "0 */4 * * *"
	}
	since := time.Duration(deadline)*time.Second + w.between(5*time.Minute, 20*time.Minute)
	job, pods, _ := w.buildJob(j, 1, since)
	p := pods[0]
	w.failPod(p, 143, "Error", time.Duration(deadline)*time.Second)
	var lines []string
	t := w.now.Add(-since)
	for i := 0; i < 6; i++ {
		t = t.Add(time.Duration(deadline) * time.Second / 6)
		lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"progress","done":%d,"total":%d}`, ts(t), (i+1)*41000+w.r.Intn(900), 1_900_000))
	}
	w.log(ns, p.Name, name, false, lines...)
	ago := since - time.Duration(deadline)*time.Second
	w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Killing", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(name), last: ago, message: "Stopping container " + name})
	w.jobFailedStatus(job, pods, "DeadlineExceeded", "Job was active longer than specified deadline", ago)
	dl := fmt.Sprint(deadline)
	return result{ns: ns, alerts: []alertDef{w.jobFailed(ns, job.Name)},
		expect: expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("Job %s/%s was killed at its activeDeadlineSeconds %s while still processing (DeadlineExceeded).", ns, job.Name, dl),
			g("deadline", "activedeadlineseconds"), g(dl, fmt.Sprintf("%dm", deadline/60), fmt.Sprintf("%d min", deadline/60)))}
}

func rbacForbiddenJob(w *world, v variant) result {
	ns := w.namespace()
	name := pick(w.r, []string{"pod-janitor", "secret-rotator", "cert-checker", "stale-job-cleaner"})
	sa := name
	resourceName := map[string]string{"pod-janitor": "pods", "secret-rotator": "secrets", "cert-checker": "certificates", "stale-job-cleaner": "jobs"}[name]
	group := map[string]string{"pods": "", "secrets": "", "certificates": "cert-manager.io", "jobs": "batch"}[resourceName]
	j := jobRun{ns: ns, name: name, image: w.registry + "/mirror/kubectl:1.31", sa: sa, backoffLimit: 2, cron: "*/30 * * * *",
		command: []string{"/bin/sh", "-c", "kubectl get " + resourceName + " -o name | xargs -r kubectl delete"}}
	if v.n == 1 {
		j.cron = ""
	}
	since := w.between(20*time.Minute, 60*time.Minute)
	job, pods, _ := w.buildJob(j, 3, since)
	msg := fmt.Sprintf("Error from server (Forbidden): %s is forbidden: User \"system:serviceaccount:%s:%s\" cannot list resource %q in API group %q in the namespace %q", resourceName, ns, sa, resourceName, group, ns)
	for _, p := range pods {
		w.failPod(p, 1, "Error", 2*time.Second)
		w.log(ns, p.Name, name, false, msg)
	}
	w.jobFailedStatus(job, pods, "BackoffLimitExceeded", "Job has reached the specified backoff limit", w.between(time.Minute, 8*time.Minute))
	return result{ns: ns, alerts: []alertDef{w.jobFailed(ns, job.Name)},
		expect: expect(investigate.PodCrash, cats{investigate.PodRestart},
			fmt.Sprintf("Job %s/%s runs as ServiceAccount %s, which has no RBAC permission to list %s: the API server answers 403 Forbidden.", ns, job.Name, sa, resourceName),
			g("forbidden", "rbac", "permission", "cannot list", "not allowed", "403", "role"), g(sa))}
}

func initContainerWaiting(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	dep := pick(w.r, []string{"postgres", "rabbitmq", "redis", "kafka"})
	port := map[string]int32{"postgres": 5432, "rabbitmq": 5672, "redis": 6379, "kafka": 9092}[dep]
	host := fmt.Sprintf("%s.%s.svc.cluster.local", dep, s.ns)
	ic := corev1.Container{Name: "wait-for-" + dep, Image: w.registry + "/mirror/busybox:1.36",
		Command: []string{"sh", "-c", fmt.Sprintf("until nc -z %s %d; do echo waiting for %s; sleep 2; done", host, port, dep)}}
	// The dependency: a Service whose StatefulSet has no ready pod.
	ds := w.defaultSpec(s.ns)
	ds.kind, ds.name, ds.port, ds.portName, ds.servicePort, ds.storage, ds.replicas, ds.probes = kindStatefulSet, dep, port, "tcp-"+dep, port, "20Gi", 1, false
	ds.image, ds.version = w.registry+"/mirror/"+dep+":"+w.version(), "16"
	da := w.buildApp(ds)
	since := w.between(20*time.Minute, 80*time.Minute)
	dp := da.pods[0]
	w.crashLoop(dp, dep, restart{exitCode: 1, reason: "Error", ran: 4 * time.Second, count: int32(8 + w.r.Intn(10)), since: since + 5*time.Minute})
	w.log(s.ns, dp.Name, dep, true, fmt.Sprintf("%s FATAL: could not open configuration file \"/etc/%s/%s.conf\": Permission denied", ts(w.now.Add(-2*time.Minute)), dep, dep))
	a, pods := w.breakApp(s, func(s *appSpec) { s.initContainers = []corev1.Container{ic} }, since, true)
	for _, p := range pods {
		st := status(p, ic.Name)
		st.State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: w.ago(since)}}
		st.Ready, st.Started = false, ptr(true)
		for i := range p.Status.Conditions {
			if p.Status.Conditions[i].Type == corev1.PodInitialized {
				p.Status.Conditions[i].Status, p.Status.Conditions[i].Reason = corev1.ConditionFalse, "ContainersNotInitialized"
				p.Status.Conditions[i].Message = fmt.Sprintf("containers with incomplete status: [%s]", ic.Name)
			}
		}
		mc := status(p, mainContainer(p))
		mc.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}
		mc.ContainerID, mc.Started, mc.ImageID = "", ptr(false), ""
		w.setReady(p, false, since, mainContainer(p))
		p.Status.Phase = corev1.PodPending
		var lines []string
		for i := 0; i < 8; i++ {
			lines = append(lines, "waiting for "+dep)
		}
		w.log(s.ns, p.Name, ic.Name, false, lines...)
	}
	alert := w.podNotReady(pods[0])
	if v.n == 1 {
		alert = w.workloadAlert(a, true)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash, investigate.EndpointMissing},
			fmt.Sprintf("Init container %s of %s/%s waits for %s:%d, but Service %s has no ready endpoints (its pod %s is crash-looping).", ic.Name, s.ns, s.name, host, port, dep, dp.Name),
			g("init container", "init:0", "initcontainer", ic.Name, "podinitializing"), g(dep))}
}
