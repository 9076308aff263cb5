package k8s

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"

	"github.com/k8flex/k8flex/investigate"
)

// Whatever the category, the links around a namespaced target are
// followed: owner chain, Services and their EndpointSlices,
// NetworkPolicies (ingress and egress), quota and LimitRange, and the
// node the pods run on. A node category keeps the target's own pods. The
// category decides depth only: the cluster DNS for network categories,
// the metrics API for resource and node categories.
func TestGraphLinksDoNotDependOnCategory(t *testing.T) {
	dep := newDeployment("shop", "web", map[string]string{"app": "web"})
	dep.Spec.Template.Labels = map[string]string{"app": "web"}
	egress := &networkingv1.NetworkPolicy{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-egress"},
		Spec: networkingv1.NetworkPolicySpec{PodSelector: metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeEgress}}}
	objs := []runtime.Object{
		dep, newReplicaSet("shop", "web-6f8d9c7b5d", "web"),
		newPod("shop", "web-6f8d9c7b5d-pt7wz", withLabels("app", "web"), ownedByRS("web-6f8d9c7b5d"), crashLooping(4)),
		newPod("shop", "other-0", withLabels("app", "other"), func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }),
		newPod("batch", "neighbour-0", withLabels("app", "neighbour")),
		newNode("node-1", "10.0.0.1"), newNode("node-2", "10.0.0.2"),
		&corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "web"}}},
		&discoveryv1.EndpointSlice{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "web-abcde", Labels: map[string]string{discoveryv1.LabelServiceName: "web"}}},
		egress,
		&corev1.ResourceQuota{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "compute"},
			Status: corev1.ResourceQuotaStatus{Hard: corev1.ResourceList{corev1.ResourcePods: resource.MustParse("10")}}},
		&corev1.LimitRange{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: "defaults"}},
	}
	target := investigate.Target{Kind: investigate.KindPod, Name: "web-6f8d9c7b5d-pt7wz", Namespace: "shop", Pod: "web-6f8d9c7b5d-pt7wz"}
	pm := &metricsv1beta1.PodMetrics{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: target.Pod},
		Containers: []metricsv1beta1.ContainerMetrics{{Name: "app", Usage: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m")}}}}
	for _, c := range investigate.Categories() {
		t.Run(string(c), func(t *testing.T) {
			g := NewGatherer(newMemory(t, objs...), Options{Logs: mapLogs{}, Metrics: newMemory(t, pm)})
			s, err := g.gather(context.Background(), target, c)
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Pods) == 0 || s.Pods[0].Name != target.Pod || s.Target.Kind != investigate.KindPod {
				t.Errorf("pods = %v, target %s; want the target pod first, the target kept", podNames(s.Pods), s.Target)
			}
			if len(s.Deployments) != 1 || len(s.ReplicaSets) != 1 {
				t.Errorf("deployments %d, replicasets %d; want the owner chain (1 and 1)", len(s.Deployments), len(s.ReplicaSets))
			}
			if len(s.Services) != 1 || len(s.EndpointSlices) != 1 {
				t.Errorf("services %d, endpointslices %d; want 1 and 1", len(s.Services), len(s.EndpointSlices))
			}
			if len(s.NetworkPolicies) != 1 || s.NetworkPolicies[0].Name != "web-egress" {
				t.Errorf("network policies = %v, want web-egress", s.NetworkPolicies)
			}
			if len(s.ResourceQuotas) != 1 || len(s.LimitRanges) != 1 {
				t.Errorf("quotas %d, limit ranges %d; want 1 and 1", len(s.ResourceQuotas), len(s.LimitRanges))
			}
			if !slices.ContainsFunc(s.Nodes, func(n corev1.Node) bool { return n.Name == "node-1" }) {
				t.Errorf("nodes = %v, want node-1 (the pod's)", s.Nodes)
			}
			node := slices.Contains(c.Scopes(), investigate.ScopeNode)
			if got := slices.ContainsFunc(s.RelatedPods, func(p corev1.Pod) bool { return p.Name == "neighbour-0" }); got != node {
				t.Errorf("the other pods on the node read = %t, want %t (node categories)", got, node)
			}
			network := slices.Contains(c.Scopes(), investigate.ScopeNetwork)
			if (s.DNS != nil) != network {
				t.Errorf("cluster DNS read = %t, want %t (depth follows the category)", s.DNS != nil, network)
			}
			metrics := slices.Contains(c.Scopes(), investigate.ScopeResource) || node
			if got := len(s.PodMetrics) > 0; got != metrics {
				t.Errorf("pod metrics read = %t, want %t (depth follows the category)", got, metrics)
			}
		})
	}
}
