package faultgen

import (
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

// ingressLog is ingress-nginx failing to reach a Service's endpoints.
func (w *world) ingressCallers(a *app, upstreamErr string, status int) string {
	host := fmt.Sprintf("%s.%s", a.spec.ns, w.domain)
	ctrl := w.ingressController()
	var lines []string
	t := w.now.Add(-6 * time.Minute)
	for i := 0; i < 6; i++ {
		t = t.Add(w.between(10*time.Second, 50*time.Second))
		client := fmt.Sprintf("10.%d.%d.%d", w.r.Intn(255), w.r.Intn(255), w.r.Intn(255))
		if upstreamErr != "" {
			lines = append(lines, fmt.Sprintf("%s [error] 31#31: *%d %s, client: %s, server: %s, request: \"GET /api/v1/items HTTP/1.1\", host: %q",
				t.Format("2006/01/02 15:04:05"), 100000+w.r.Intn(900000), upstreamErr, client, host, host))
		}
		lines = append(lines, fmt.Sprintf("%s - - [%s] \"GET /api/v1/items HTTP/1.1\" %d 146 \"-\" \"Mozilla/5.0\" 512 0.%03d [%s-%s-%d] [] - - - - %s",
			client, t.Format("02/Jan/2006:15:04:05 +0000"), status, w.r.Intn(999), a.spec.ns, a.spec.serviceName, a.svc.Spec.Ports[0].Port, w.hex(32)))
	}
	w.log(ctrl.Namespace, ctrl.Name, "controller", false, lines...)
	return host
}

// ingressController returns the ingress-nginx controller pod (built once).
func (w *world) ingressController() *corev1.Pod {
	if w.ingressPod != nil {
		return w.ingressPod
	}
	s := w.defaultSpec("ingress-nginx")
	s.name, s.serviceName, s.selectorKey, s.selectorValue = "ingress-nginx-controller", "ingress-nginx-controller", "app.kubernetes.io/name", "ingress-nginx"
	s.image = w.registry + "/mirror/ingress-nginx/controller:v1.12.1"
	s.version, s.port, s.replicas, s.serviceAccount = "1.12.1", 80, 1, "ingress-nginx"
	a := w.buildApp(s)
	a.pods[0].Spec.Containers[0].Name = "controller"
	a.pods[0].Status.ContainerStatuses[0].Name = "controller"
	a.dep.Spec.Template.Spec.Containers[0].Name = "controller"
	a.rs.Spec.Template.Spec.Containers[0].Name = "controller"
	w.ingressPod = a.pods[0]
	return w.ingressPod
}

func selectorMismatch(w *world, v variant) result {
	s := w.spec(v)
	a := w.buildApp(s)
	var bad, badLabel string
	if v.n == 0 {
		bad = s.name + "-" + pick(w.r, []string{"v2", "svc", "app", "canary"})
		a.svc.Spec.Selector = map[string]string{s.selectorKey: bad}
		badLabel = bad
	} else {
		bad = pick(w.r, []string{"tier", "component", "track"})
		val := pick(w.r, []string{"backend", "web", "stable"})
		a.svc.Spec.Selector = copyLabels(a.svc.Spec.Selector, bad, val)
		badLabel = bad + ": " + val
	}
	for _, p := range a.pods {
		w.log(s.ns, p.Name, s.name, false, w.healthyLog(s, p, 4)...)
	}
	var alert alertDef
	if v.n == 0 {
		host := w.ingressCallers(a, "", 503)
		alert = w.errorRate(s.ns, s.name, host)
	} else {
		alert = w.probeFailed(s.ns, s.name, fmt.Sprintf("http://%s.%s.svc.cluster.local:%d/healthz", s.name, s.ns, s.servicePort))
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.EndpointMissing, cats{investigate.ServiceDown},
			fmt.Sprintf("Service %s/%s selects %s, a label no pod carries, so it has no endpoints while the %s pods run healthy.", s.ns, s.name, badLabel, s.name),
			g("selector"), g(bad))}
}

func targetPortNumber(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	s.numericTarget = true
	a := w.buildApp(s)
	wrong := s.port + pick(w.r, []int32{1, 10, 80, -80, 1000})
	if wrong == s.servicePort || wrong <= 0 {
		wrong = s.port + 7
	}
	a.svc.Spec.Ports[0].TargetPort = intstr.FromInt32(wrong)
	for _, p := range a.pods {
		w.log(s.ns, p.Name, s.name, false, w.healthyLog(s, p, 3)...)
	}
	host := w.ingressCallers(a, fmt.Sprintf("connect() failed (111: Connection refused) while connecting to upstream, upstream: \"http://%s:%d/api/v1/items\"", a.pods[0].Status.PodIP, wrong), 502)
	return result{ns: s.ns, alerts: []alertDef{w.errorRate(s.ns, s.name, host)},
		expect: expect(investigate.ServiceDown, cats{investigate.EndpointMissing},
			fmt.Sprintf("Service %s/%s sends traffic to targetPort %d, but the %s containers listen on %d: every connection is refused.", s.ns, s.name, wrong, s.name, s.port),
			g("targetport", "target port", "target-port"), g(fmt.Sprint(wrong)))}
}

func targetPortName(w *world, v variant) result {
	s := w.spec(v)
	a := w.buildApp(s)
	wrong := pick(w.r, []string{"web", "http-api", "app", "grpc", "api"})
	a.svc.Spec.Ports[0].TargetPort = intstr.FromString(wrong)
	for _, p := range a.pods {
		w.log(s.ns, p.Name, s.name, false, w.healthyLog(s, p, 3)...)
	}
	alert := w.probeFailed(s.ns, s.name, fmt.Sprintf("http://%s.%s.svc:%d/", s.name, s.ns, s.servicePort))
	if v.n == 1 {
		alert = w.errorRate(s.ns, s.name, w.ingressCallers(a, "", 503))
	}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.EndpointMissing, cats{investigate.ServiceDown},
			fmt.Sprintf("Service %s/%s has targetPort %q, a port name no container of %s declares (its port is named %q), so it has no endpoints.", s.ns, s.name, wrong, s.name, s.portName),
			g("targetport", "target port", "port name", "named port"), g(wrong))}
}

func scaledToZero(w *world, v variant) result {
	s := w.spec(v, kindDeployment, kindStatefulSet)
	a := w.buildApp(s)
	before := len(a.pods)
	// The pods are gone: drop them from the world.
	keep := w.objs[:0]
	gone := map[*corev1.Pod]bool{}
	for _, p := range a.pods {
		gone[p] = true
	}
	for _, o := range w.objs {
		if p, ok := o.(*corev1.Pod); ok && gone[p] {
			continue
		}
		keep = append(keep, o)
	}
	w.objs = keep
	a.pods = nil
	ago := w.between(12*time.Minute, 40*time.Minute)
	if a.dep != nil {
		*a.dep.Spec.Replicas, *a.rs.Spec.Replicas = 0, 0
		a.dep.Generation++
		a.rs.Annotations["deployment.kubernetes.io/desired-replicas"] = "0"
		w.event(a.dep, ev{typ: corev1.EventTypeNormal, reason: "ScalingReplicaSet", component: "deployment-controller",
			message: fmt.Sprintf("Scaled down replica set %s from %d to 0", a.rs.Name, before), last: ago})
		for i := 0; i < before; i++ {
			w.event(a.rs, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulDelete", component: "replicaset-controller",
				message: fmt.Sprintf("Deleted pod: %s-%s", a.rs.Name, w.alnum(5)), last: ago})
		}
	} else {
		*a.sts.Spec.Replicas = 0
		a.sts.Generation++
		for i := before - 1; i >= 0; i-- {
			w.event(a.sts, ev{typ: corev1.EventTypeNormal, reason: "SuccessfulDelete", component: "statefulset-controller",
				message: fmt.Sprintf("delete Pod %s-%d in StatefulSet %s successful", s.name, i, s.name), last: ago - time.Duration(before-i)*10*time.Second})
		}
	}
	return result{ns: s.ns, alerts: []alertDef{w.probeFailed(s.ns, s.name, fmt.Sprintf("https://%s.%s/healthz", s.name, w.domain))},
		expect: expect(investigate.ServiceDown, cats{investigate.EndpointMissing},
			fmt.Sprintf("%s %s/%s was scaled from %d to 0 replicas; its Service has no endpoints.", s.kind, s.ns, s.name, before),
			g("scaled to 0", "scaled to zero", "scaled down to 0", "scaled down to zero", "0 replicas", "zero replicas", "replicas: 0", "replicas=0", "replicas to 0", "replica count of 0", "scale to 0", "scale to zero", "0 desired"),
			g(s.name))}
}
