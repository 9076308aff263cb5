package k8s

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseDNSNdots(t *testing.T) {
	coredns := func(lines ...string) (corev1.Pod, ContainerLog) {
		p := newPod("kube-system", "coredns-abc-1", withLabels("k8s-app", "kube-dns"))
		p.Spec.Containers[0].Name = "coredns"
		p.Status.ContainerStatuses[0].Name = "coredns"
		return *p, ContainerLog{Namespace: "kube-system", Pod: p.Name, Container: "coredns", Lines: lines}
	}
	snap := func(app *corev1.Pod, appLines []string, dnsLines ...string) *Snapshot {
		dp, dl := coredns(dnsLines...)
		return &Snapshot{
			Pods: []corev1.Pod{*app},
			Logs: []ContainerLog{{Namespace: app.Namespace, Pod: app.Name, Container: "app", Lines: appLines}},
			DNS:  &DNSState{Pods: []corev1.Pod{dp}, Logs: []ContainerLog{dl}},
		}
	}
	one := "1"
	three := "3"
	runRuleCases(t, []string{"dns-ndots"}, []ruleCase{
		{
			name: "deployment, default ndots, node search domain in the errors plugin",
			snap: func() *Snapshot {
				app := newPod("shop", "notifier-7d9-x1", ownedByRS("notifier-7d9"), withLabels("pod-template-hash", "7d9"))
				return snap(app,
					[]string{`level=warn msg="send failed" err="Post \"https://api.mailer.example.com/v1/send\": dial tcp: lookup api.mailer.example.com on 10.96.0.10:53: i/o timeout"`},
					`[ERROR] plugin/errors: 2 api.mailer.example.com.corp.lan. A: read udp 10.1.0.3:4411->192.0.2.53:53: i/o timeout`,
					`[ERROR] plugin/errors: 2 api.mailer.example.com. AAAA: concurrent queries exceeded maximum 1000`)
			},
			rule:    "dns-ndots-expansion",
			summary: []string{"Deployment shop/notifier", "api.mailer.example.com", "ndots:5", "corp.lan", "search list"},
			objects: []string{"deployment/notifier"},
			proof:   []string{"CoreDNS query api.mailer.example.com.corp.lan.", "concurrent queries exceeded"},
		},
		{
			name: "statefulset, ndots from dnsConfig, cluster suffixes in the log plugin, Java client",
			snap: func() *Snapshot {
				app := newPod("billing", "ledger-0")
				tr := true
				app.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "ledger", Controller: &tr}}
				app.Spec.DNSConfig = &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &three}}}
				return snap(app,
					[]string{`java.net.UnknownHostException: rates.partner.io: Temporary failure in name resolution`},
					`[INFO] 10.1.4.7:53211 - 4242 "A IN rates.partner.io.billing.svc.cluster.local. udp 57 false 512" NXDOMAIN qr,aa,rd 150 0.0001s`,
					`[INFO] 10.1.4.7:53212 - 4243 "AAAA IN rates.partner.io.svc.cluster.local. udp 52 false 512" NXDOMAIN qr,aa,rd 145 0.0001s`)
			},
			rule:    "dns-ndots-expansion",
			summary: []string{"StatefulSet billing/ledger", "rates.partner.io", "ndots:3", "dnsConfig", "billing.svc.cluster.local"},
			objects: []string{"statefulset/ledger"},
		},
		{
			name: "ndots:1 in dnsConfig: names with a dot are tried as given, no expansion blamed",
			snap: func() *Snapshot {
				app := newPod("shop", "notifier-1")
				app.Spec.DNSConfig = &corev1.PodDNSConfig{Options: []corev1.PodDNSConfigOption{{Name: "ndots", Value: &one}}}
				return snap(app,
					[]string{`lookup api.mailer.example.com on 10.96.0.10:53: i/o timeout`},
					`[ERROR] plugin/errors: 2 api.mailer.example.com.corp.lan. A: read udp 10.1.0.3:4411->192.0.2.53:53: i/o timeout`)
			},
		},
		{
			name: "CoreDNS only sees the names as given: no expansion",
			snap: func() *Snapshot {
				app := newPod("shop", "notifier-2")
				return snap(app,
					[]string{`lookup api.mailer.example.com on 10.96.0.10:53: i/o timeout`},
					`[ERROR] plugin/errors: 2 api.mailer.example.com. A: read udp 10.1.0.3:4411->192.0.2.53:53: i/o timeout`)
			},
		},
		{
			name: "dnsPolicy Default: the cluster search list does not apply",
			snap: func() *Snapshot {
				app := newPod("shop", "notifier-3")
				app.Spec.DNSPolicy = corev1.DNSDefault
				return snap(app,
					[]string{`lookup api.mailer.example.com on 10.0.0.2:53: i/o timeout`},
					`[ERROR] plugin/errors: 2 api.mailer.example.com.corp.lan. A: read udp 10.1.0.3:4411->192.0.2.53:53: i/o timeout`)
			},
		},
	})
}
