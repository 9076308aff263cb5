package faultgen

import (
	"fmt"
	"strings"
	"time"

	"github.com/k8flex/k8flex/investigate"
)

// appAlertDNSUpstream: an application's own alert (a backlog, not a
// Kubernetes state) fires for pods that are Running and Ready; their logs
// say name lookups through the cluster DNS time out, and CoreDNS's logs
// say its Corefile's forward targets do not answer. Only following the
// app's log to the cluster DNS finds the cause. Variant 0 logs Go's
// resolver error, variant 1 glibc's (Python) wording.
func appAlertDNSUpstream(w *world, v variant) result {
	a := w.coreDNS
	cm := w.findConfigMap("kube-system", "coredns")
	up := fmt.Sprintf("10.%d.%d.%d", 20+w.r.Intn(40), w.r.Intn(250), 2+w.r.Intn(50))
	up2 := up[:strings.LastIndexByte(up, '.')+1] + fmt.Sprint(60+w.r.Intn(100))
	cm.Data["Corefile"] = fmt.Sprintf(corefile, up+" "+up2)
	hosts := []string{"hooks.partner-bank.example.", "api.courier-one.example.", "notify.telco.example."}
	for _, p := range a.pods {
		var lines []string
		t := w.now.Add(-7 * time.Minute)
		for i := 0; i < 6; i++ {
			t = t.Add(w.between(5*time.Second, 40*time.Second))
			u := up
			if i%2 == 1 {
				u = up2
			}
			lines = append(lines, fmt.Sprintf("[ERROR] plugin/errors: 2 %s A: read udp %s:%d->%s:53: i/o timeout", pick(w.r, hosts), p.Status.PodIP, 30000+w.r.Intn(30000), u))
		}
		w.log("kube-system", p.Name, "coredns", false, lines...)
	}
	s := w.spec(v, kindDeployment, kindStatefulSet)
	victim := w.buildApp(s)
	host := strings.TrimSuffix(pick(w.r, hosts), ".")
	w.errorLogs(victim, func(t time.Time) string {
		if v.n%2 == 1 {
			return fmt.Sprintf("%s ERROR sender: delivery to https://%s/events failed: HTTPSConnectionPool(host='%s', port=443): Max retries exceeded (Caused by NameResolutionError(\"Failed to resolve '%s' ([Errno -3] Temporary failure in name resolution)\"))", ts(t), host, host, host)
		}
		return fmt.Sprintf(`{"level":"warn","ts":"%s","msg":"delivery failed","error":"Post \"https://%s/events\": dial tcp: lookup %s on %s:53: read udp 10.244.3.9:4%d->%s:53: i/o timeout"}`, ts(t), host, host, w.dnsIP, 1000+w.r.Intn(8999), w.dnsIP)
	})
	p := victim.pods[0]
	metric := pick(w.r, []string{"outbox_pending_messages", "webhook_queue_depth", "delivery_backlog"})
	alert := alertDef{labels: map[string]string{"alertname": "DeliveryBacklogGrowing", "severity": "critical", "namespace": s.ns, "pod": p.Name, "app": s.name, "job": s.ns + "/" + s.name},
		summary: "Delivery backlog is growing", description: fmt.Sprintf("%s is %d and has grown for 15 minutes.", metric, 5000+w.r.Intn(90000)),
		runbook: "https://runbooks." + w.domain + "/delivery-backlog", expr: "deriv(" + metric + "[15m]) > 0"}
	return result{ns: s.ns, alerts: []alertDef{alert},
		expect: expect(investigate.DNSIssues, nil,
			fmt.Sprintf("Pods of %s/%s cannot resolve external names: CoreDNS forwards them to %s and %s, which do not answer (i/o timeout).", s.ns, s.name, up, up2),
			g("coredns", "corefile", "forward", "upstream"), g(up, up2))}
}
