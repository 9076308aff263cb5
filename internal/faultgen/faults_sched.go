package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

// preemption is the scheduler's second sentence for n nodes.
func preemption(n int, victims bool) string {
	if victims {
		return fmt.Sprintf("preemption: 0/%d nodes are available: %d No preemption victims found for incoming pod.", n, n)
	}
	return fmt.Sprintf("preemption: 0/%d nodes are available: %d Preemption is not helpful for scheduling.", n, n)
}

// pendingApp builds the app with mutate applied to the new revision and
// leaves the pods carrying it Pending with the scheduler's message.
func (w *world) pendingApp(s appSpec, mutate func(*appSpec), message string) (*app, []*corev1.Pod) {
	since := w.between(15*time.Minute, 70*time.Minute)
	a, pods := w.breakApp(s, mutate, since, true)
	for _, p := range pods {
		w.unschedulable(p, message, since)
	}
	return a, pods
}

// pendingAlert is the variant's alert for a pending pod.
func (w *world) pendingAlert(v variant, a *app, p *corev1.Pod) alertDef {
	if v.n%2 == 0 {
		return w.podNotReady(p)
	}
	return w.workloadAlert(a, true)
}

var pendingCats = cats{}

func insufficientCPU(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	cpu := w.nodes[0].Status.Allocatable.Cpu().MilliValue()
	req := fmt.Sprintf("%dm", cpu+500+int64(w.r.Intn(8))*250)
	n := len(w.nodes)
	a, pods := w.pendingApp(s, func(s *appSpec) { s.cpuReq, s.cpuLim = req, "" },
		fmt.Sprintf("0/%d nodes are available: %d Insufficient cpu. %s", n, n, preemption(n, true)))
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s requests %s CPU per pod, more than any node can allocate: Insufficient cpu.", s.kind, s.ns, s.name, req),
			g("insufficient cpu", "cpu request", "requests.cpu", "not enough cpu", "cpu"), g(req, strings.TrimSuffix(req, "m")+" millicores"))}
}

func insufficientMemory(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	mem := w.nodes[0].Status.Allocatable.Memory().Value() >> 30
	req := fmt.Sprintf("%dGi", mem+2+int64(w.r.Intn(10)))
	n := len(w.nodes)
	a, pods := w.pendingApp(s, func(s *appSpec) { s.memReq, s.memLim = req, req },
		fmt.Sprintf("0/%d nodes are available: %d Insufficient memory. %s", n, n, preemption(n, true)))
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s requests %s of memory per pod, more than any node can allocate: Insufficient memory.", s.kind, s.ns, s.name, req),
			g("insufficient memory", "memory request", "requests.memory", "not enough memory", "memory"), g(strings.ToLower(req), strings.ToLower(strings.TrimSuffix(req, "i"))))}
}

func nodeSelectorMismatch(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	n := len(w.nodes)
	key, val := pick(w.r, []string{"disktype", "node-type", "workload-class"}), pick(w.r, []string{"nvme", "highmem", "compute-optimized", "ssd"})
	mechanism := g("nodeselector", "node selector", "node affinity", "affinity/selector")
	mutate := func(s *appSpec) { s.nodeSelector = map[string]string{key: val} }
	if v.n == 1 {
		key = "topology.kubernetes.io/zone"
		val = w.nodes[0].Labels["topology.kubernetes.io/region"] + "d"
		mutate = func(s *appSpec) {
			s.affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
				NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: key, Operator: corev1.NodeSelectorOpIn, Values: []string{val}}}}}}}}
		}
		mechanism = g("node affinity", "nodeaffinity", "affinity")
	}
	a, pods := w.pendingApp(s, mutate,
		fmt.Sprintf("0/%d nodes are available: %d node(s) didn't match Pod's node affinity/selector. %s", n, n, preemption(n, false)))
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s requires nodes labelled %s=%s; no node has that label.", s.kind, s.ns, s.name, key, val),
			mechanism, g(val))}
}

func taintNotTolerated(w *world, v variant) result {
	pool := pick(w.r, []string{"gpu", "ingest", "batch", "search", "highmem"})
	tainted := w.addNodes(2, nodePool{name: pool, labels: map[string]string{"node-pool": pool},
		taints: []corev1.Taint{{Key: "dedicated", Value: pool, Effect: corev1.TaintEffectNoSchedule}}})
	s := w.spec(v, kindDeployment, kindStatefulSet)
	n := len(w.nodes)
	a, pods := w.pendingApp(s, func(s *appSpec) { s.nodeSelector = map[string]string{"node-pool": pool} },
		fmt.Sprintf("0/%d nodes are available: %d node(s) had untolerated taint {dedicated: %s}, %d node(s) didn't match Pod's node affinity/selector. %s",
			n, len(tainted), pool, n-len(tainted), preemption(n, false)))
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s selects the %s node pool but does not tolerate its taint dedicated=%s:NoSchedule.", s.kind, s.ns, s.name, pool, pool),
			g("taint", "toleration", "tolerate"), g("dedicated="+pool, "dedicated: "+pool, pool))}
}

func allNodesCordoned(w *world, v variant) result {
	since := w.between(30*time.Minute, 3*time.Hour)
	var names []string
	for _, n := range w.nodes {
		n.Spec.Unschedulable = true
		n.Spec.Taints = append(n.Spec.Taints, corev1.Taint{Key: "node.kubernetes.io/unschedulable", Effect: corev1.TaintEffectNoSchedule, TimeAdded: ptr(w.ago(since))})
		names = append(names, n.Name)
		w.event(n, ev{typ: corev1.EventTypeNormal, reason: "NodeNotSchedulable", component: "kubelet", host: n.Name, last: since,
			message: fmt.Sprintf("Node %s status is now: NodeNotSchedulable", n.Name)})
	}
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.nodes = w.nodes
	n := len(w.nodes)
	a, pods := w.pendingApp(s, func(*appSpec) {},
		fmt.Sprintf("0/%d nodes are available: %d node(s) were unschedulable. %s", n, n, preemption(n, false)))
	return result{ns: s.ns, alerts: []alertDef{w.pendingAlert(v, a, pods[0])},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("Every node (%s) is cordoned (unschedulable), so the new pod of %s/%s cannot be placed.", strings.Join(names, ", "), s.ns, s.name),
			g("cordon", "unschedulable", "schedulingdisabled", "scheduling disabled"), append(g("all nodes", "every node", "all worker", "all 3", "all 4", "all 5"), names...))}
}

func antiAffinity(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	n := len(w.nodes)
	s.replicas = int32(n)
	s.affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{{
		LabelSelector: &metav1.LabelSelector{MatchLabels: map[string]string{s.selectorKey: s.name}}, TopologyKey: "kubernetes.io/hostname"}}}}
	s.nodes = w.nodes
	a := w.buildApp(s)
	extra := int32(1 + w.r.Intn(2))
	a.scaleUp(extra)
	since := w.between(15*time.Minute, 60*time.Minute)
	msg := fmt.Sprintf("0/%d nodes are available: %d node(s) didn't match pod anti-affinity rules. %s", n, n, preemption(n, false))
	var pending *corev1.Pod
	for i := int32(0); i < extra; i++ {
		var p *corev1.Pod
		if a.dep != nil {
			p = a.addPod(a.rs.Name+"-"+w.alnum(5), a.rs.Spec.Template, "apps/v1", "ReplicaSet", a.rs.ObjectMeta, w.nodes[0], since)
		} else {
			p = a.addPod(fmt.Sprintf("%s-%d", s.name, n+int(i)), a.sts.Spec.Template, "apps/v1", "StatefulSet", a.sts.ObjectMeta, w.nodes[0], since)
		}
		w.unschedulable(p, msg, since)
		if pending == nil {
			pending = p
		}
	}
	if a.dep != nil {
		w.event(a.dep, ev{typ: corev1.EventTypeNormal, reason: "ScalingReplicaSet", component: "deployment-controller", last: since,
			message: fmt.Sprintf("Scaled up replica set %s from %d to %d", a.rs.Name, n, n+int(extra))})
	}
	alert := w.podNotReady(pending)
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s/%s wants %d replicas with required pod anti-affinity per hostname, but the cluster has only %d nodes.", s.ns, s.name, n+int(extra), n),
			g("anti-affinity", "antiaffinity", "anti affinity"), g(s.name))}
}

func hostPortConflict(w *world, v variant) result {
	port := pick(w.r, []int32{9100, 4317, 8125, 9400})
	holder := map[int32]string{9100: "node-exporter", 4317: "otel-agent", 8125: "statsd-exporter", 9400: "dcgm-exporter"}[port]
	hs := w.defaultSpec("monitoring")
	hs.kind, hs.name, hs.serviceAccount, hs.port, hs.hostPort, hs.service = kindDaemonSet, holder, holder, port, port, false
	hs.image = w.registry + "/mirror/" + holder + ":" + w.version()
	hs.tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	w.buildApp(hs)
	s := w.spec(v, kindDeployment, kindDaemonSet)
	s.port = port
	s.hostPort = port
	if v.n == 1 {
		s.name = pick(w.r, []string{"log-shipper", "trace-agent", "metrics-agent"})
		s.image = w.image("platform", s.name, s.version)
	}
	n := len(w.nodes)
	since := w.between(15*time.Minute, 60*time.Minute)
	var a *app
	var pods []*corev1.Pod
	if s.kind == kindDeployment {
		s.hostPort = 0
		a = w.buildApp(s)
		pods = a.rollout(func(s *appSpec) { s.hostPort = port }, 1, since, true)
		for _, p := range pods {
			w.unschedulable(p, fmt.Sprintf("0/%d nodes are available: %d node(s) didn't have free ports for the requested pod ports. %s", n, n, preemption(n, false)), since)
		}
	} else {
		a = w.buildApp(s)
		pods = a.pods
		for _, p := range pods {
			w.unschedulable(p, fmt.Sprintf("0/%d nodes are available: 1 node(s) didn't have free ports for the requested pod ports, %d node(s) didn't match Pod's node affinity/selector. %s", n, n-1, preemption(n, false)), since)
		}
		a.ds.Status.DesiredNumberScheduled = int32(n)
	}
	alert := w.podNotReady(pods[0])
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s asks for hostPort %d, which DaemonSet monitoring/%s already holds on every node.", s.kind, s.ns, s.name, port, holder),
			g("hostport", "host port", "free ports", "port conflict", "already in use"), g(fmt.Sprint(port)))}
}

// quota adds a ResourceQuota whose hard limit on res equals what the
// namespace's pods use now.
func (w *world) quota(ns, name string, res corev1.ResourceName, used resource.Quantity) *corev1.ResourceQuota {
	q := &corev1.ResourceQuota{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ResourceQuota"},
		ObjectMeta: w.meta(ns, name, nil, w.between(30*24*time.Hour, 200*24*time.Hour)),
		Spec:       corev1.ResourceQuotaSpec{Hard: corev1.ResourceList{res: used, corev1.ResourcePods: resource.MustParse("50")}},
		Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{res: used, corev1.ResourcePods: resource.MustParse("50")},
			Used: corev1.ResourceList{res: used}}}
	w.add(q)
	return q
}

func failedCreateQuota(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	res, key := corev1.ResourceRequestsMemory, "requests.memory"
	per := resource.MustParse(s.memReq)
	if v.n == 1 {
		res, key = corev1.ResourceRequestsCPU, "requests.cpu"
		per = resource.MustParse(s.cpuReq)
	}
	used := per.DeepCopy()
	used.Set(0)
	for range a.pods {
		used.Add(per)
	}
	name := s.ns + pick(w.r, []string{"-quota", "-compute", "-team-quota"})
	q := w.quota(s.ns, name, res, used)
	q.Status.Used[corev1.ResourcePods] = resource.MustParse(fmt.Sprint(len(a.pods)))
	since := w.between(15*time.Minute, 60*time.Minute)
	a.scaleUp(int32(1 + w.r.Intn(3)))
	refusal := fmt.Sprintf("exceeded quota: %s, requested: %s=%s, used: %s=%s, limited: %s=%s", name, key, per.String(), key, used.String(), key, used.String())
	a.failedCreate(refusal, since)
	if a.dep != nil {
		w.event(a.dep, ev{typ: corev1.EventTypeNormal, reason: "ScalingReplicaSet", component: "deployment-controller", last: since,
			message: fmt.Sprintf("Scaled up replica set %s from %d to %d", a.rs.Name, len(a.pods), *a.dep.Spec.Replicas)})
	}
	alert := w.replicasMismatch(a)
	alerts := []alertDef{alert}
	if v.n == 1 {
		alerts = append(alerts, w.quotaFullyUsed(s.ns, name, key))
	}
	return result{ns: s.ns, alerts: alerts,
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("%s %s/%s cannot create more pods: ResourceQuota %s is exhausted on %s (used %s of %s).", s.kind, s.ns, s.name, name, key, used.String(), used.String()),
			g("quota"), g(name, key))}
}

func failedCreateLimitRange(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindDaemonSet)
	max := pick(w.r, []string{"1Gi", "2Gi", "512Mi"})
	maxQ := resource.MustParse(max)
	limQ := maxQ.DeepCopy()
	limQ.Add(maxQ)
	lim := limQ.String()
	name := pick(w.r, []string{"container-limits", "default-limits", s.ns + "-limits"})
	lr := &corev1.LimitRange{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "LimitRange"}, ObjectMeta: w.meta(s.ns, name, nil, w.between(2*time.Hour, 10*24*time.Hour)),
		Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer,
			Max:            corev1.ResourceList{corev1.ResourceMemory: maxQ},
			Default:        corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("256Mi")},
			DefaultRequest: corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")}}}}}
	w.add(lr)
	since := w.between(15*time.Minute, 60*time.Minute)
	refusal := fmt.Sprintf("maximum memory usage per Container is %s, but limit is %s", max, lim)
	var a *app
	if s.kind == kindDeployment {
		a = w.buildApp(s)
		a.rollout(func(s *appSpec) { s.memLim, s.memReq = lim, lim }, 0, since, true)
	} else {
		s.memLim, s.memReq = lim, lim
		a = w.buildApp(s)
		// The newest node has no pod: its creation is refused.
		last := a.pods[len(a.pods)-1]
		w.drop(last)
		a.pods = a.pods[:len(a.pods)-1]
		a.ds.Status.DesiredNumberScheduled = int32(len(a.spec.nodes))
	}
	a.failedCreate(refusal, since)
	return result{ns: s.ns, alerts: []alertDef{w.workloadAlert(a, true)},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("LimitRange %s/%s caps container memory at %s; %s sets a limit of %s, so its pods are refused.", s.ns, name, max, s.name, lim),
			g("limitrange", "limit range", "maximum memory"), g(name, strings.ToLower(max)))}
}

func failedCreatePodSecurity(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	w.nsLabels[s.ns] = map[string]string{"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest"}
	since := w.between(15*time.Minute, 60*time.Minute)
	c := s.name
	refusal := fmt.Sprintf(`violates PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container %q must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container %q must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container %q must set securityContext.runAsNonRoot=true), seccompProfile (pod or container %q must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")`, c, c, c, c)
	var a *app
	if s.kind == kindDeployment {
		a = w.buildApp(s)
		a.rollout(func(*appSpec) {}, 0, since, true)
	} else {
		a = w.buildApp(s)
		a.scaleUp(1)
	}
	a.failedCreate(refusal, since)
	return result{ns: s.ns, alerts: []alertDef{w.workloadAlert(a, true)},
		expect: expect(investigate.PodPending, pendingCats,
			fmt.Sprintf("Namespace %s enforces the restricted Pod Security Standard and the pod template of %s violates it, so no pod is created.", s.ns, s.name),
			g("podsecurity", "pod security", "pod-security"), g("restricted", "runasnonroot", "allowprivilegeescalation"))}
}

// drop removes an object from the world.
func (w *world) drop(obj any) {
	out := w.objs[:0]
	for _, o := range w.objs {
		if any(o) != obj {
			out = append(out, o)
		}
	}
	w.objs = out
}
