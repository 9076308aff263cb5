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
			name: "deployment, Python urllib3 wording, the node's search domain times out",
			snap: func() *Snapshot {
				app := newPod("geo", "enricher-5c-q1", ownedByRS("enricher-5c"), withLabels("pod-template-hash", "5c"))
				return snap(app,
					[]string{`urllib3.exceptions.NameResolutionError: <urllib3.connection.HTTPSConnection object at 0x7f3a>: Failed to resolve 'maps.geo-vendor.example' ([Errno -3] Temporary failure in name resolution)`},
					`[ERROR] plugin/errors: 2 maps.geo-vendor.example.us-west-2.compute.internal. AAAA: read udp 10.1.0.3:4411->10.0.0.2:53: i/o timeout`)
			},
			rule:    "dns-ndots-expansion",
			summary: []string{"Deployment geo/enricher", "maps.geo-vendor.example", "ndots:5", "us-west-2.compute.internal"},
		},
		{
			name: "daemonset, .NET wording, the node's search domain times out",
			snap: func() *Snapshot {
				app := newPod("edge", "beacon-x7k2p")
				tr := true
				app.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "beacon", Controller: &tr}}
				return snap(app,
					[]string{`fail: System.Net.Http.HttpClient.Telemetry[101] System.Net.Http.HttpRequestException: Resource temporarily unavailable (collect.telemetry-co.example:443)`},
					`[ERROR] plugin/errors: 2 collect.telemetry-co.example.corp.example.net. A: read udp 10.1.0.3:4411->10.0.0.2:53: i/o timeout`)
			},
			rule:    "dns-ndots-expansion",
			summary: []string{"DaemonSet edge/beacon", "collect.telemetry-co.example", "corp.example.net"},
		},
		{
			name: "job pod, curl wording, cluster suffixes answered NXDOMAIN",
			snap: func() *Snapshot {
				app := newPod("backup", "nightly-29012-abcde")
				tr := true
				app.OwnerReferences = []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "Job", Name: "nightly-29012", Controller: &tr}}
				return snap(app,
					[]string{`curl: (6) Could not resolve host: files.archive-host.example`},
					`[INFO] 10.1.4.9:40001 - 17 "A IN files.archive-host.example.backup.svc.cluster.local. udp 70 false 512" NXDOMAIN qr,aa,rd 163 0.0001s`)
			},
			rule:    "dns-ndots-expansion",
			summary: []string{"files.archive-host.example", "ndots:5", "backup.svc.cluster.local"},
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
