package k8s

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

func nodeLease(node string, renewed time.Time) *coordinationv1.Lease {
	holder, secs := node, int32(40)
	t := metav1.NewMicroTime(renewed)
	return &coordinationv1.Lease{
		ObjectMeta: metav1.ObjectMeta{Namespace: nodeLeaseNamespace, Name: node},
		Spec:       coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs, RenewTime: &t},
	}
}

// The kubelet lease is read for nodes that are not Ready, only for them,
// and tells a kubelet that stopped from one that runs and reports the node
// NotReady.
func TestNodeLease(t *testing.T) {
	since := time.Date(2026, 11, 1, 10, 0, 40, 0, time.UTC)
	notReady := func(name string, status corev1.ConditionStatus, reason, msg string) *corev1.Node {
		c := cond(corev1.NodeReady, status, reason, msg)
		c.LastTransitionTime = metav1.NewTime(since)
		n := nodeWith(name, withCond(c)...)
		return &n
	}
	for _, tt := range []struct {
		name       string
		node       *corev1.Node
		renewed    time.Time
		wantDetail string
	}{
		{"kubelet stopped", notReady("worker-2", corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."),
			since.Add(-50 * time.Second), "last renewed its node lease at 2026-11-01T09:59:50Z, and not since"},
		{"kubelet alive, runtime down", notReady("worker-3", corev1.ConditionFalse, "KubeletNotReady", "container runtime network not ready: cni plugin not initialized"),
			since.Add(3 * time.Minute), "Its kubelet is alive: it renewed its node lease at 2026-11-01T10:03:40Z"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			healthy := newNode("worker-1", "10.0.0.9")
			api := newRecordingReader(t, tt.node, healthy, nodeLease(tt.node.Name, tt.renewed), nodeLease("worker-1", tt.renewed))
			s, err := NewGatherer(api, Options{Logs: mapLogs{}}).gather(context.Background(),
				investigate.Target{Kind: investigate.KindNode, Name: tt.node.Name, Node: tt.node.Name}, investigate.NodeNotReady)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.NodeLeases) != 1 || s.NodeLeases[0].Name != tt.node.Name {
				t.Fatalf("leases read: %v, want only %s's", s.NodeLeases, tt.node.Name)
			}
			for _, q := range api.recorded() {
				if q.resource == resLeases && q.name != tt.node.Name {
					t.Errorf("read the lease of %s, a Ready node", q.name)
				}
			}
			var f *investigate.Finding
			for _, x := range s.Diagnose() {
				if x.Rule == "node-not-ready" {
					f = &x
				}
			}
			if f == nil {
				t.Fatal("no node-not-ready finding")
			}
			if !strings.Contains(f.Detail, tt.wantDetail) {
				t.Errorf("detail %q, want it to say %q", f.Detail, tt.wantDetail)
			}
			if !strings.Contains(strings.Join(f.Proof, "\n"), "lease kube-node-lease/"+tt.node.Name+": renewed") {
				t.Errorf("proof %q lacks the lease", f.Proof)
			}
		})
	}
}
