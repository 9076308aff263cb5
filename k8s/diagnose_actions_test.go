package k8s

import (
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// TestNodeNotReadyActionsFollowTheKubelet checks that the next steps for a
// NotReady node start at the machine only when its kubelet went silent, and
// follow the part the kubelet names when it still reports.
func TestNodeNotReadyActionsFollowTheKubelet(t *testing.T) {
	turned := metav1.NewTime(time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC))
	renewed := metav1.NewMicroTime(turned.Add(3 * time.Minute))
	stale := metav1.NewMicroTime(turned.Add(-time.Minute))
	cases := []struct {
		name          string
		status        corev1.ConditionStatus
		msg           string
		renew         *metav1.MicroTime
		want, wantNot string
	}{
		{"silent kubelet", corev1.ConditionUnknown, "Kubelet stopped posting node status.", &stale, "systemctl status kubelet", "CNI"},
		{"no lease read", corev1.ConditionUnknown, "Kubelet stopped posting node status.", nil, "cloud console", "CNI"},
		{"network plugin", corev1.ConditionFalse, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized", nil, "network plugin's agent", "cloud console"},
		{"runtime down", corev1.ConditionFalse, "PLEG is not healthy: pleg was last seen active 3m0s ago", nil, "systemctl status containerd", "cloud console"},
		{"unknown but lease renewed", corev1.ConditionUnknown, "Kubelet stopped posting node status.", &renewed, "journalctl -u kubelet", "cloud console"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := &corev1.NodeCondition{Type: corev1.NodeReady, Status: tc.status, Message: tc.msg, LastTransitionTime: turned}
			var lease *coordinationv1.Lease
			if tc.renew != nil {
				lease = &coordinationv1.Lease{Spec: coordinationv1.LeaseSpec{RenewTime: tc.renew}}
			}
			got := strings.Join(nodeNotReadyActions("worker-3", c, lease), "\n")
			if !strings.Contains(got, tc.want) || strings.Contains(got, tc.wantNot) {
				t.Errorf("actions want %q and not %q:\n%s", tc.want, tc.wantNot, got)
			}
			if strings.Contains(got, "<node>") || !strings.Contains(got, "worker-3") {
				t.Errorf("actions must name the node:\n%s", got)
			}
		})
	}
}
