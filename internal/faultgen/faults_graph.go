package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/k8flex/k8flex/investigate"
)

// The faults of this file hold their cause in an object that nothing
// links to the alerting one except how Kubernetes works: the namespace's
// quota shared with a Job, a StorageClass's topology against the nodes'
// zones, the node's network agent, the node's other pods under pressure.

// quotaHeldByJob: a workload cannot create pods because a ResourceQuota is
// exhausted, and what holds it is a parallel Job of the same namespace
// (status.active pods × its template's requests). Variant 0 exhausts
// requests.cpu, variant 1 requests.memory.
func quotaHeldByJob(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	res, key := corev1.ResourceRequestsCPU, "requests.cpu"
	per := resource.MustParse(s.cpuReq)
	jobPer := resource.MustParse(pick(w.r, []string{"2", "3", "4"}))
	if v.n == 1 {
		res, key = corev1.ResourceRequestsMemory, "requests.memory"
		per = resource.MustParse(s.memReq)
		jobPer = resource.MustParse(pick(w.r, []string{"4Gi", "6Gi", "8Gi"}))
	}
	parallelism := int32(6 + w.r.Intn(7))
	since := w.between(20*time.Minute, 70*time.Minute)
	jname := pick(w.r, []string{"backfill-events", "reindex-catalog", "rebuild-search", "recompute-scores", "migrate-blobs"})
	job, jpods, _ := w.buildJob(jobRun{ns: s.ns, name: jname, image: w.image(s.ns, jname, w.version()), sa: "default", backoffLimit: 6}, 3, since+10*time.Minute)
	tmpl := &job.Spec.Template.Spec.Containers[0]
	tmpl.Resources.Requests[res] = jobPer
	if res == corev1.ResourceRequestsMemory {
		tmpl.Resources.Requests[corev1.ResourceMemory] = jobPer
		tmpl.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: jobPer}
		delete(tmpl.Resources.Requests, res)
	} else {
		tmpl.Resources.Requests[corev1.ResourceCPU] = jobPer
		delete(tmpl.Resources.Requests, res)
	}
	for _, p := range jpods {
		p.Spec.Containers[0].Resources = *tmpl.Resources.DeepCopy()
	}
	job.Spec.Parallelism, job.Spec.Completions = ptr(parallelism), ptr(parallelism*int32(10+w.r.Intn(20)))
	job.Status.Active, job.Status.Ready, job.Status.StartTime = parallelism, ptr(parallelism), ptr(w.ago(since+10*time.Minute))
	job.Status.Succeeded = int32(w.r.Intn(15))
	used := per.DeepCopy()
	used.Set(0)
	for range a.pods {
		used.Add(per)
	}
	for range parallelism {
		used.Add(jobPer)
	}
	name := s.ns + pick(w.r, []string{"-quota", "-compute", "-team"})
	q := w.quota(s.ns, name, res, used)
	q.Status.Used[corev1.ResourcePods] = resource.MustParse(fmt.Sprint(len(a.pods) + int(parallelism)))
	a.scaleUp(int32(1 + w.r.Intn(3)))
	a.failedCreate(fmt.Sprintf("exceeded quota: %s, requested: %s=%s, used: %s=%s, limited: %s=%s", name, key, per.String(), key, used.String(), key, used.String()), since)
	return result{ns: s.ns, alerts: []alertDef{w.replicasMismatch(a)},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s cannot create pods: ResourceQuota %s is exhausted on %s, held mostly by Job %s (%d pods in parallel × %s).", s.kind, s.ns, s.name, name, key, job.Name, parallelism, jobPer.String()),
			g("quota"), g(job.Name))}
}

// storageClassTopologyUnserved: a StatefulSet's claim uses a StorageClass
// whose allowedTopologies name only a zone where no schedulable node
// runs, so the scheduler finds no node for the volume (WaitForFirstConsumer).
// Variant 0 names a zone the cluster never had under the well-known zone
// label; variant 1 names, under the CSI driver's own topology key, a zone
// whose nodes were replaced by nodes elsewhere.
func storageClassTopologyUnserved(w *world, v variant) result {
	class := pick(w.r, []string{"fast-zonal", "io2-pinned", "gp3-db", "ssd-local-zone"})
	sc := w.storageClass(class, false)
	region := w.nodes[0].Labels["topology.kubernetes.io/region"]
	key, zone := "topology.kubernetes.io/zone", region+pick(w.r, []string{"d", "e"})
	if v.n == 1 {
		key, zone = "topology.ebs.csi.aws.com/zone", region+"c"
		for _, n := range w.nodes {
			if n.Labels["topology.kubernetes.io/zone"] == zone {
				n.Labels["topology.kubernetes.io/zone"] = region + "a"
			}
			n.Labels[key] = n.Labels["topology.kubernetes.io/zone"]
		}
	}
	sc.AllowedTopologies = []corev1.TopologySelectorTerm{{MatchLabelExpressions: []corev1.TopologySelectorLabelRequirement{{Key: key, Values: []string{zone}}}}}
	sc.VolumeBindingMode = ptr(storagev1.VolumeBindingWaitForFirstConsumer)
	n := len(w.nodes)
	a, p, pvc, since := w.stsPendingClaim(v, class,
		fmt.Sprintf("0/%d nodes are available: %d node(s) didn't find available persistent volumes to bind. %s", n, n, preemption(n, false)))
	w.event(pvc, ev{typ: corev1.EventTypeNormal, reason: "WaitForFirstConsumer", component: "persistentvolume-controller", count: int32(2 + w.r.Intn(5)), first: since, last: w.between(time.Minute, 10*time.Minute),
		message: "waiting for first consumer to be created before binding"})
	alert := w.replicasMismatch(a)
	if v.n == 1 {
		alert = w.podNotReady(p)
	}
	return result{ns: a.spec.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, nil,
			fmt.Sprintf("Claim %s/%s uses StorageClass %s, whose allowedTopologies allow only %s=%s, where no schedulable node runs: pod %s cannot be scheduled.", a.spec.ns, pvc.Name, class, key, zone, p.Name),
			g(class), g(zone))}
}

// cniAddressesExhausted: new pods of a workload stay in ContainerCreating
// on a node because the CNI plugin gets no address for them; the node's
// network agent (a hostNetwork DaemonSet pod) says why in its log.
// Variant 0 is a VPC CNI whose subnet has no free addresses (NET_ADMIN
// agent, JSON log); variant 1 an overlay CNI whose IP pool has no free
// blocks (agent mounting /etc/cni/net.d, plain log).
func cniAddressesExhausted(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	node := w.nodes[len(w.nodes)-1]
	since := w.between(10*time.Minute, 40*time.Minute)
	plugin, agentName, space, agentLog := "", "", "", []string{}
	if v.n == 0 {
		plugin, agentName = "aws-cni", pick(w.r, []string{"aws-node", "vpc-cni-agent"})
		space = "subnet-0" + w.hex(16)
		for i := 0; i < 3; i++ {
			at := w.now.Add(-since + time.Duration(i)*3*time.Minute)
			agentLog = append(agentLog,
				fmt.Sprintf(`{"level":"debug","ts":"%s","caller":"ipamd/ipamd.go:688","msg":"IP pool is too low: available (0) < ENI target (1) * addrsPerENI (%d)"}`, ts(at), 10+w.r.Intn(20)),
				fmt.Sprintf(`{"level":"error","ts":"%s","caller":"ipamd/ipamd.go:875","msg":"Failed to increase pool size: AllocENI: error assigning private IP addrs: InsufficientFreeAddressesInSubnet: The specified subnet %s does not have enough free addresses to satisfy the request."}`, ts(at.Add(time.Second)), space))
		}
	} else {
		plugin, agentName = "calico", pick(w.r, []string{"calico-node", "overlay-agent"})
		space = pick(w.r, []string{"default-ipv4-ippool", "pods-pool-" + w.alnum(4)})
		for i := 0; i < 3; i++ {
			at := w.now.Add(-since + time.Duration(i)*4*time.Minute)
			agentLog = append(agentLog,
				fmt.Sprintf("%s [INFO][%d] ipam/ipam.go 1088: Trying affinity for block host=%q", at.UTC().Format("2006-01-02 15:04:05.000"), 1000+w.r.Intn(9000), node.Name),
				fmt.Sprintf("%s [ERROR][%d] ipam/ipam.go 1195: Failed to auto-assign IPs: no more free affinity blocks in IP pool %s", at.Add(time.Second).UTC().Format("2006-01-02 15:04:05.000"), 1000+w.r.Intn(9000), space))
		}
	}
	// The node agents: the network agent and, as a red herring, a
	// privileged hostNetwork proxy, on every node.
	agents := w.defaultSpec("kube-system")
	agents.kind, agents.name, agents.serviceAccount, agents.service, agents.probes = kindDaemonSet, agentName, agentName, false, false
	agents.image = w.registry + "/mirror/" + agentName + ":" + w.version()
	agents.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	if v.n == 0 {
		agents.csc = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN", "NET_RAW"}}}
	} else {
		agents.volumes = []corev1.Volume{{Name: "cni-net-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/cni/net.d"}}},
			{Name: "cni-bin-dir", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/opt/cni/bin"}}}}
		agents.mounts = []corev1.VolumeMount{{Name: "cni-net-dir", MountPath: "/host/etc/cni/net.d"}, {Name: "cni-bin-dir", MountPath: "/host/opt/cni/bin"}}
	}
	ag := w.buildApp(agents)
	proxy := w.defaultSpec("kube-system")
	proxy.kind, proxy.name, proxy.serviceAccount, proxy.service, proxy.probes = kindDaemonSet, "kube-proxy", "kube-proxy", false, false
	proxy.image = w.registry + "/mirror/kube-proxy:v1.31." + fmt.Sprint(w.r.Intn(6))
	proxy.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	proxy.csc = &corev1.SecurityContext{Privileged: ptr(true)}
	px := w.buildApp(proxy)
	var agentPod string
	for _, x := range []*app{ag, px} {
		x.ds.Spec.Template.Spec.HostNetwork = true
		for _, p := range x.pods {
			p.Spec.HostNetwork = true
			p.Status.PodIP, p.Status.PodIPs = nodeIP(nodeByName(w, p.Spec.NodeName)), nil
			if x == ag && p.Spec.NodeName == node.Name {
				agentPod = p.Name
				w.log("kube-system", p.Name, agentName, false, agentLog...)
			}
			if x == px {
				w.log("kube-system", p.Name, "kube-proxy", false, `I0101 00:00:00.000000       1 server_linux.go:169] "Using iptables Proxier"`)
			}
		}
	}
	// The workload scales out; the new pods land on the node and wait.
	count := int32(1 + w.r.Intn(2))
	a.scaleUp(count)
	var stuck []string
	for i := int32(0); i < count; i++ {
		var p *corev1.Pod
		if a.rs != nil {
			p = a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, node, since)
		} else {
			p = a.addPod(fmt.Sprintf("%s-%d", s.name, len(a.pods)), a.sts.Spec.Template, "apps/v1", "StatefulSet", a.sts.ObjectMeta, node, since)
		}
		p.Status.Phase, p.Status.PodIP, p.Status.PodIPs = corev1.PodPending, "", nil
		for j := range p.Status.ContainerStatuses {
			cs := &p.Status.ContainerStatuses[j]
			cs.State = corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}
			cs.Ready, cs.Started, cs.ContainerID, cs.ImageID = false, ptr(false), "", ""
		}
		w.setReady(p, false, since, mainContainer(p))
		w.event(p, ev{typ: corev1.EventTypeNormal, reason: "Scheduled", component: "default-scheduler", last: since,
			message: fmt.Sprintf("Successfully assigned %s/%s to %s", s.ns, p.Name, node.Name)})
		msg := fmt.Sprintf(`Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox %q: plugin type=%q name=%q failed (add): add cmd: failed to assign an IP address to container`, w.hex(64), plugin, plugin)
		if v.n == 1 {
			msg = fmt.Sprintf(`Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox %q: plugin type=%q failed (add): failed to request IPv4 addresses: failed to allocate`, w.hex(64), plugin)
		}
		w.event(p, ev{reason: "FailedCreatePodSandBox", component: "kubelet", host: node.Name, count: int32(20 + w.r.Intn(60)), first: since, last: w.between(10*time.Second, 2*time.Minute), message: msg})
		stuck = append(stuck, p.Name)
	}
	return result{ns: s.ns, alerts: []alertDef{w.replicasMismatch(a)},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("Pods %s of %s %s/%s stay in ContainerCreating on node %s: the CNI plugin %s gets no address; its agent kube-system/%s reports %s exhausted.", strings.Join(stuck, ", "), s.kind, s.ns, s.name, node.Name, plugin, agentPod, space),
			g(agentPod), g(space))}
}

func nodeByName(w *world, name string) *corev1.Node {
	for _, n := range w.nodes {
		if n.Name == name {
			return n
		}
	}
	return w.nodes[0]
}

// pidPressureUnkillable: a pod crash-loops because it cannot create
// threads on a node under PIDPressure; the node's kubelet keeps evicting
// a pod of another namespace that forks without bound and cannot stop it
// (FailedKillPod: the runtime cannot fork either). Variant 0's holder is a
// Deployment's pod; variant 1's a Job's pod, with an unrelated pod evicted
// once as collateral.
func pidPressureUnkillable(w *world, v variant) result {
	n := w.nodes[0]
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.nodes = []*corev1.Node{n}
	s.replicas = 1
	a := w.buildApp(s)
	victim := a.pods[0]
	since := w.between(10*time.Minute, 40*time.Minute)
	w.setNodeCondition(n, corev1.NodePIDPressure, corev1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available", since)
	n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/pid-pressure", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
	w.event(n, ev{reason: "EvictionThresholdMet", component: "kubelet", host: n.Name, count: int32(20 + w.r.Intn(40)), first: since, last: w.between(time.Minute, 5*time.Minute), message: "Attempting to reclaim pids"})
	w.crashLoop(victim, mainContainer(victim), restart{exitCode: 2, reason: "Error", ran: 3 * time.Second, count: int32(5 + w.r.Intn(8)), since: since})
	w.log(s.ns, victim.Name, mainContainer(victim), true,
		"runtime: failed to create new OS thread (have 7 already; errno=11)",
		"runtime: may need to increase max user processes (ulimit -u)",
		"fatal error: newosproc")
	hns := w.namespace()
	var holder *corev1.Pod
	if v.n == 0 {
		holder = w.hog(n, hns).pods[0]
	} else {
		jname := pick(w.r, []string{"ci-build", "integration-tests", "fuzz-run"})
		_, jp, _ := w.buildJob(jobRun{ns: hns, name: jname, image: w.image(hns, jname, w.version()), sa: "default", backoffLimit: 0}, 1, since+5*time.Minute)
		holder = jp[0]
		holder.Spec.NodeName = n.Name
		cns := w.namespace()
		c := w.hog(n, cns).pods[0]
		w.evicted(c, fmt.Sprintf("The node was low on resource: pids. Threshold quantity: %d, available: %d. ", 3276, 1500+w.r.Intn(800)), since-time.Minute)
	}
	evictions := int32(15 + w.r.Intn(50))
	w.event(holder, ev{reason: "Evicted", component: "kubelet", host: n.Name, count: evictions, first: since, last: w.between(20*time.Second, 2*time.Minute),
		message: fmt.Sprintf("The node was low on resource: pids. Threshold quantity: %d, available: %d. ", 3276, 10+w.r.Intn(60))})
	w.event(holder, ev{reason: "FailedKillPod", component: "kubelet", host: n.Name, count: evictions - 1, first: since, last: w.between(20*time.Second, 2*time.Minute),
		message: fmt.Sprintf(`error killing pod: [failed to "KillContainer" for %q with KillContainerError: "rpc error: code = Unknown desc = failed to kill container \"%s\": unknown error after kill: runc did not terminate successfully: fork/exec /usr/sbin/runc: resource temporarily unavailable: unknown"]`, mainContainer(holder), w.hex(64))})
	return result{ns: s.ns, alerts: []alertDef{w.crashLooping(victim, mainContainer(victim))},
		expect: expect(investigate.PodCrash, cats{investigate.NodeNotReady, investigate.PodRestart},
			fmt.Sprintf("Node %s has PIDPressure: pod %s/%s forks without bound and the kubelet cannot kill it (FailedKillPod); pod %s/%s cannot create threads there and crash-loops.", n.Name, hns, holder.Name, s.ns, victim.Name),
			g("pid"), g(holder.Name))}
}
