package k8s

import (
	"context"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// A pod category does not ask for the cluster DNS, but a log showing the
// resolver failing pulls it in; a name that does not exist does not.
func TestGatherFollowsResolverFailuresToDNS(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		wantDNS    bool
	}{
		{"Go lookup timeout", `dial tcp: lookup api.vendor.example on 10.96.0.10:53: read udp 10.1.2.3:4000->10.96.0.10:53: i/o timeout`, true},
		{"glibc temporary failure (Java)", `java.net.UnknownHostException: api.vendor.example: Temporary failure in name resolution`, true},
		{"Node EAI_AGAIN", `Error: getaddrinfo EAI_AGAIN api.vendor.example`, true},
		{"a name that does not exist", `dial tcp: lookup orders-dbb on 10.96.0.10:53: no such host`, false},
		{"no lookup at all", `listening on :8080`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dns := newPod("kube-system", "coredns-5d-aaaaa", withLabels("k8s-app", "kube-dns"))
			app := newPod("shop", "notifier-7f-bbbbb", withLabels("app", "notifier"), ownedByRS("notifier-7f"), crashLooping(3))
			logs := mapLogs{"shop/notifier-7f-bbbbb/app": tc.line, "shop/notifier-7f-bbbbb/app/previous": tc.line}
			g := NewGatherer(newMemory(t, []runtime.Object{dns, app}...), Options{Logs: logs, Metrics: newMemory(t)})
			s, err := g.gather(context.Background(), investigate.Target{Kind: investigate.KindPod, Name: app.Name, Namespace: "shop", Pod: app.Name}, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			if got := s.DNS != nil && len(s.DNS.Pods) == 1; got != tc.wantDNS {
				t.Errorf("cluster DNS gathered = %v, want %v", got, tc.wantDNS)
			}
		})
	}
}
