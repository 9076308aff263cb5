package faultgen

import (
	"fmt"
	"sort"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// base builds the healthy platform every scenario shares: worker nodes and
// CoreDNS behind the kube-dns Service.
func (w *world) base() {
	w.addNodes(3+w.r.Intn(3), nodePool{name: pick(w.r, []string{"general", "default", "workers", "apps", "wrk"})})
	w.coreDNS = w.buildCoreDNS()
}

const corefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . %s {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`

func (w *world) buildCoreDNS() *app {
	s := appSpec{kind: kindDeployment, ns: "kube-system", name: "coredns", team: "kube-system", replicas: 2, port: 53, portName: "dns",
		version: "v1.11.3", image: w.registry + "/mirror/coredns/coredns:v1.11.3", args: []string{"-conf", "/etc/coredns/Corefile"},
		cpuReq: "100m", memReq: "70Mi", memLim: "170Mi", service: true, serviceName: "kube-dns", selectorKey: "k8s-app", selectorValue: "kube-dns",
		age: w.between(20*24*time.Hour, 90*24*time.Hour), serviceAccount: "coredns", maxSurge: "25%", maxUnavailable: "1",
		extraPorts: []corev1.ContainerPort{{Name: "dns-tcp", ContainerPort: 53, Protocol: corev1.ProtocolTCP}, {Name: "metrics", ContainerPort: 9153, Protocol: corev1.ProtocolTCP}},
		svcPorts: []corev1.ServicePort{{Name: "dns", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolUDP},
			{Name: "dns-tcp", Port: 53, TargetPort: intstr.FromInt32(53), Protocol: corev1.ProtocolTCP},
			{Name: "metrics", Port: 9153, TargetPort: intstr.FromInt32(9153), Protocol: corev1.ProtocolTCP}},
		mounts:      []corev1.VolumeMount{{Name: "config-volume", MountPath: "/etc/coredns", ReadOnly: true}},
		volumes:     []corev1.Volume{{Name: "config-volume", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "coredns"}, Items: []corev1.KeyToPath{{Key: "Corefile", Path: "Corefile"}}, DefaultMode: ptr[int32](420)}}}},
		tolerations: []corev1.Toleration{{Key: "CriticalAddonsOnly", Operator: corev1.TolerationOpExists}, {Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}},
	}
	s.csc = &corev1.SecurityContext{AllowPrivilegeEscalation: ptr(false), ReadOnlyRootFilesystem: ptr(true),
		Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_BIND_SERVICE"}, Drop: []corev1.Capability{"ALL"}}}
	w.configMap("kube-system", "coredns", map[string]string{"Corefile": fmt.Sprintf(corefile, "/etc/resolv.conf")}, s.age+24*time.Hour)
	a := w.buildApp(s)
	c := &a.dep.Spec.Template.Spec.Containers[0]
	c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/health", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}},
		InitialDelaySeconds: 60, TimeoutSeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 5}
	c.ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8181), Scheme: corev1.URISchemeHTTP}},
		TimeoutSeconds: 1, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3}
	for _, t := range []*corev1.PodTemplateSpec{&a.rs.Spec.Template} {
		t.Spec.Containers[0].LivenessProbe, t.Spec.Containers[0].ReadinessProbe = c.LivenessProbe, c.ReadinessProbe
	}
	for _, p := range a.pods {
		p.Spec.Containers[0].LivenessProbe, p.Spec.Containers[0].ReadinessProbe = c.LivenessProbe, c.ReadinessProbe
		p.Spec.PriorityClassName, p.Spec.Priority = "system-cluster-critical", ptr[int32](2000000000)
		w.log("kube-system", p.Name, "coredns", false,
			".:53",
			"[INFO] plugin/reload: Running configuration SHA512 = "+w.hex(32)+w.hex(32)+w.hex(32)+w.hex(32),
			"CoreDNS-1.11.3",
			"linux/amd64, go1.21.11, a6338e9")
	}
	a.svc.Spec.ClusterIP, a.svc.Spec.ClusterIPs = w.dnsIP, []string{w.dnsIP}
	a.svc.Labels = copyLabels(a.svc.Labels, "kubernetes.io/cluster-service", "true", "kubernetes.io/name", "CoreDNS")
	return a
}

// configMap adds a ConfigMap.
func (w *world) configMap(ns, name string, data map[string]string, age time.Duration) *corev1.ConfigMap {
	cm := &corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"}, ObjectMeta: w.meta(ns, name, nil, age), Data: data}
	w.add(cm)
	return cm
}

// neighbour builds a healthy application in ns (noise next to the fault).
func (w *world) neighbour(ns string) *app {
	s := w.defaultSpec(ns)
	s.replicas = 1 + int32(w.r.Intn(2))
	a := w.buildApp(s)
	for _, p := range a.pods {
		w.log(ns, p.Name, s.name, false, w.healthyLog(s, p, 6)...)
	}
	return a
}

// healthyLog is the ordinary log of a serving app.
func (w *world) healthyLog(s appSpec, p *corev1.Pod, n int) []string {
	t := w.now.Add(-w.between(5*time.Minute, 20*time.Minute))
	lines := []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"listening","addr":":%d","version":"%s"}`, ts(t), s.port, s.version)}
	paths := []string{"/api/v1/items", "/api/v1/orders", "/metrics", s.readinessPath, "/api/v2/search"}
	for i := 0; i < n; i++ {
		t = t.Add(w.between(5*time.Second, 90*time.Second))
		lines = append(lines, fmt.Sprintf(`{"level":"info","ts":"%s","msg":"request","method":"GET","path":"%s","status":200,"duration_ms":%d}`,
			ts(t), pick(w.r, paths), 1+w.r.Intn(80)))
	}
	return lines
}

// noise adds what real clusters hold beside a fault: healthy neighbours,
// and in odd variants red herrings — an unrelated crash-looping pod in
// another namespace and an old, resolved warning on a healthy pod.
func (w *world) noise(faultNS string, v int) {
	other := w.namespace()
	n := w.neighbour(other)
	if v%2 == 1 {
		s := w.defaultSpec(other)
		s.name = pick(w.r, []string{"legacy-exporter", "sandbox-loadgen", "report-mailer", "feature-flag-sync"})
		s.image = w.image("platform", s.name, "0.3.1")
		s.replicas = 1
		s.service = false
		s.probes = false
		a := w.buildApp(s)
		p := a.pods[0]
		w.crashLoop(p, s.name, restart{exitCode: 2, reason: "Error", ran: 3 * time.Second, count: int32(200 + w.r.Intn(800)), since: 4 * 24 * time.Hour})
		w.log(other, p.Name, s.name, true,
			fmt.Sprintf("%s starting %s", ts(w.now.Add(-4*time.Minute)), s.name),
			"panic: runtime error: index out of range [3] with length 3",
			"",
			"goroutine 1 [running]:",
			"main.loadTargets(...)",
			"\t/src/cmd/"+s.name+"/main.go:88 +0x1b4")
		if len(n.pods) > 0 {
			p := n.pods[0]
			w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fmt.Sprintf("spec.containers{%s}", mainContainer(p)),
				message: fmt.Sprintf("Readiness probe failed: Get \"http://%s:%d%s\": context deadline exceeded (Client.Timeout exceeded while awaiting headers)", p.Status.PodIP, n.spec.port, n.spec.readinessPath),
				count:   2, first: 52 * time.Minute, last: 51 * time.Minute})
		}
	}
	if faultNS != "" && v%2 == 0 {
		w.neighbour(faultNS)
	}
}

// namespaces prepends a Namespace object for every namespace in use.
func (w *world) namespaces() {
	seen := map[string]bool{}
	for _, o := range w.objs {
		if m, ok := o.(metav1.ObjectMetaAccessor); ok && m.GetObjectMeta().GetNamespace() != "" {
			seen[m.GetObjectMeta().GetNamespace()] = true
		}
	}
	seen["default"] = true
	names := make([]string, 0, len(seen))
	for n := range seen {
		names = append(names, n)
	}
	sort.Strings(names)
	var nss []runtime.Object
	for _, n := range names {
		ns := &corev1.Namespace{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: w.meta("", n, copyLabels(w.nsLabels[n], "kubernetes.io/metadata.name", n), w.between(200*24*time.Hour, 800*24*time.Hour)),
			Spec:       corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{corev1.FinalizerKubernetes}},
			Status:     corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
		nss = append(nss, ns)
	}
	w.objs = append(nss, w.objs...)
}
