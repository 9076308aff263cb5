package faultgen

import (
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

func parseQuantity(s string) resource.Quantity { return resource.MustParse(s) }

// errorLogs writes lines (with a timestamp prefix) as the current log of
// every pod of the app.
func (w *world) errorLogs(a *app, line func(t time.Time) string) {
	for _, p := range a.pods {
		var lines []string
		t := w.now.Add(-5 * time.Minute)
		for i := 0; i < 6; i++ {
			t = t.Add(w.between(10*time.Second, 50*time.Second))
			lines = append(lines, line(t))
		}
		w.log(p.Namespace, p.Name, mainContainer(p), false, lines...)
	}
}

func egressBlocksDNS(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	db := pick(w.r, []string{"orders-db", "ledger-postgres", "catalog-mysql"})
	a := w.buildApp(s)
	name := s.name + pick(w.r, []string{"-egress", "-lockdown", "-restrict-egress"})
	age := w.between(20*time.Minute, 90*time.Minute)
	w.netpol(s.ns, name, a.selector, []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}, nil,
		[]networkingv1.NetworkPolicyEgressRule{{To: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": db}}}},
			Ports: []networkingv1.NetworkPolicyPort{tcpPort(5432)}}}, age)
	w.errorLogs(a, func(t time.Time) string {
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"db connect failed","error":"dial tcp: lookup %s.%s.svc.cluster.local on %s:53: read udp 10.244.%d.%d:%d->%s:53: i/o timeout"}`,
			ts(t), db, s.ns, w.dnsIP, w.r.Intn(9), 2+w.r.Intn(200), 30000+w.r.Intn(30000), w.dnsIP)
	})
	since := age - 2*time.Minute
	for _, p := range a.pods {
		w.notReady(p, mainContainer(p), since)
		w.event(p, ev{reason: "Unhealthy", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(mainContainer(p)), count: int32(40 + w.r.Intn(100)), first: since, last: w.between(3*time.Second, 30*time.Second),
			message: "Readiness probe failed: HTTP probe failed with statuscode: 503"})
	}
	alert := w.errorRate(s.ns, s.name, s.name+"."+w.domain)
	if v.n == 1 {
		alert = w.replicasMismatch(a)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.NetworkPolicy, cats{investigate.DNSIssues, investigate.EndpointMissing},
			fmt.Sprintf("NetworkPolicy %s/%s restricts egress of %s to TCP 5432 and does not allow DNS (UDP/TCP 53 to kube-dns): every lookup times out.", s.ns, name, s.name),
			g(name), g("dns", "port 53", "kube-dns", "coredns", "udp 53", "name resolution"))}
}

func ingressBlocksCaller(w *world, v variant) result {
	ns := w.namespace()
	bs := w.defaultSpec(ns)
	backend := w.buildApp(bs)
	cs := w.defaultSpec(ns)
	caller := w.buildApp(cs)
	oldLabel := cs.name + pick(w.r, []string{"-v1", "-legacy", "-old"})
	name := bs.name + pick(w.r, []string{"-allow-callers", "-ingress", "-from-frontends"})
	w.netpol(ns, name, backend.selector, []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
		[]networkingv1.NetworkPolicyIngressRule{{From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{cs.selectorKey: oldLabel}}}},
			Ports: []networkingv1.NetworkPolicyPort{tcpPort(bs.port)}}}, nil, w.between(60*24*time.Hour, 200*24*time.Hour))
	w.errorLogs(caller, func(t time.Time) string {
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"upstream call failed","upstream":"http://%s.%s.svc.cluster.local:%d/api/v1/items","error":"context deadline exceeded (Client.Timeout exceeded while awaiting headers)"}`,
			ts(t), bs.name, ns, bs.servicePort)
	})
	for _, p := range backend.pods {
		w.log(ns, p.Name, bs.name, false, w.healthyLog(bs, p, 2)...)
	}
	alert := w.errorRate(ns, cs.name, cs.name+"."+w.domain)
	if v.n == 1 {
		alert = alertDef{labels: map[string]string{"alertname": camel(cs.name) + "UpstreamTimeouts", "severity": "critical", "namespace": ns, "service": cs.name, "pod": caller.pods[0].Name},
			summary: "Calls to an upstream time out", description: fmt.Sprintf("%s calls to %s time out (%d%% of requests).", cs.name, bs.name, 60+w.r.Intn(40)),
			runbook: "https://runbooks." + w.domain + "/" + ns + "/upstream", expr: `sum(rate(http_client_requests_total{outcome="timeout"}[5m])) by (namespace, service) > 1`}
	}
	return result{ns: ns, alerts: []alertDef{alert},
		expect: expect(investigate.NetworkPolicy, cats{investigate.ServiceDown},
			fmt.Sprintf("NetworkPolicy %s/%s admits ingress to %s only from pods labelled %s=%s; the caller %s carries %s=%s, so its connections time out.", ns, name, bs.name, cs.selectorKey, oldLabel, cs.name, cs.selectorKey, cs.name),
			g("networkpolicy", "network policy", "network-policy", "netpol"), g(name))}
}

func coreDNSCrashLoop(w *world, v variant) result {
	a := w.coreDNS
	cm := w.findConfigMap("kube-system", "coredns")
	since := w.between(15*time.Minute, 60*time.Minute)
	var lines []string
	var cause []string
	var summary string
	if v.n == 0 {
		cm.Data["Corefile"] = fmt.Sprintf(corefile, "/etc/resolv.conf")
		lines = []string{".:53", "[INFO] plugin/reload: Running configuration SHA512 = " + w.hex(64), "CoreDNS-1.11.3", "linux/amd64, go1.21.11, a6338e9",
			fmt.Sprintf("[FATAL] plugin/loop: Loop (127.0.0.1:%d -> :53) detected for zone \".\", see https://coredns.io/plugins/loop#troubleshooting. Query: \"HINFO %d.%d.\"", 40000+w.r.Intn(20000), w.r.Int63(), w.r.Int63())}
		cause = g("loop")
		summary = "CoreDNS forwards to /etc/resolv.conf, which on the nodes points back to a local stub resolver: the loop plugin detects a forwarding loop and CoreDNS exits."
	} else {
		bad := "forward . " + pick(w.r, []string{"10.40.8.53:53:53", "dns://10.40.8.53 10.40.8.54;", "10.40.8.300"})
		cm.Data["Corefile"] = strings.Replace(fmt.Sprintf(corefile, "/etc/resolv.conf"), "forward . /etc/resolv.conf", bad, 1)
		lines = []string{fmt.Sprintf("/etc/coredns/Corefile:18 - Error during parsing: not an IP address or file: %q", strings.Fields(bad)[2])}
		cause = g("corefile", "configmap", "parse", "parsing", "not an ip address")
		summary = fmt.Sprintf("The coredns ConfigMap's Corefile has an invalid forward line (%s): CoreDNS fails to parse it and crash-loops.", bad)
	}
	cm.ObjectMeta.ResourceVersion = w.resourceVersion()
	for _, p := range a.pods {
		w.crashLoop(p, "coredns", restart{exitCode: 1, reason: "Error", ran: 2 * time.Second, count: int32(6 + w.r.Intn(8)), since: since})
		w.log("kube-system", p.Name, "coredns", true, lines...)
		w.log("kube-system", p.Name, "coredns", false, lines...)
	}
	// A victim app fails name resolution.
	s := w.spec(v)
	victim := w.buildApp(s)
	w.errorLogs(victim, func(t time.Time) string {
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"request failed","error":"dial tcp: lookup payments-gateway.%s.svc.cluster.local on %s:53: read udp 10.244.1.9:41234->%s:53: read: connection refused"}`, ts(t), s.ns, w.dnsIP, w.dnsIP)
	})
	alerts := []alertDef{{labels: map[string]string{"alertname": "CoreDNSDown", "severity": "critical"},
		summary: "CoreDNS has disappeared from Prometheus target discovery.", description: "CoreDNS has disappeared from Prometheus target discovery.",
		runbook: "coredns/corednsdown", expr: `absent(up{job="coredns"} == 1)`}}
	if v.n == 1 {
		alerts = []alertDef{w.crashLooping(a.pods[0], "coredns")}
	}
	return result{ns: "kube-system", alerts: alerts,
		expect: expect(investigate.DNSIssues, cats{investigate.PodCrash},
			summary, g("coredns", "kube-dns", "cluster dns"), cause)}
}

func coreDNSUpstreamTimeout(w *world, v variant) result {
	a := w.coreDNS
	cm := w.findConfigMap("kube-system", "coredns")
	up := fmt.Sprintf("10.%d.%d.53", 20+w.r.Intn(40), w.r.Intn(250))
	up2 := strings.TrimSuffix(up, "53") + "54"
	cm.Data["Corefile"] = fmt.Sprintf(corefile, up+" "+up2)
	hosts := []string{"api.stripe.com.", "sqs.eu-west-1.amazonaws.com.", "login.partner-idp.net.", "hooks.slack.com."}
	for _, p := range a.pods {
		var lines []string
		t := w.now.Add(-6 * time.Minute)
		for i := 0; i < 8; i++ {
			t = t.Add(w.between(5*time.Second, 40*time.Second))
			u := up
			if i%2 == 1 {
				u = up2
			}
			lines = append(lines, fmt.Sprintf("[ERROR] plugin/errors: 2 %s A: read udp %s:%d->%s:53: i/o timeout", pick(w.r, hosts), p.Status.PodIP, 30000+w.r.Intn(30000), u))
		}
		w.log("kube-system", p.Name, "coredns", false, lines...)
	}
	s := w.spec(v)
	victim := w.buildApp(s)
	w.errorLogs(victim, func(t time.Time) string {
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"webhook delivery failed","error":"Post \"https://hooks.partner.example/events\": dial tcp: lookup hooks.partner.example on %s:53: read udp 10.244.2.7:51514->%s:53: i/o timeout"}`, ts(t), w.dnsIP, w.dnsIP)
	})
	alerts := []alertDef{{labels: map[string]string{"alertname": "CoreDNSErrorsHigh", "severity": "warning", "namespace": "kube-system", "job": "coredns", "service": "kube-dns"},
		summary: "CoreDNS is returning SERVFAIL.", description: fmt.Sprintf("CoreDNS is returning SERVFAIL for %.2f%% of requests.", 8+w.r.Float64()*30),
		runbook: "coredns/corednserrorshigh", expr: `sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total{job="coredns",rcode="SERVFAIL"}[5m])) / sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total{job="coredns"}[5m])) > 0.03`}}
	if v.n == 1 {
		alerts = []alertDef{{labels: map[string]string{"alertname": "CoreDNSForwardLatencyHigh", "severity": "critical", "namespace": "kube-system", "job": "coredns", "service": "kube-dns", "to": up + ":53"},
			summary: "CoreDNS forward latency is high.", description: fmt.Sprintf("CoreDNS has 99th percentile latency of %.2f seconds forwarding requests to %s:53.", 2+w.r.Float64()*2, up),
			runbook: "coredns/corednsforwardlatencyhigh", expr: `histogram_quantile(0.99, sum(rate(coredns_forward_request_duration_seconds_bucket{job="coredns"}[5m])) without (pod, instance, rcode)) > 4`}}
	}
	return result{ns: "kube-system", alerts: alerts,
		expect: expect(investigate.DNSIssues, nil,
			fmt.Sprintf("CoreDNS forwards external names to upstream resolvers %s and %s, which do not answer (i/o timeout).", up, up2),
			g("upstream", "forward", "resolver"), g(up, up2, "i/o timeout", "timeout", "timed out"))}
}

func (w *world) findConfigMap(ns, name string) *corev1.ConfigMap {
	for _, o := range w.objs {
		if cm, ok := o.(*corev1.ConfigMap); ok && cm.Namespace == ns && cm.Name == name {
			return cm
		}
	}
	return nil
}

func unresolvableServiceName(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	dep := w.defaultSpec(s.ns)
	w.buildApp(dep)
	typo := typoOf(dep.name, w)
	cmName := s.name + "-config"
	key := strings.ToUpper(strings.ReplaceAll(dep.name, "-", "_")) + "_HOST"
	w.configMap(s.ns, cmName, map[string]string{key: typo, "LOG_FORMAT": "json"}, w.between(30*time.Minute, 3*time.Hour))
	s.envFrom = []corev1.EnvFromSource{{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: cmName}}}}
	a := w.buildApp(s)
	since := w.between(20*time.Minute, 90*time.Minute)
	w.crashAll(a, restart{exitCode: 1, reason: "Error", ran: 5 * time.Second, count: int32(5 + w.r.Intn(8)), since: since}, func(p *corev1.Pod) []string {
		return []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"starting","version":"%s"}`, ts(w.now.Add(-2*time.Minute)), s.version),
			fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"cannot reach dependency","error":"dial tcp: lookup %s on %s:53: no such host"}`, ts(w.now.Add(-2*time.Minute+5*time.Second)), typo, w.dnsIP)}
	})
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])},
		expect: expect(investigate.PodCrash, cats{investigate.DNSIssues, investigate.PodRestart},
			fmt.Sprintf("ConfigMap %s sets %s=%s, a name no Service has (the Service is %s): the lookup fails with no such host and the app exits.", cmName, key, typo, dep.name),
			g(typo), g(cmName, key, "configmap", "config map", "no such host"))}
}

func typoOf(name string, w *world) string {
	i := 1 + w.r.Intn(len(name)-2)
	if name[i] == '-' {
		i++
	}
	return name[:i] + name[i+1:]
}

func dependencyNoEndpoints(w *world, v variant) result {
	s := w.spec(v)
	dep := w.defaultSpec(s.ns)
	dep.name = pick(w.r, []string{"inventory-api", "pricing-service", "auth-service", "rates-api"})
	dep.image = w.image(s.ns, dep.name, dep.version)
	da := w.buildApp(dep)
	since := w.between(15*time.Minute, 60*time.Minute)
	// Its pods are gone: scaled to zero (variant 1) or crash-looping (variant 0).
	if v.n == 1 {
		for _, p := range da.pods {
			w.drop(p)
		}
		da.pods = nil
		*da.dep.Spec.Replicas, *da.rs.Spec.Replicas = 0, 0
		w.event(da.dep, ev{typ: corev1.EventTypeNormal, reason: "ScalingReplicaSet", component: "deployment-controller", last: since,
			message: fmt.Sprintf("Scaled down replica set %s from %d to 0", da.rs.Name, dep.replicas)})
	} else {
		w.crashAll(da, restart{exitCode: 1, reason: "Error", ran: 3 * time.Second, count: int32(6 + w.r.Intn(6)), since: since}, func(p *corev1.Pod) []string {
			return []string{fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"migrations: relation \"schema_migrations\" is locked by another session"}`, ts(w.now.Add(-time.Minute)))}
		})
	}
	a := w.buildApp(s)
	w.errorLogs(a, func(t time.Time) string {
		return fmt.Sprintf(`{"level":"error","ts":"%s","msg":"upstream request failed","upstream":"%s","error":"Get \"http://%s.%s.svc.cluster.local:%d/v1/stock\": dial tcp %s:%d: connect: connection refused"}`,
			ts(t), dep.name, dep.name, s.ns, dep.servicePort, da.svc.Spec.ClusterIP, dep.servicePort)
	})
	e := expect(investigate.ServiceDown, cats{investigate.EndpointMissing},
		fmt.Sprintf("%s/%s fails because its dependency Service %s has no ready endpoints (connection refused).", s.ns, s.name, dep.name),
		g(dep.name), g("no endpoints", "no ready endpoints", "0 endpoints", "without endpoints", "no ready", "scaled to 0", "0 replicas", "crashloop", "crash-loop", "crash loop", "no pods"))
	if v.n == 1 {
		// The start-up banner prints the database URL with its password.
		pw := w.password()
		for _, p := range a.pods {
			k := p.Namespace + "/" + p.Name + "/" + mainContainer(p)
			w.logs[k] = fmt.Sprintf(`{"level":"info","ts":"%s","msg":"config loaded","database_url":"postgresql://%s:%s@%s-db.%s.svc:5432/%s"}`+"\n", ts(w.now.Add(-30*time.Minute)), strings.ReplaceAll(s.name, "-", "_"), pw, s.name, s.ns, strings.ReplaceAll(s.name, "-", "_")) + w.logs[k]
		}
		e.MustNotContain = []string{pw}
	}
	return result{ns: s.ns, alerts: []alertDef{w.errorRate(s.ns, s.name, s.name+"."+w.domain)}, expect: e}
}

func ingressMissingService(w *world, v variant) result {
	s := w.spec(v)
	a := w.buildApp(s)
	host := s.name + "." + w.domain
	missing := s.name + pick(w.r, []string{"-svc", "-v2", "-web"})
	ing := w.ingress(s.ns, s.name, host, missing, s.servicePort)
	ctrl := w.ingressController()
	var lines []string
	t := w.now.Add(-5 * time.Minute)
	for i := 0; i < 5; i++ {
		t = t.Add(40 * time.Second)
		lines = append(lines, fmt.Sprintf("W%s %d controller.go:1232] Error obtaining Endpoints for Service \"%s/%s\": no object matching key \"%s/%s\" in local store",
			t.Format("0102 15:04:05.000000"), 7, s.ns, missing, s.ns, missing),
			fmt.Sprintf("10.0.%d.%d - - [%s] \"GET / HTTP/2.0\" 503 190 \"-\" \"Blackbox Exporter/0.25.0\" 44 0.000 [%s-%s-%d] [] - - - - %s",
				w.r.Intn(255), w.r.Intn(255), t.Format("02/Jan/2006:15:04:05 +0000"), s.ns, missing, s.servicePort, w.hex(32)))
	}
	w.log(ctrl.Namespace, ctrl.Name, "controller", false, lines...)
	w.event(ing, ev{typ: corev1.EventTypeNormal, reason: "Sync", component: "nginx-ingress-controller", host: ctrl.Name, last: w.between(20*time.Minute, 50*time.Minute), message: "Scheduled for sync"})
	_ = a
	alert := w.probeFailed(s.ns, s.name, "https://"+host+"/")
	if v.n == 1 {
		alert = w.errorRate(s.ns, missing, host)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.ServiceDown, cats{investigate.EndpointMissing},
			fmt.Sprintf("Ingress %s/%s routes %s to Service %s, which does not exist (the Service is %s): ingress-nginx answers 503.", s.ns, s.name, host, missing, s.name),
			g(missing), g("does not exist", "doesn't exist", "not exist", "not found", "no such service", "missing", "no object matching", "nonexistent", "non-existent"))}
}

func tlsExpired(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	host := pick(w.r, []string{"api.partner-bank.example", "billing.vendor.example", "ledger-gw." + w.domain, "sso." + w.domain})
	a := w.buildApp(s)
	expired := w.now.Add(-w.between(2*time.Hour, 72*time.Hour)).Truncate(time.Second)
	errText := fmt.Sprintf("tls: failed to verify certificate: x509: certificate has expired or is not yet valid: current time %s is after %s", w.now.Add(-2*time.Minute).Format(time.RFC3339), expired.Format(time.RFC3339))
	since := w.between(20*time.Minute, 90*time.Minute)
	w.crashAll(a, restart{exitCode: 1, reason: "Error", ran: 4 * time.Second, count: int32(5 + w.r.Intn(8)), since: since}, func(p *corev1.Pod) []string {
		return []string{fmt.Sprintf(`{"level":"info","ts":"%s","msg":"connecting to upstream","upstream":"https://%s"}`, ts(w.now.Add(-2*time.Minute)), host),
			fmt.Sprintf(`{"level":"fatal","ts":"%s","msg":"startup check failed","error":"Get \"https://%s/health\": %s"}`, ts(w.now.Add(-2*time.Minute+3*time.Second)), host, errText)}
	})
	e := expect(investigate.PodCrash, cats{investigate.PodRestart},
		fmt.Sprintf("%s/%s exits at start-up because the TLS certificate of %s expired at %s (x509: certificate has expired).", s.ns, s.name, host, expired.Format(time.RFC3339)),
		g("expired", "expiry", "x509"), g(host))
	if v.n == 1 {
		// A debug line of the HTTP client carries the API token.
		tok := "sk_live_" + w.password()
		for _, p := range a.pods {
			k := p.Namespace + "/" + p.Name + "/" + mainContainer(p) + ".previous"
			w.logs[k] = fmt.Sprintf("DEBUG http: GET https://%s/health headers={Authorization: Bearer %s, User-Agent: %s/%s}\n", host, tok, s.name, s.version) + w.logs[k]
		}
		e.MustNotContain = []string{tok}
	}
	return result{ns: s.ns, alerts: []alertDef{w.crashAlert(v, a, a.pods[0])}, expect: e}
}

func runAsNonRoot(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	since := w.between(20*time.Minute, 80*time.Minute)
	a, pods := w.breakApp(s, func(s *appSpec) {
		s.securityContext = &corev1.PodSecurityContext{RunAsNonRoot: ptr(true)}
	}, since, true)
	for _, p := range pods {
		c := mainContainer(p)
		msg := fmt.Sprintf("container has runAsNonRoot and image will run as root (pod: %q, container: %s)", p.Name+"_"+p.Namespace+"("+string(p.UID)+")", c)
		w.waiting(p, c, "CreateContainerConfigError", msg, since)
		w.event(p, ev{reason: "Failed", component: "kubelet", host: p.Spec.NodeName, fieldPath: fp(c), count: int32(20 + w.r.Intn(40)), first: since, last: w.between(10*time.Second, time.Minute),
			message: "Error: " + msg})
	}
	alert := w.containerWaiting(pods[0], mainContainer(pods[0]), "CreateContainerConfigError")
	if v.n == 1 {
		alert = w.workloadAlert(a, true)
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.PodPending, cats{investigate.PodCrash},
			fmt.Sprintf("%s %s/%s sets runAsNonRoot but image %s runs as root (no numeric USER): the kubelet refuses to start it.", s.kind, s.ns, s.name, s.image),
			g("runasnonroot", "run as non-root", "non-root", "nonroot"), g("root"))}
}
