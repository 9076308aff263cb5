package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// nodeDown marks pods on the node unready the way the node lifecycle
// controller does, with its taints and events.
func (w *world) nodeDown(n *corev1.Node, since time.Duration, unreachable bool) {
	key := "node.kubernetes.io/not-ready"
	if unreachable {
		key = "node.kubernetes.io/unreachable"
	}
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: key, Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))},
		corev1.Taint{Key: key, Effect: corev1.TaintEffectNoExecute, TimeAdded: ptr(w.ago(since - 5*time.Second))})
	w.event(n, ev{typ: corev1.EventTypeNormal, reason: "NodeNotReady", component: "node-controller", last: since,
		message: fmt.Sprintf("Node %s status is now: NodeNotReady", n.Name)})
	for _, o := range w.objs {
		p, ok := o.(*corev1.Pod)
		if !ok || p.Spec.NodeName != n.Name || p.Status.Phase != corev1.PodRunning {
			continue
		}
		for i := range p.Status.Conditions {
			c := &p.Status.Conditions[i]
			if c.Type == corev1.PodReady {
				c.Status, c.Reason, c.Message, c.LastTransitionTime = corev1.ConditionFalse, "", "", w.ago(since)
			}
		}
		for i := range p.Status.ContainerStatuses {
			p.Status.ContainerStatuses[i].Ready = false
		}
		w.event(p, ev{reason: "NodeNotReady", component: "node-controller", last: since, message: "Node is not ready"})
	}
}

func nodeNotReadyKubelet(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.nodes = w.nodes
	w.buildApp(s)
	n := w.nodes[0]
	since := w.between(16*time.Minute, 50*time.Minute)
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		c.Status, c.Reason, c.Message = corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."
		c.LastTransitionTime = w.ago(since)
		c.LastHeartbeatTime = w.ago(since + 40*time.Second)
	}
	w.lease(n).Spec.RenewTime = ptr(metav1.NewMicroTime(w.now.Add(-since - 40*time.Second)))
	w.nodeDown(n, since, true)
	alerts := []alertDef{w.nodeNotReady(n)}
	if v.n == 1 {
		alerts = []alertDef{{labels: w.ksm("alertname", "KubeNodeUnreachable", "severity", "warning", "node", n.Name, "key", "node.kubernetes.io/unreachable", "effect", "NoSchedule"),
			summary: "Node is unreachable.", description: fmt.Sprintf("%s is unreachable and some workloads may be rescheduled on cluster $cluster.", n.Name),
			runbook: "kubernetes/kubenodeunreachable", expr: `(kube_node_spec_taint{job="kube-state-metrics",key="node.kubernetes.io/unreachable",effect="NoSchedule"} unless ignoring(key,value) kube_node_spec_taint{job="kube-state-metrics",key=~"ToBeDeletedByClusterAutoscaler|cloud.google.com/impending-node-termination|aws-node-termination-handler/spot-itn"}) == 1`}}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.NodeNotReady, nil,
			fmt.Sprintf("The kubelet on node %s stopped posting status (lease not renewed since %s): the node is NotReady/Unknown.", n.Name, w.lease(n).Spec.RenewTime.UTC().Format(time.RFC3339)),
			g(n.Name), g("kubelet", "stopped posting", "nodestatusunknown", "lease", "unreachable"))}
}

func nodeNotReadyCNI(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindDaemonSet)
	w.buildApp(s)
	n := w.nodes[len(w.nodes)-1]
	since := w.between(16*time.Minute, 50*time.Minute)
	plugin := pick(w.r, []string{"cilium", "calico-node", "aws-node"})
	w.setNodeCondition(n, corev1.NodeReady, corev1.ConditionFalse, "KubeletNotReady",
		"container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized", since)
	w.nodeDown(n, since, false)
	// The CNI agent's pod on that node crash-loops.
	cs := w.defaultSpec("kube-system")
	cs.kind, cs.name, cs.serviceAccount, cs.service, cs.probes = kindDaemonSet, plugin, plugin, false, false
	cs.image = w.registry + "/mirror/" + plugin + ":" + w.version()
	cs.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	ca := w.buildApp(cs)
	for _, p := range ca.pods {
		if p.Spec.NodeName != n.Name {
			continue
		}
		w.crashLoop(p, plugin, restart{exitCode: 1, reason: "Error", ran: 20 * time.Second, count: int32(6 + w.r.Intn(6)), since: since})
		w.log("kube-system", p.Name, plugin, true,
			fmt.Sprintf(`level=info msg="Starting %s agent" subsys=daemon`, plugin),
			`level=error msg="Unable to allocate pod CIDR: no podCIDR assigned to node" subsys=ipam`,
			`level=fatal msg="Error while creating daemon" error="unable to initialize IPAM: node has no pod CIDR" subsys=daemon`)
	}
	n.Spec.PodCIDR, n.Spec.PodCIDRs = "", nil
	return result{ns: s.ns, alerts: []alertDef{w.nodeNotReady(n)},
		expect: expect(investigate.NodeNotReady, cats{investigate.PodCrash},
			fmt.Sprintf("Node %s is NotReady: the container network is not ready (NetworkPluginNotReady, cni plugin not initialized) because the %s agent crash-loops without a pod CIDR.", n.Name, plugin),
			g(n.Name), g("cni", "network plugin", "networkpluginnotready", "networkready=false", plugin))}
}

// hog builds a pod on node n using much of a resource, as a BestEffort
// Deployment of one replica.
func (w *world) hog(n *corev1.Node, ns string) *app {
	s := w.defaultSpec(ns)
	s.name = pick(w.r, []string{"thumbnailer", "pdf-renderer", "log-compactor", "video-transcoder", "etl-worker"})
	s.image = w.image(ns, s.name, s.version)
	s.cpuReq, s.memReq, s.cpuLim, s.memLim = "", "", "", ""
	s.replicas, s.nodes, s.service = 1, []*corev1.Node{n}, false
	return w.buildApp(s)
}

func memoryPressure(w *world, v variant) result {
	n := w.nodes[0]
	ns := w.namespace()
	h := w.hog(n, ns)
	since := w.between(10*time.Minute, 40*time.Minute)
	w.setNodeCondition(n, corev1.NodeMemoryPressure, corev1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available", since)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/memory-pressure", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	w.event(n, ev{reason: "EvictionThresholdMet", component: "kubelet", host: n.Name, count: int32(3 + w.r.Intn(5)), first: since, last: w.between(time.Minute, 5*time.Minute), message: "Attempting to reclaim memory"})
	w.event(n, ev{typ: corev1.EventTypeNormal, reason: "NodeHasInsufficientMemory", component: "kubelet", host: n.Name, last: since,
		message: fmt.Sprintf("Node %s status is now: NodeHasInsufficientMemory", n.Name)})
	// Victims: BestEffort/Burstable pods over their requests.
	s := w.spec(v)
	s.nodes = []*corev1.Node{n}
	s.memLim = ""
	victims := w.buildApp(s)
	use := 2_400_000 + w.r.Intn(3_000_000)
	for i, p := range victims.pods {
		w.evicted(p, fmt.Sprintf("The node was low on resource: memory. Threshold quantity: 100Mi, available: %dKi. Container %s was using %dKi, request is %s, has larger consumption of memory. ",
			60000+w.r.Intn(30000), s.name, 300000+w.r.Intn(200000), s.memReq), since-time.Duration(i)*20*time.Second)
	}
	hp := h.pods[0]
	w.log(ns, hp.Name, h.spec.name, false, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"loaded batch into memory","items":%d,"rss_kb":%d}`, ts(w.now.Add(-since)), 40000+w.r.Intn(90000), use))
	alerts := []alertDef{w.nodePressure(n, "MemoryPressure")}
	if v.n == 1 {
		alerts = []alertDef{w.nodeEviction(n, "memory.available"), w.nodePressure(n, "MemoryPressure")}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.OOMKilled, cats{investigate.PodRestart, investigate.NodeNotReady},
			fmt.Sprintf("Node %s is under memory pressure: BestEffort pod %s/%s (no memory request or limit) uses most of its memory, and the kubelet evicts pods of %s.", n.Name, ns, hp.Name, s.name),
			g("memory pressure", "memorypressure", "low on resource: memory", "low on memory", "insufficient memory", "memory.available"), g(n.Name))}
}

func diskPressure(w *world, v variant) result {
	n := w.nodes[0]
	ns := w.namespace()
	h := w.hog(n, ns)
	since := w.between(10*time.Minute, 40*time.Minute)
	w.setNodeCondition(n, corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure", since)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/disk-pressure", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	w.event(n, ev{reason: "EvictionThresholdMet", component: "kubelet", host: n.Name, count: int32(3 + w.r.Intn(5)), first: since, last: w.between(time.Minute, 5*time.Minute), message: "Attempting to reclaim ephemeral-storage"})
	w.event(n, ev{reason: "FreeDiskSpaceFailed", component: "kubelet", host: n.Name, count: int32(2 + w.r.Intn(4)), first: since, last: w.between(time.Minute, 5*time.Minute),
		message: fmt.Sprintf("Failed to garbage collect required amount of images. Attempted to free %d bytes, but only found 0 bytes eligible to free.", 8_000_000_000+w.r.Int63n(9_000_000_000))})
	hp := h.pods[0]
	usedGi := 40 + w.r.Intn(40)
	w.evicted(hp, fmt.Sprintf("The node was low on resource: ephemeral-storage. Threshold quantity: 10%%, available: %dKi. Container %s was using %dKi, request is 0, has larger consumption of ephemeral-storage. ",
		7_000_000+w.r.Intn(2_000_000), h.spec.name, usedGi*1024*1024), since-time.Minute)
	w.log(ns, hp.Name, h.spec.name, false, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"writing intermediate results","dir":"/tmp/work","bytes":%d}`, ts(w.now.Add(-since)), int64(usedGi)<<30))
	s := w.spec(v)
	s.nodes = []*corev1.Node{n}
	victims := w.buildApp(s)
	w.evicted(victims.pods[0], fmt.Sprintf("The node was low on resource: ephemeral-storage. Threshold quantity: 10%%, available: %dKi. ", 7_000_000+w.r.Intn(2_000_000)), since-3*time.Minute)
	alerts := []alertDef{w.nodePressure(n, "DiskPressure")}
	if v.n == 1 {
		alerts = []alertDef{w.replicasMismatch(victims), w.nodeEviction(n, "nodefs.available")}
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.DiskPressure, cats{investigate.PodRestart},
			fmt.Sprintf("Node %s has DiskPressure: pod %s/%s wrote about %dGi to its writable layer/emptyDir without an ephemeral-storage limit; the kubelet evicts pods.", n.Name, ns, hp.Name, usedGi),
			g("disk pressure", "diskpressure", "ephemeral-storage", "ephemeral storage", "low on resource"), g(n.Name, h.spec.name))}
}

func pidPressure(w *world, v variant) result {
	n := w.nodes[0]
	ns := w.namespace()
	h := w.hog(n, ns)
	since := w.between(10*time.Minute, 40*time.Minute)
	w.setNodeCondition(n, corev1.NodePIDPressure, corev1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available", since)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/pid-pressure", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	w.event(n, ev{reason: "EvictionThresholdMet", component: "kubelet", host: n.Name, count: int32(3 + w.r.Intn(5)), first: since, last: w.between(time.Minute, 5*time.Minute), message: "Attempting to reclaim pids"})
	hp := h.pods[0]
	w.evicted(hp, fmt.Sprintf("The node was low on resource: pids. Threshold quantity: %d, available: %d. ", 3276, 1200+w.r.Intn(800)), since-time.Minute)
	var lines []string
	for i := 0; i < 5; i++ {
		lines = append(lines, fmt.Sprintf("%s WARN worker pool: spawned %d subprocesses, %d still running (zombie reaping disabled)", ts(w.now.Add(-since+time.Duration(i)*time.Minute)), 8000*(i+1), 6000*(i+1)))
	}
	lines = append(lines, "fork/exec /usr/bin/convert: resource temporarily unavailable")
	w.log(ns, hp.Name, h.spec.name, false, lines...)
	alerts := []alertDef{w.nodePressure(n, "PIDPressure")}
	if v.n == 1 {
		alerts = []alertDef{w.nodeEviction(n, "pid.available")}
	}
	return result{ns: ns, alerts: alerts,
		expect: expect(investigate.NodeNotReady, cats{investigate.PodRestart, investigate.DiskPressure, investigate.OOMKilled},
			fmt.Sprintf("Node %s has PIDPressure: pod %s/%s spawns processes without reaping them and exhausts the node's PIDs; the kubelet evicts it.", n.Name, ns, hp.Name),
			g("pid pressure", "pidpressure", "low on resource: pids", "pids", "process ids", "pid"), g(n.Name, h.spec.name))}
}

func emptyDirSizeLimit(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	vol := pick(w.r, []string{"scratch", "cache", "tmp", "work"})
	limit := pick(w.r, []string{"1Gi", "2Gi", "512Mi"})
	s.volumes = []corev1.Volume{{Name: vol, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(parseQuantity(limit))}}}}
	s.mounts = []corev1.VolumeMount{{Name: vol, MountPath: "/" + vol}}
	a := w.buildApp(s)
	since := w.between(10*time.Minute, 50*time.Minute)
	p := a.pods[0]
	msg := fmt.Sprintf("Usage of EmptyDir volume %q exceeds the limit %q. ", vol, limit)
	w.evicted(p, msg, since)
	// The controller replaced it; the replacement runs.
	if a.dep != nil {
		np := a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, a.spec.nodes[0], since-5*time.Second)
		w.log(s.ns, np.Name, s.name, false, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"spooling export to /%s","bytes":%d}`, ts(w.now.Add(-time.Minute)), vol, 700_000_000+w.r.Intn(300_000_000)))
	}
	w.log(s.ns, p.Name, s.name, false, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"spooling export to /%s","bytes":%d}`, ts(w.now.Add(-since-time.Minute)), vol, 900_000_000+w.r.Intn(300_000_000)))
	alert := w.replicasMismatch(a)
	if v.n == 0 {
		alert = alertDef{labels: w.ksm("alertname", "KubePodEvicted", "severity", "warning", "namespace", s.ns, "pod", p.Name, "reason", "Evicted"),
			summary: "Pod was evicted.", description: fmt.Sprintf("Pod %s/%s was evicted by the kubelet.", s.ns, p.Name),
			runbook: "https://runbooks." + w.domain + "/k8s/evictions", expr: `kube_pod_status_reason{reason="Evicted"} > 0`}
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodRestart, cats{investigate.DiskPressure, investigate.PodCrash},
			fmt.Sprintf("Pod %s/%s was evicted: its emptyDir volume %q grew past its sizeLimit %s.", s.ns, p.Name, vol, limit),
			g("emptydir", "empty dir", "empty-dir"), g("sizelimit", "size limit", strings.ToLower(limit), "exceeds the limit"))}
}

func cpuThrottling(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.cpuLim = pick(w.r, []string{"100m", "200m", "250m", "300m"})
	s.cpuReq = s.cpuLim
	a := w.buildApp(s)
	p := a.pods[0]
	ratio := 0.55 + w.r.Float64()*0.4
	if v.n == 1 {
		for _, p := range a.pods {
			w.running(p, s.name, int32(2+w.r.Intn(4)), w.between(5*time.Minute, 40*time.Minute))
			w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(s.name), count: int32(6 + w.r.Intn(10)), first: 2 * time.Hour, last: w.between(time.Minute, 10*time.Minute),
				message: fmt.Sprintf("Liveness probe failed: Get \"http://%s:%d%s\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", p.Status.PodIP, s.port, s.livenessPath)})
		}
	}
	var lines []string
	t := w.now.Add(-5 * time.Minute)
	for i := 0; i < 5; i++ {
		t = t.Add(40 * time.Second)
		lines = append(lines, fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"slow request","path":"/api/v1/items","duration_ms":%d}`, ts(t), 900+w.r.Intn(2000)))
	}
	w.log(s.ns, p.Name, s.name, false, lines...)
	return result{ns: s.ns, alerts: []alertDef{w.cpuThrottling(p, s.name, ratio)},
		expect: expect(investigate.CPUThrottling, cats{investigate.PodRestart},
			fmt.Sprintf("Container %s of %s/%s is CPU-throttled (%.0f%% of periods) by its CPU limit of %s; no metrics-server, the figure comes from the alert.", s.name, s.ns, p.Name, ratio*100, s.cpuLim),
			g("throttl", "cpu limit", "limits.cpu"), g(s.cpuLim))}
}
