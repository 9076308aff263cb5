package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/k8flex/k8flex/investigate"
)

// withIstioSidecar adds Istio's injected proxy to the app's pod template
// and to each of its pods (Running and ready beside the app).
func (w *world) withIstioSidecar(a *app) {
	c := corev1.Container{Name: "istio-proxy", Image: "docker.io/istio/proxyv2:1.22.3", Args: []string{"proxy", "sidecar", "--domain", "$(POD_NAMESPACE).svc.cluster.local"},
		Ports: []corev1.ContainerPort{{Name: "http-envoy-prom", ContainerPort: 15090, Protocol: corev1.ProtocolTCP}}, ImagePullPolicy: corev1.PullIfNotPresent,
		TerminationMessagePath: "/dev/termination-log", TerminationMessagePolicy: corev1.TerminationMessageReadFile}
	switch {
	case a.dep != nil:
		a.dep.Spec.Template.Spec.Containers = append(a.dep.Spec.Template.Spec.Containers, c)
		if a.rs != nil {
			a.rs.Spec.Template.Spec.Containers = append(a.rs.Spec.Template.Spec.Containers, c)
		}
	case a.sts != nil:
		a.sts.Spec.Template.Spec.Containers = append(a.sts.Spec.Template.Spec.Containers, c)
	}
	for _, p := range a.pods {
		p.Spec.Containers = append(p.Spec.Containers, c)
		main := status(p, mainContainer(p))
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{Name: c.Name, Image: c.Image,
			ImageID: imageID(c.Image, w.hex(64)), ContainerID: "containerd://" + w.hex(64), Ready: true, Started: ptr(true),
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: main.State.Running.StartedAt}}})
	}
}

// istioStrictPlaintextCaller: a workload in the mesh (Istio sidecar)
// requires mutual TLS, and a caller without a sidecar connects in
// plaintext: the server's proxy logs NR filter_chain_not_found for the
// caller's address and the caller logs its connections reset by peer.
// Variant 0 alerts on the caller's pod, variant 1 names the upstream the
// caller's error ratio is about.
func istioStrictPlaintextCaller(w *world, v variant) result {
	ss := w.spec(v, kindDeployment, kindStatefulSet)
	server := w.buildApp(ss)
	w.withIstioSidecar(server)
	cs := w.defaultSpec(w.namespace())
	cs.kind = kindDeployment
	caller := w.buildApp(cs)
	cp := caller.pods[0]
	host := fmt.Sprintf("%s.%s.svc.cluster.local:%d", server.svc.Name, ss.ns, server.svc.Spec.Ports[0].Port)
	w.errorLogs(caller, func(t time.Time) string {
		return fmt.Sprintf(`{"ts":"%s","level":"error","msg":"upstream call failed","err":"Get \"http://%s/v1/items\": read tcp %s:%d->%s:%d: read: connection reset by peer"}`,
			ts(t), host, cp.Status.PodIP, 40000+w.r.Intn(20000), server.svc.Spec.ClusterIP, server.svc.Spec.Ports[0].Port)
	})
	port := ss.port
	for _, p := range server.pods {
		var lines []string
		t := w.now.Add(-9 * time.Minute)
		lines = append(lines, fmt.Sprintf(`[%s] "GET /v1/items HTTP/1.1" 200 - via_upstream - "-" 0 912 7 6 "-" "Go-http-client/1.1" "%s" "%s" "%s:%d" inbound|%d|| 127.0.0.6:%d %s:%d %s:%d - default`,
			ts(t), w.hex(8), host, p.Status.PodIP, port, port, 40000+w.r.Intn(20000), p.Status.PodIP, port, cp.Status.PodIP, 40000+w.r.Intn(20000)))
		for i := 0; i < 4; i++ {
			t = t.Add(w.between(20*time.Second, 90*time.Second))
			lines = append(lines, fmt.Sprintf(`[%s] "- - -" 0 NR filter_chain_not_found - "-" 0 0 0 - "-" "-" "-" "-" "-" - - %s:%d %s:%d - -`,
				ts(t), p.Status.PodIP, port, cp.Status.PodIP, 40000+w.r.Intn(20000)))
		}
		w.log(p.Namespace, p.Name, "istio-proxy", false, lines...)
	}
	alert := alertDef{labels: map[string]string{"alertname": "UpstreamErrorRatioHigh", "severity": "critical", "namespace": cs.ns, "app": cs.name, "upstream": host},
		summary: fmt.Sprintf("%s: calls to %s fail", cs.name, host), description: fmt.Sprintf("Error ratio of outbound calls from %s to %s is 1 over the last 5m.", cs.name, host),
		runbook: "https://runbooks." + w.domain + "/upstream-errors", expr: `sum(rate(http_client_requests_total{outcome="error"}[5m])) / sum(rate(http_client_requests_total[5m])) > 0.2`}
	if v.n%2 == 0 {
		alert.labels["pod"] = cp.Name
		delete(alert.labels, "upstream")
	}
	return result{ns: cs.ns, alerts: []alertDef{alert},
		expect: expect(investigate.ServiceDown, cats{investigate.NetworkPolicy, investigate.EndpointMissing},
			fmt.Sprintf("The Istio sidecar of %s/%s requires mutual TLS (STRICT) and refuses plaintext connections from %s/%s, which has no sidecar.", ss.ns, ss.name, cs.ns, cs.name),
			g("strict", "mutual tls", "mtls"), g("filter_chain_not_found", "plaintext", "no sidecar"))}
}
