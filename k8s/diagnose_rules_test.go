package k8s

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/k8flex/k8flex/investigate"
)

// ruleCase is one hand-built snapshot and what the rule family must (or
// must not) conclude from it.
type ruleCase struct {
	name string
	snap func() *Snapshot
	// rule is the finding expected; "" means no finding of the family.
	rule string
	// want are substrings of the finding's summary, objects or proof.
	summary, objects, proof []string
}

// runRuleCases runs Diagnose on each case and checks the findings whose
// rule starts with one of family.
func runRuleCases(t *testing.T, family []string, cases []ruleCase) {
	t.Helper()
	for _, tt := range cases {
		t.Run(tt.name, func(t *testing.T) {
			var got []investigate.Finding
			for _, f := range tt.snap().Diagnose() {
				for _, p := range family {
					if strings.HasPrefix(f.Rule, p) {
						got = append(got, f)
						break
					}
				}
			}
			if tt.rule == "" {
				for _, f := range got {
					t.Errorf("unexpected finding %s: %s", f.Rule, f.Summary)
				}
				return
			}
			var f *investigate.Finding
			for i := range got {
				if got[i].Rule == tt.rule {
					f = &got[i]
					break
				}
			}
			if f == nil {
				t.Fatalf("no %s finding; got %+v", tt.rule, got)
			}
			checkContains(t, "summary", []string{f.Summary}, tt.summary)
			checkContains(t, "objects", f.Objects, tt.objects)
			checkContains(t, "proof", f.Proof, tt.proof)
		})
	}
}

func checkContains(t *testing.T, what string, have, want []string) {
	t.Helper()
	all := strings.Join(have, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, all)
		}
	}
}

func nodeWith(name string, conds ...corev1.NodeCondition) corev1.Node {
	n := newNode(name, "10.0.0.1")
	n.Status.Conditions = conds
	return *n
}

func cond(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
	return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg,
		LastHeartbeatTime: metav1.NewTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))}
}

func healthyConds() []corev1.NodeCondition {
	return []corev1.NodeCondition{
		cond(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
		cond(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		cond(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		cond(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		cond(corev1.NodeNetworkUnavailable, corev1.ConditionFalse, "RouteCreated", "RouteController created a route"),
	}
}

// withCond replaces one condition of healthyConds.
func withCond(c corev1.NodeCondition) []corev1.NodeCondition {
	out := healthyConds()
	for i := range out {
		if out[i].Type == c.Type {
			out[i] = c
		}
	}
	return out
}

func onNode(n string) podOpt { return func(p *corev1.Pod) { p.Spec.NodeName = n } }

func TestDiagnoseNodeRules(t *testing.T) {
	runRuleCases(t, []string{"node-"}, []ruleCase{
		{name: "kubelet stopped posting status", rule: "node-not-ready",
			snap: func() *Snapshot {
				n := nodeWith("worker-2", withCond(cond(corev1.NodeReady, corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."))...)
				n.Spec.Taints = []corev1.Taint{{Key: "node.kubernetes.io/unreachable", Effect: corev1.TaintEffectNoExecute}}
				return &Snapshot{Nodes: []corev1.Node{n}, Pods: []corev1.Pod{*newPod("shop", "web-0", onNode("worker-2"))}}
			},
			summary: []string{"worker-2", "NotReady", "Kubelet stopped posting node status", "last heartbeat 2026-11-01T10:00:00Z"},
			objects: []string{"node/worker-2", "pod/shop/web-0"},
			proof:   []string{"condition Ready=Unknown", "node.kubernetes.io/unreachable:NoExecute"}},
		{name: "disk pressure names the verbose writer", rule: "node-disk-pressure",
			snap: func() *Snapshot {
				n := nodeWith("worker-1", withCond(cond(corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure"))...)
				writer := newPod("ops", "debug-dump", onNode("worker-1"), func(p *corev1.Pod) {
					p.Spec.Containers[0].Args = []string{"--log-level=debug", "--log-file=/var/log/app/debug.log"}
				})
				evicted := newPod("shop", "cart-1", onNode("worker-1"), func(p *corev1.Pod) {
					p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted"
					p.Status.Message = "The node was low on resource: ephemeral-storage."
				})
				return &Snapshot{Nodes: []corev1.Node{n}, Pods: []corev1.Pod{*evicted}, RelatedPods: []corev1.Pod{*writer}}
			},
			summary: []string{"worker-1", "DiskPressure", "ops/debug-dump", "verbose logging"},
			objects: []string{"node/worker-1", "pod/shop/cart-1"},
			proof:   []string{"DiskPressure=True", "--log-file=/var/log/app/debug.log"}},
		{name: "memory pressure", rule: "node-memory-pressure",
			snap: func() *Snapshot {
				return &Snapshot{Nodes: []corev1.Node{nodeWith("worker-3", withCond(cond(corev1.NodeMemoryPressure, corev1.ConditionTrue, "KubeletHasInsufficientMemory", "kubelet has insufficient memory available"))...)}}
			},
			summary: []string{"worker-3", "MemoryPressure"}, proof: []string{"MemoryPressure=True"}},
		{name: "CNI not ready", rule: "node-network-unavailable",
			snap: func() *Snapshot {
				return &Snapshot{Nodes: []corev1.Node{nodeWith("worker-4", withCond(cond(corev1.NodeNetworkUnavailable, corev1.ConditionTrue, "NoRouteCreated", "cni plugin not initialized"))...)}}
			},
			summary: []string{"worker-4", "NetworkUnavailable"}, proof: []string{"cni plugin not initialized"}},
		{name: "healthy node with every pressure condition False", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Nodes: []corev1.Node{nodeWith("worker-1", healthyConds()...)}, Pods: []corev1.Pod{*newPod("shop", "web-0", onNode("worker-1"))}}
			}},
		{name: "node without conditions reported", rule: "",
			snap: func() *Snapshot { return &Snapshot{Nodes: []corev1.Node{nodeWith("worker-9")}} }},
	})
}

func policy(ns, name string, sel map[string]string, types []networkingv1.PolicyType, in []networkingv1.NetworkPolicyIngressRule, eg []networkingv1.NetworkPolicyEgressRule) networkingv1.NetworkPolicy {
	return networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: sel}, PolicyTypes: types, Ingress: in, Egress: eg},
	}
}

func fromNamespace(ns string) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns}}}
}

func npPort(proto corev1.Protocol, port int) networkingv1.NetworkPolicyPort {
	p := intstr.FromInt32(int32(port))
	return networkingv1.NetworkPolicyPort{Protocol: &proto, Port: &p}
}

func TestDiagnoseNetworkPolicyRules(t *testing.T) {
	ingress := []networkingv1.PolicyType{networkingv1.PolicyTypeIngress}
	egress := []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}
	web := func() corev1.Pod { return *newPod("shop", "web-0", withLabels("app", "web")) }
	prom := func() corev1.Pod { return *newPod("monitoring", "prometheus-0", withLabels("app", "prometheus")) }
	runRuleCases(t, []string{"netpol-"}, []ruleCase{
		{name: "default deny drops a known client", rule: "netpol-ingress-deny",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{web()}, RelatedPods: []corev1.Pod{prom()},
					NetworkPolicies: []networkingv1.NetworkPolicy{policy("shop", "default-deny-ingress", nil, ingress, nil, nil)}}
			},
			summary: []string{"default-deny-ingress", "denies all ingress", "web-0", "prometheus-0 (namespace monitoring)"},
			objects: []string{"networkpolicy/shop/default-deny-ingress"},
			proof:   []string{"no ingress rules (deny all ingress)"}},
		{name: "allow rule that does not cover the client", rule: "netpol-ingress-deny",
			snap: func() *Snapshot {
				allow := policy("shop", "allow-frontend", map[string]string{"app": "web"}, ingress,
					[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{fromNamespace("frontend")}}}, nil)
				return &Snapshot{Pods: []corev1.Pod{web()}, RelatedPods: []corev1.Pod{prom()}, NetworkPolicies: []networkingv1.NetworkPolicy{allow}}
			},
			summary: []string{"allow-frontend allows from namespace frontend", "prometheus-0"},
			proof:   []string{"allow-frontend allows from namespace frontend"}},
		{name: "policy that allows the client's namespace", rule: "",
			snap: func() *Snapshot {
				allow := policy("shop", "allow-monitoring", map[string]string{"app": "web"}, ingress,
					[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{fromNamespace("monitoring")}}}, nil)
				return &Snapshot{Pods: []corev1.Pod{web()}, RelatedPods: []corev1.Pod{prom()}, NetworkPolicies: []networkingv1.NetworkPolicy{allow}}
			}},
		{name: "policy selecting other pods only", rule: "",
			snap: func() *Snapshot {
				deny := policy("shop", "deny-db", map[string]string{"app": "db"}, ingress, nil, nil)
				return &Snapshot{Pods: []corev1.Pod{web()}, RelatedPods: []corev1.Pod{prom()}, NetworkPolicies: []networkingv1.NetworkPolicy{deny}}
			}},
		{name: "egress policy without DNS", rule: "netpol-egress-dns",
			snap: func() *Snapshot {
				eg := policy("shop", "egress-db-only", map[string]string{"app": "web"}, egress, nil,
					[]networkingv1.NetworkPolicyEgressRule{{Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolTCP, 5432)}}})
				return &Snapshot{Pods: []corev1.Pod{web()}, NetworkPolicies: []networkingv1.NetworkPolicy{eg}}
			},
			summary: []string{"egress-db-only", "web-0", "DNS"},
			objects: []string{"networkpolicy/shop/egress-db-only"},
			proof:   []string{"egress rules: 1"}},
		{name: "egress policy that allows port 53", rule: "",
			snap: func() *Snapshot {
				eg := policy("shop", "egress-db-and-dns", map[string]string{"app": "web"}, egress, nil,
					[]networkingv1.NetworkPolicyEgressRule{
						{Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolTCP, 5432)}},
						{Ports: []networkingv1.NetworkPolicyPort{npPort(corev1.ProtocolUDP, 53), npPort(corev1.ProtocolTCP, 53)}},
					})
				return &Snapshot{Pods: []corev1.Pod{web()}, NetworkPolicies: []networkingv1.NetworkPolicy{eg}}
			}},
	})
}

func dnsPod(name string, opts ...podOpt) corev1.Pod {
	return *newPod("kube-system", name, append([]podOpt{withLabels("k8s-app", "kube-dns"), func(p *corev1.Pod) {
		p.Spec.Containers[0].Name = "coredns"
		p.Status.ContainerStatuses[0].Name = "coredns"
	}}, opts...)...)
}

func dnsCrashing(p *corev1.Pod) {
	crashLooping(5)(p)
	p.Status.ContainerStatuses[0].Name = "coredns"
}

func dnsState(ready bool, corefile string, pods ...corev1.Pod) *DNSState {
	r := ready
	return &DNSState{
		Pods:    pods,
		Service: &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns"}},
		Endpoints: []discoveryv1.EndpointSlice{{
			ObjectMeta: metav1.ObjectMeta{Namespace: "kube-system", Name: "kube-dns-x", Labels: map[string]string{"kubernetes.io/service-name": "kube-dns"}},
			Endpoints:  []discoveryv1.Endpoint{{Addresses: []string{"10.0.0.10"}, Conditions: discoveryv1.EndpointConditions{Ready: &r}}},
		}},
		Corefile: corefile,
	}
}

func TestDiagnoseDNSRules(t *testing.T) {
	const corefile = ".:53 {\n    errors\n    forward . /etc/resolv.conf {\n       max_concurrent 1000\n    }\n    loop\n}\n"
	log := func(pod string, prev bool, lines ...string) ContainerLog {
		return ContainerLog{Namespace: "kube-system", Pod: pod, Container: "coredns", Previous: prev, Lines: lines}
	}
	runRuleCases(t, []string{"dns-"}, []ruleCase{
		{name: "forwarding loop", rule: "dns-loop",
			snap: func() *Snapshot {
				s := &Snapshot{DNS: dnsState(false, corefile, dnsPod("coredns-a", dnsCrashing))}
				s.DNS.Logs = []ContainerLog{log("coredns-a", true, "[FATAL] plugin/loop: Loop (127.0.0.1:41717 -> :53) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting")}
				return s
			},
			summary: []string{"coredns-a", "loop", `forward . /etc/resolv.conf`},
			proof:   []string{"plugin/loop: Loop (127.0.0.1:41717 -> :53) detected", "Corefile: forward . /etc/resolv.conf", "0 ready, 1 not ready"}},
		{name: "upstream timeouts", rule: "dns-upstream",
			snap: func() *Snapshot {
				s := &Snapshot{DNS: dnsState(true, corefile, dnsPod("coredns-a"))}
				s.DNS.Logs = []ContainerLog{log("coredns-a", false, "[ERROR] plugin/errors: 2 example.com. A: read udp 10.0.0.5:43100->10.1.0.2:53: i/o timeout")}
				return s
			},
			summary: []string{"coredns-a", "upstream"},
			proof:   []string{"i/o timeout", "1 ready, 0 not ready"}},
		{name: "crash loop without a loop message", rule: "dns-crash",
			snap: func() *Snapshot {
				s := &Snapshot{DNS: dnsState(false, corefile, dnsPod("coredns-a", dnsCrashing))}
				s.DNS.Logs = []ContainerLog{log("coredns-a", true, "plugin/forward: /etc/coredns/Corefile:5 - Error during parsing: unknown property 'maxfails'")}
				return s
			},
			summary: []string{"coredns-a", "crash-looping"},
			proof:   []string{"Error during parsing"}},
		{name: "healthy CoreDNS answering with routine log lines", rule: "",
			snap: func() *Snapshot {
				s := &Snapshot{DNS: dnsState(true, corefile, dnsPod("coredns-a"), dnsPod("coredns-b"))}
				s.DNS.Logs = []ContainerLog{log("coredns-a", false, ".:53", "[INFO] plugin/reload: Running configuration SHA512 = 1f2e", "CoreDNS-1.11.1")}
				return s
			}},
		{name: "NXDOMAIN answers are not upstream failures", rule: "",
			snap: func() *Snapshot {
				s := &Snapshot{DNS: dnsState(true, corefile, dnsPod("coredns-a"))}
				s.DNS.Logs = []ContainerLog{log("coredns-a", false, `[INFO] 10.0.1.4:5353 - 1 "A IN nope.shop.svc.cluster.local. udp 45 false 512" NXDOMAIN qr,aa,rd 138 0.0001s`)}
				return s
			}},
	})
}

func svc(ns, name string, sel map[string]string) corev1.Service {
	return corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: corev1.ServiceSpec{Selector: sel, ClusterIP: "10.96.0.40", Ports: []corev1.ServicePort{{Port: 5432, TargetPort: intstr.FromInt32(5432)}}}}
}

func slice(ns, svcName string, ready, notReady int) discoveryv1.EndpointSlice {
	es := discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: svcName + "-x", Labels: map[string]string{"kubernetes.io/service-name": svcName}}}
	t, f := true, false
	for range ready {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.2.1"}, Conditions: discoveryv1.EndpointConditions{Ready: &t}})
	}
	for range notReady {
		es.Endpoints = append(es.Endpoints, discoveryv1.Endpoint{Addresses: []string{"10.0.2.2"}, Conditions: discoveryv1.EndpointConditions{Ready: &f}})
	}
	return es
}

func TestDiagnoseDependencyRules(t *testing.T) {
	refused := `2026-11-01T10:00:00Z ERROR db: dial tcp orders-db.shop.svc.cluster.local:5432: connect: connection refused`
	appLog := func(lines ...string) []ContainerLog {
		return []ContainerLog{{Namespace: "shop", Pod: "api-0", Container: "app", Lines: lines}}
	}
	api := func() corev1.Pod { return *newPod("shop", "api-0", crashLooping(4)) }
	db := func(opts ...podOpt) corev1.Pod {
		return *newPod("shop", "orders-db-0", append([]podOpt{withLabels("app", "orders-db")}, opts...)...)
	}
	runRuleCases(t, []string{"dependency-"}, []ruleCase{
		{name: "refused by a Service whose backend crashes", rule: "dependency-connection-refused",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{api()}, RelatedPods: []corev1.Pod{db(crashLooping(7))},
					Services:       []corev1.Service{svc("shop", "orders-db", map[string]string{"app": "orders-db"})},
					EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "orders-db", 0, 1)},
					Logs:           appLog("starting", refused)}
			},
			summary: []string{"api-0", "orders-db.shop.svc.cluster.local:5432", "no ready endpoints", "orders-db-0 is not running (CrashLoopBackOff)"},
			objects: []string{"pod/shop/api-0", "service/shop/orders-db", "pod/shop/orders-db-0"},
			proof:   []string{"connection refused", "0 ready, 1 not ready"}},
		{name: "unresolvable host from an env var", rule: "dependency-host-name-does-not-resolve",
			snap: func() *Snapshot {
				p := api()
				p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "FLAGS_URL", Value: "http://flags.platform.svc.cluster.local:8080"}}
				return &Snapshot{Pods: []corev1.Pod{p}, MissingRefs: []string{"service/platform/flags"},
					Logs: appLog("fetch flags: Get \"http://flags.platform.svc.cluster.local:8080/v1\": dial tcp: lookup flags.platform.svc.cluster.local: no such host")}
			},
			summary: []string{"flags.platform.svc.cluster.local", "Service platform/flags does not exist", "env FLAGS_URL"},
			proof:   []string{"no such host"}},
		{name: "healthy log mentioning a timeout setting", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0")},
					Services: []corev1.Service{svc("shop", "orders-db", map[string]string{"app": "orders-db"})},
					Logs:     appLog("INFO connecting to orders-db.shop.svc.cluster.local:5432 with read timeout 30s", "INFO connected")}
			}},
		{name: "failure in a non-target pod's log", rule: "",
			snap: func() *Snapshot {
				other := ContainerLog{Namespace: "shop", Pod: "batch-0", Container: "app", Lines: []string{refused}}
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0")}, RelatedPods: []corev1.Pod{*newPod("shop", "batch-0")}, Logs: []ContainerLog{other}}
			}},
	})
	// With ready endpoints the refusal is context, not the cause.
	s := &Snapshot{Pods: []corev1.Pod{api()}, RelatedPods: []corev1.Pod{db()},
		Services:       []corev1.Service{svc("shop", "orders-db", map[string]string{"app": "orders-db"})},
		EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "orders-db", 1, 0)},
		Logs:           appLog(refused)}
	for _, f := range s.Diagnose() {
		if f.Rule == "dependency-connection-refused" && f.Score >= scoreDependency {
			t.Errorf("refusal with ready endpoints scored %d (>= %d): %s", f.Score, scoreDependency, f.Summary)
		}
	}
}

func podMetrics(ns, pod, container string, res corev1.ResourceName, q string) metricsv1beta1.PodMetrics {
	return metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pod},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: container, Usage: corev1.ResourceList{res: resource.MustParse(q)}}}}
}

func cpuLimit(q string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(q)}
	}
}

func TestDiagnoseResourceRules(t *testing.T) {
	runRuleCases(t, []string{"cpu-throttling"}, []ruleCase{
		{name: "usage at a LimitRange-injected limit", rule: "cpu-throttling",
			snap: func() *Snapshot {
				p := newPod("media", "resizer-0", cpuLimit("100m"), func(p *corev1.Pod) {
					p.Annotations = map[string]string{"kubernetes.io/limit-ranger": "LimitRanger plugin set: cpu limit for container app"}
				})
				lr := corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "media-defaults"},
					Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}
				return &Snapshot{Category: investigate.CPUThrottling, Pods: []corev1.Pod{*p}, LimitRanges: []corev1.LimitRange{lr},
					PodMetrics: []metricsv1beta1.PodMetrics{podMetrics("media", "resizer-0", "app", corev1.ResourceCPU, "99m")},
					Logs:       []ContainerLog{{Namespace: "media", Pod: "resizer-0", Container: "app", Lines: []string{"WARN slow request /resize took 4100ms"}}}}
			},
			summary: []string{"resizer-0", "CPU-throttled", "100m", "LimitRange media/media-defaults"},
			objects: []string{"pod/media/resizer-0"},
			proof:   []string{"cpu: 99m", "limits.cpu: 100m", "limit-ranger", "slow request"}},
		{name: "throttling alert without metrics.k8s.io", rule: "cpu-throttling",
			snap: func() *Snapshot {
				p := newPod("media", "resizer-0", cpuLimit("100m"), func(p *corev1.Pod) {
					p.Annotations = map[string]string{"kubernetes.io/limit-ranger": "LimitRanger plugin set: cpu limit for container app"}
				})
				lr := corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "media", Name: "media-defaults"},
					Spec: corev1.LimitRangeSpec{Limits: []corev1.LimitRangeItem{{Type: corev1.LimitTypeContainer, Default: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}
				return &Snapshot{Category: investigate.CPUThrottling, Target: investigate.Target{Namespace: "media", Pod: "resizer-0", Container: "app"},
					Pods: []corev1.Pod{*p}, LimitRanges: []corev1.LimitRange{lr},
					Gaps: []investigate.Gap{{Collector: "metrics", Reason: "list pod metrics in media: metrics API (metrics.k8s.io) not available"}}}
			},
			summary: []string{"resizer-0", "CPU-throttled, as the alert reports", "100m", "LimitRange media/media-defaults"},
			objects: []string{"pod/media/resizer-0"},
			proof:   []string{"limits.cpu: 100m", "limit-ranger"}},
		{name: "without metrics, the alert names another container", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Category: investigate.CPUThrottling, Target: investigate.Target{Namespace: "media", Pod: "resizer-0", Container: "sidecar"},
					Pods: []corev1.Pod{*newPod("media", "resizer-0", cpuLimit("100m"))}}
			}},
		{name: "without metrics, an alert of another category", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Category: investigate.PodRestart, Target: investigate.Target{Namespace: "media", Pod: "resizer-0", Container: "app"},
					Pods: []corev1.Pod{*newPod("media", "resizer-0", cpuLimit("100m"))}}
			}},
		{name: "usage well below the limit", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Category: investigate.CPUThrottling, Pods: []corev1.Pod{*newPod("media", "resizer-0", cpuLimit("1"))},
					PodMetrics: []metricsv1beta1.PodMetrics{podMetrics("media", "resizer-0", "app", corev1.ResourceCPU, "200m")}}
			}},
		{name: "no CPU limit", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Category: investigate.CPUThrottling, Pods: []corev1.Pod{*newPod("media", "resizer-0")},
					PodMetrics: []metricsv1beta1.PodMetrics{podMetrics("media", "resizer-0", "app", corev1.ResourceCPU, "3")}}
			}},
		{name: "a related pod at its limit is not the target", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Category: investigate.CPUThrottling, Pods: []corev1.Pod{*newPod("media", "resizer-0")},
					RelatedPods: []corev1.Pod{*newPod("media", "neighbour-0", cpuLimit("100m"))},
					PodMetrics:  []metricsv1beta1.PodMetrics{podMetrics("media", "neighbour-0", "app", corev1.ResourceCPU, "100m")}}
			}},
	})
	// Throttling seen during another category's investigation is context.
	s := &Snapshot{Category: investigate.PodCrash, Pods: []corev1.Pod{*newPod("media", "resizer-0", cpuLimit("100m"))},
		PodMetrics: []metricsv1beta1.PodMetrics{podMetrics("media", "resizer-0", "app", corev1.ResourceCPU, "100m")}}
	for _, f := range s.Diagnose() {
		if f.Rule == "cpu-throttling" && f.Score >= scoreCause {
			t.Errorf("throttling under category pod-crash scored %d: %s", f.Score, f.Summary)
		}
	}
}

// oomKilled marks the pod's app container as OOMKilled with a memory limit.
func oomKilled(limit string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(limit)}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", RestartCount: 3,
			State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
			LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
	}
}

func env(kv ...string) podOpt {
	return func(p *corev1.Pod) {
		for i := 0; i+1 < len(kv); i += 2 {
			p.Spec.Containers[0].Env = append(p.Spec.Containers[0].Env, corev1.EnvVar{Name: kv[i], Value: kv[i+1]})
		}
	}
}

func TestDiagnoseJVMHeapRules(t *testing.T) {
	one := func(opts ...podOpt) func() *Snapshot {
		return func() *Snapshot { return &Snapshot{Pods: []corev1.Pod{*newPod("ml", "rec-0", opts...)}} }
	}
	runRuleCases(t, []string{"oom-jvm-heap"}, []ruleCase{
		{name: "Xmx above the limit in JAVA_TOOL_OPTIONS", rule: "oom-jvm-heap",
			snap:    one(oomKilled("2Gi"), env("JAVA_TOOL_OPTIONS", "-Xms3g -Xmx3g -XX:+UseG1GC")),
			summary: []string{"rec-0", "OOMKilled", "-Xmx3g", "3Gi", "env JAVA_TOOL_OPTIONS", "memory limit of 2Gi"},
			objects: []string{"pod/ml/rec-0"},
			proof:   []string{"env JAVA_TOOL_OPTIONS: -Xms3g -Xmx3g", "limits.memory: 2Gi", "exitCode=137"}},
		{name: "Xmx in the args", rule: "oom-jvm-heap",
			snap: one(oomKilled("1Gi"), func(p *corev1.Pod) {
				p.Spec.Containers[0].Command = []string{"java"}
				p.Spec.Containers[0].Args = []string{"-Xmx1024m", "-jar", "/app.jar"}
			}),
			summary: []string{"-Xmx1024m", "1Gi", "command/args"}},
		{name: "Xmx just under the limit leaves no room for non-heap", rule: "oom-jvm-heap",
			snap:    one(oomKilled("2Gi"), env("JAVA_OPTS", "-Xmx1900m")),
			summary: []string{"-Xmx1900m", "non-heap", "env JAVA_OPTS"}},
		{name: "MaxRAMPercentage of 100", rule: "oom-jvm-heap",
			snap:    one(oomKilled("2Gi"), env("JDK_JAVA_OPTIONS", "-XX:MaxRAMPercentage=100.0")),
			summary: []string{"-XX:MaxRAMPercentage=100.0", "100% of the limit"}},
		{name: "Xmx from a ConfigMap key", rule: "oom-jvm-heap",
			snap: func() *Snapshot {
				p := newPod("ml", "rec-0", oomKilled("2Gi"), func(p *corev1.Pod) {
					p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "JAVA_TOOL_OPTIONS", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{
						LocalObjectReference: corev1.LocalObjectReference{Name: "jvm"}, Key: "opts"}}}}
				})
				cm := corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: "ml", Name: "jvm"}, Data: map[string]string{"opts": "-Xmx4g"}}
				return &Snapshot{Pods: []corev1.Pod{*p}, ConfigMaps: []corev1.ConfigMap{cm}}
			},
			summary: []string{"-Xmx4g"}},
		{name: "options only in the JVM's start-up log", rule: "oom-jvm-heap",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ml", "rec-0", oomKilled("512Mi"))},
					Logs: []ContainerLog{{Namespace: "ml", Pod: "rec-0", Container: "app", Previous: true,
						Lines: []string{"Picked up JAVA_TOOL_OPTIONS: -Xmx768m", "[0.011s][info][gc,init] Heap Max Capacity: 768M"}}}}
			},
			summary: []string{"-Xmx768m", "as the JVM logs it"},
			proof:   []string{"Picked up JAVA_TOOL_OPTIONS: -Xmx768m", "Heap Max Capacity: 768M"}},
		{name: "heap well below the limit", rule: "",
			snap: one(oomKilled("2Gi"), env("JAVA_TOOL_OPTIONS", "-Xmx1g"))},
		{name: "MaxRAMPercentage of 75", rule: "",
			snap: one(oomKilled("2Gi"), env("JAVA_TOOL_OPTIONS", "-XX:MaxRAMPercentage=75.0"))},
		{name: "_JAVA_OPTIONS overrides a too-large JAVA_TOOL_OPTIONS", rule: "",
			snap: one(oomKilled("2Gi"), env("JAVA_TOOL_OPTIONS", "-Xmx3g", "_JAVA_OPTIONS", "-Xmx1g"))},
		{name: "large heap but the container was not OOMKilled", rule: "",
			snap: one(crashLooping(2), env("JAVA_TOOL_OPTIONS", "-Xmx3g"), func(p *corev1.Pod) {
				p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("2Gi")}
			})},
		{name: "OOMKilled without a memory limit", rule: "",
			snap: one(oomKilled("2Gi"), env("JAVA_TOOL_OPTIONS", "-Xmx3g"), func(p *corev1.Pod) { p.Spec.Containers[0].Resources.Limits = nil })},
	})
}

func TestParseJVMHeap(t *testing.T) {
	for _, tt := range []struct {
		name, opts, flag string
		bytes            int64
		percent          float64
		ok               bool
	}{
		{"gigabytes", "-Xms3g -Xmx3g", "-Xmx3g", 3 << 30, 0, true},
		{"last Xmx wins", "-Xmx1g -Xmx512M", "-Xmx512M", 512 << 20, 0, true},
		{"MaxHeapSize in bytes", "-XX:MaxHeapSize=1073741824", "-XX:MaxHeapSize=1073741824", 1 << 30, 0, true},
		{"Xmx beats a later percentage", "-Xmx2g -XX:MaxRAMPercentage=50", "-Xmx2g", 2 << 30, 0, true},
		{"percentage", "-XX:+UseG1GC -XX:MaxRAMPercentage=75.0", "-XX:MaxRAMPercentage=75.0", 0, 75, true},
		{"Xms alone sets no maximum", "-Xms3g", "", 0, 0, false},
		{"InitialRAMPercentage is not the maximum", "-XX:InitialRAMPercentage=90", "", 0, 0, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h, ok := parseJVMHeap(tt.opts)
			if ok != tt.ok || h.flag != tt.flag || h.bytes != tt.bytes || h.percent != tt.percent {
				t.Errorf("parseJVMHeap(%q) = %+v, %v", tt.opts, h, ok)
			}
		})
	}
}

func TestDiagnoseOptionalConfigMap(t *testing.T) {
	yes := true
	mounted := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: "app-config"}, Optional: &yes}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "config", MountPath: "/etc/app"}}
	}
	prevLog := func(line string) []ContainerLog {
		return []ContainerLog{{Namespace: "shop", Pod: "api-0", Container: "app", Previous: true, Lines: []string{"starting", line}}}
	}
	runRuleCases(t, []string{"missing-config"}, []ruleCase{
		{name: "optional ConfigMap absent and the app cannot open its file", rule: "missing-config",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0", crashLooping(5), mounted)},
					MissingRefs: []string{"configmap/shop/app-config (optional)"},
					Logs:        prevLog("FATAL open /etc/app/config.yaml: no such file or directory")}
			},
			summary: []string{"ConfigMap shop/app-config does not exist", "mounted at /etc/app", "optional"},
			objects: []string{"configmap/shop/app-config", "pod/shop/api-0"},
			proof:   []string{"(optional: true) mounted at /etc/app", "open /etc/app/config.yaml"}},
		{name: "optional ConfigMap absent but the app fails for another reason", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0", crashLooping(5), mounted)},
					MissingRefs: []string{"configmap/shop/app-config (optional)"},
					Logs:        prevLog("FATAL dial tcp 10.0.0.9:5432: connect: connection refused")}
			}},
		{name: "optional ConfigMap present", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-0", crashLooping(5), mounted)},
					ConfigMaps: []corev1.ConfigMap{{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "app-config"}}},
					Logs:       prevLog("FATAL open /etc/app/config.yaml: no such file or directory")}
			}},
	})
}

// TestDiagnoseConfirmedMissingRefFirst checks that a reference the kubelet
// reports missing outranks one only our own lookup did not find.
func TestDiagnoseConfirmedMissingRefFirst(t *testing.T) {
	p := newPod("pay", "ledger-0", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Spec.Containers[0].EnvFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "ledger-extra"}}}}
		p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: "ledger-db"}, Key: "password"}}}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
			Reason: "CreateContainerConfigError", Message: `secret "ledger-db" not found`}}}}
	})
	// The ConfigMap comes first in the spec and in MissingRefs' order.
	s := &Snapshot{Pods: []corev1.Pod{*p}, MissingRefs: []string{"configmap/pay/ledger-extra", "secret/pay/ledger-db"}}
	fs := s.Diagnose()
	if len(fs) < 2 || fs[0].Rule != "missing-config" || !strings.Contains(fs[0].Summary, "Secret pay/ledger-db") {
		t.Fatalf("top finding should be the Secret the kubelet names, got %+v", fs)
	}
}

func TestDiagnoseNumericTargetPort(t *testing.T) {
	ports := func(ps ...corev1.ContainerPort) podOpt {
		return func(p *corev1.Pod) { p.Spec.Containers[0].Ports = ps }
	}
	service := func(port int32, target intstr.IntOrString) corev1.Service {
		s := svc("quotes", "pricing", map[string]string{"app": "pricing"})
		s.Spec.Ports = []corev1.ServicePort{{Name: "web", Port: port, TargetPort: target}}
		return s
	}
	snap := func(s corev1.Service, opt podOpt) func() *Snapshot {
		return func() *Snapshot {
			return &Snapshot{
				Pods:     []corev1.Pod{*newPod("quotes", "pricing-1", withLabels("app", "pricing"), opt), *newPod("quotes", "pricing-2", withLabels("app", "pricing"), opt)},
				Services: []corev1.Service{s},
				EndpointSlices: []discoveryv1.EndpointSlice{{ObjectMeta: metav1.ObjectMeta{Namespace: "quotes", Name: "pricing-x", Labels: map[string]string{"kubernetes.io/service-name": "pricing"}},
					Endpoints: []discoveryv1.Endpoint{{Addresses: []string{"10.1.0.1"}}, {Addresses: []string{"10.1.0.2"}}}}},
			}
		}
	}
	http9090 := ports(corev1.ContainerPort{Name: "http", ContainerPort: 9090}, corev1.ContainerPort{Name: "admin", ContainerPort: 9091})
	runRuleCases(t, []string{"service-target-port"}, []ruleCase{
		{name: "targetPort none of the declared ports", rule: "service-target-port", snap: snap(service(80, intstr.FromInt32(8080)), http9090),
			summary: []string{"quotes/pricing port 80 (web)", "targetPort 8080", "http 9090/TCP", "2 ready endpoints"},
			proof:   []string{"targetPort: 8080", "admin 9091/TCP"}},
		{name: "unset targetPort defaults to the port", rule: "service-target-port", snap: snap(service(8080, intstr.IntOrString{}), http9090),
			summary: []string{"targetPort 8080"}},
		{name: "targetPort declared", rule: "", snap: snap(service(80, intstr.FromInt32(9090)), http9090)},
		{name: "pods declare no ports: unknown, not reported", rule: "", snap: snap(service(80, intstr.FromInt32(8080)), ports())},
		{name: "same number but another protocol", rule: "service-target-port",
			snap: snap(service(53, intstr.FromInt32(53)), ports(corev1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: corev1.ProtocolUDP}))},
	})
}

func TestDiagnoseReadinessPassedSince(t *testing.T) {
	probe := func(p *corev1.Pod) {
		p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromInt32(8080)}}}
	}
	ev := corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "shop", Name: "web-1"}, Reason: "Unhealthy", Type: "Warning", Count: 2,
		Message: "Readiness probe failed: Get \"http://10.1.0.1:8080/ready\": dial tcp 10.1.0.1:8080: connect: connection refused"}
	unready := func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		p.Status.ContainerStatuses[0].Ready = false
	}
	fs := (&Snapshot{Pods: []corev1.Pod{*newPod("shop", "web-1", probe)}, Events: []corev1.Event{ev}}).Diagnose()
	if len(fs) != 1 || fs[0].Score != scoreContext || !strings.Contains(fs[0].Summary, "Ready now") {
		t.Errorf("a Ready pod's past readiness failures are context, got %+v", fs)
	}
	fs = (&Snapshot{Pods: []corev1.Pod{*newPod("shop", "web-1", probe, unready)}, Events: []corev1.Event{ev}}).Diagnose()
	if len(fs) != 1 || fs[0].Rule != "readiness-probe" || fs[0].Score != scoreMechanism {
		t.Errorf("an unready pod's readiness failures are the mechanism, got %+v", fs)
	}
}

// TestDiagnoseAlertedThrottling checks that CPU throttling is diagnosed
// from the alert's own figure when no metrics API exists.
func TestDiagnoseAlertedThrottling(t *testing.T) {
	limited := func(p *corev1.Pod) {
		p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("250m")}
	}
	alert := func(name, desc string) *investigate.Alert {
		return &investigate.Alert{Labels: map[string]string{"alertname": name, "container": "app", "pod": "api-1"},
			Annotations: map[string]string{"description": desc}}
	}
	for _, tt := range []struct {
		name  string
		alert *investigate.Alert
		opt   podOpt
		want  string
	}{
		{"kube-prometheus wording", alert("CPUThrottlingHigh", "73.4% throttling of CPU in namespace shop for container app in pod api-1."), limited, "73.4% of its CFS periods"},
		{"team wording", alert("ContainerCPUThrottled", "Container app is throttled 88 % of the time"), limited, "88% of its CFS periods"},
		{"no CPU limit: nothing to blame", alert("CPUThrottlingHigh", "73.4% throttling of CPU"), func(*corev1.Pod) {}, ""},
		{"another alert", alert("KubePodNotReady", "73.4% of pods not ready"), limited, ""},
		{"no alert", nil, limited, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := &Snapshot{Pods: []corev1.Pod{*newPod("shop", "api-1", tt.opt)}, Alert: tt.alert}
			var got []investigate.Finding
			for _, f := range s.Diagnose() {
				if f.Rule == "cpu-throttling" {
					got = append(got, f)
				}
			}
			if tt.want == "" {
				if len(got) != 0 {
					t.Fatalf("unexpected finding %+v", got)
				}
				return
			}
			if len(got) != 1 || !strings.Contains(got[0].Summary, tt.want) || !strings.Contains(got[0].Summary, "250m") {
				t.Fatalf("findings %+v, want one naming %q and the 250m limit", got, tt.want)
			}
		})
	}
}

func TestDiagnoseOOMRunTime(t *testing.T) {
	killedAfter := func(ran time.Duration) podOpt {
		return func(p *corev1.Pod) {
			oomKilled("512Mi")(p)
			start := time.Date(2026, 4, 1, 8, 0, 0, 0, time.UTC)
			term := p.Status.ContainerStatuses[0].LastTerminationState.Terminated
			term.StartedAt, term.FinishedAt = metav1.NewTime(start), metav1.NewTime(start.Add(ran))
		}
	}
	one := func(opt podOpt) func() *Snapshot {
		return func() *Snapshot { return &Snapshot{Pods: []corev1.Pod{*newPod("chat", "gateway-0", opt)}} }
	}
	runRuleCases(t, []string{"oom-killed"}, []ruleCase{
		{name: "killed after hours: a leak", rule: "oom-killed", snap: one(killedAfter(6*time.Hour + 12*time.Minute)),
			summary: []string{"after running 6h12m", "grows steadily", "leak"}},
		{name: "killed at start: the limit is too small", rule: "oom-killed", snap: one(killedAfter(40 * time.Second)),
			summary: []string{"40s after start", "smaller than what it needs to start"}},
		{name: "in between: no claim", rule: "oom-killed", snap: one(killedAfter(10 * time.Minute)),
			summary: []string{"limit of 512Mi"}},
	})
}

func TestProbeDesignFault(t *testing.T) {
	httpProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz/ready", Port: intstr.FromInt32(8080)}}, TimeoutSeconds: 1}
	c := &corev1.Container{Name: "app", Ports: []corev1.ContainerPort{{ContainerPort: 8080}}}
	for _, tt := range []struct {
		msg, want string
	}{
		{"HTTP probe failed with statuscode: 404", "does not serve the probe's path /healthz/ready"},
		{`Get "http://10.1.2.3:9091/healthz": dial tcp 10.1.2.3:9091: connect: connection refused`, "nothing listens on the probed port 9091, while the container declares port 8080"},
		{`Get "http://10.1.2.3:8080/healthz": dial tcp 10.1.2.3:8080: connect: connection refused`, ""},
		{`Get "http://10.1.2.3:8080/healthz": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`, "timeoutSeconds: 1"},
		{"HTTP probe failed with statuscode: 503", ""},
	} {
		if got := probeDesignFault(tt.msg, httpProbe, c); (tt.want == "" && got != "") || !strings.Contains(got, tt.want) {
			t.Errorf("probeDesignFault(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
	execProbe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{Exec: &corev1.ExecAction{Command: []string{"curl", "-f", "localhost:8080/healthz"}}}}
	for _, tt := range []struct {
		msg, want string
	}{
		{`rpc error: code = Unknown desc = failed to exec in container: exec: "curl": executable file not found in $PATH: unknown`, `exec command "curl" does not exist`},
		{`command "curl -f localhost:8080/healthz" exited with 22`, ""},
	} {
		if got := probeDesignFault(tt.msg, execProbe, c); (tt.want == "" && got != "") || !strings.Contains(got, tt.want) {
			t.Errorf("probeDesignFault(%q) = %q, want %q", tt.msg, got, tt.want)
		}
	}
}

func TestDiagnoseOOMNamesWhatItWasDoing(t *testing.T) {
	jobPod := newPod("etl", "load-1", oomKilled("4Gi"), func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		cs := &p.Status.ContainerStatuses[0]
		cs.State = corev1.ContainerState{Terminated: cs.LastTerminationState.Terminated}
		cs.LastTerminationState = corev1.ContainerState{}
		cs.RestartCount = 0
	})
	s := &Snapshot{Pods: []corev1.Pod{*jobPod}, Logs: []ContainerLog{{Namespace: "etl", Pod: "load-1", Container: "app",
		Lines: []string{"start", "loading full feed: 41226310 rows into memory"}}}}
	fs := s.Diagnose()
	if len(fs) == 0 || fs[0].Rule != "oom-killed" || !strings.Contains(fs[0].Detail, "loading full feed: 41226310 rows") {
		t.Fatalf("the OOM finding should say what the killed container was doing: %+v", fs)
	}
}

func TestDiagnoseCleanExitRestartLoop(t *testing.T) {
	exitsZero := func(p *corev1.Pod) {
		crashLooping(6)(p)
		p.Status.ContainerStatuses[0].LastTerminationState.Terminated = &corev1.ContainerStateTerminated{Reason: "Completed", ExitCode: 0}
		p.Spec.Containers[0].Command = []string{"sh", "-c", "envsubst < /tmpl > /etc/nginx/conf.d/site.conf && echo rendered"}
	}
	runRuleCases(t, []string{"crashloop"}, []ruleCase{
		{name: "command override that completes", rule: "crashloop",
			snap:    func() *Snapshot { return &Snapshot{Pods: []corev1.Pod{*newPod("docs", "portal-1", exitsZero)}} },
			summary: []string{"exit code 0", "finishes instead of running on", "overrides the image's entrypoint", "envsubst"}},
		{name: "an error logged before exit 0 is no clean exit", rule: "crashloop",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("docs", "portal-1", exitsZero)},
					Logs: []ContainerLog{{Namespace: "docs", Pod: "portal-1", Container: "app", Previous: true, Lines: []string{"fatal: cannot open /etc/app.conf: no such file or directory"}}}}
			},
			summary: []string{"no such file"}},
	})
	fs := (&Snapshot{Pods: []corev1.Pod{*newPod("docs", "portal-1", exitsZero)}, Logs: []ContainerLog{{Namespace: "docs", Pod: "portal-1", Container: "app", Previous: true,
		Lines: []string{"fatal: cannot open /etc/app.conf: no such file or directory"}}}}).Diagnose()
	for _, f := range fs {
		if strings.Contains(f.Summary, "finishes instead of running on") {
			t.Errorf("a failure logged before exit 0 read as a clean exit: %s", f.Summary)
		}
	}
}

func TestDiagnoseOOMMemoryEmptyDir(t *testing.T) {
	tmpfs := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	}
	disk := func(p *corev1.Pod) {
		p.Spec.Volumes = []corev1.Volume{{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}}
		p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "scratch", MountPath: "/scratch"}}
	}
	runRuleCases(t, []string{"oom-killed"}, []ruleCase{
		{name: "tmpfs counts against the limit", rule: "oom-killed",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("etl", "render-1", oomKilled("2Gi"), tmpfs)}}
			},
			summary: []string{"memory-backed emptyDir scratch at /scratch (no sizeLimit)", "medium: Memory"}},
	})
	fs := (&Snapshot{Pods: []corev1.Pod{*newPod("etl", "render-1", oomKilled("2Gi"), disk)}}).Diagnose()
	if len(fs) == 0 || strings.Contains(fs[0].Summary, "memory-backed") {
		t.Errorf("a disk-backed emptyDir is no tmpfs: %+v", fs)
	}
}
