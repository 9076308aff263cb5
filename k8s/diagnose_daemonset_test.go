package k8s

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

func TestDiagnoseDaemonSetNodes(t *testing.T) {
	tainted := func(name string, taints ...corev1.Taint) corev1.Node {
		n := nodeWith(name, healthyConds()...)
		n.Labels = map[string]string{"pool": "batch"}
		n.Spec.Taints = taints
		return n
	}
	batch := corev1.Taint{Key: "workload", Value: "batch", Effect: corev1.TaintEffectNoSchedule}
	gpu := corev1.Taint{Key: "nvidia.com/gpu", Effect: corev1.TaintEffectNoExecute}
	notReady := corev1.Taint{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoExecute}
	ds := func(mis int32, tols ...corev1.Toleration) appsv1.DaemonSet {
		return appsv1.DaemonSet{ObjectMeta: metav1.ObjectMeta{Namespace: "logging", Name: "shipper"},
			Spec:   appsv1.DaemonSetSpec{Template: corev1.PodTemplateSpec{Spec: corev1.PodSpec{Tolerations: tols}}},
			Status: appsv1.DaemonSetStatus{DesiredNumberScheduled: 1, CurrentNumberScheduled: 2, NumberMisscheduled: mis}}
	}
	dsPod := func(name, node string) corev1.Pod {
		return *newPod("logging", name, controlledBy("DaemonSet", "shipper"), onNode(node))
	}
	target := investigate.Target{Kind: investigate.KindDaemonSet, Namespace: "logging", Name: "shipper"}
	runRuleCases(t, []string{"daemonset-"}, []ruleCase{
		{name: "new taint on a pool: misscheduled pods and a node without one", rule: "daemonset-nodes",
			snap: func() *Snapshot {
				return &Snapshot{DaemonSets: []appsv1.DaemonSet{ds(1)},
					Nodes: []corev1.Node{tainted("general-0"), tainted("batch-0", batch), tainted("batch-1", batch)},
					Pods:  []corev1.Pod{dsPod("shipper-a", "general-0"), dsPod("shipper-b", "batch-0")}}
			},
			summary: []string{"DaemonSet logging/shipper", "taint workload=batch:NoSchedule", "batch-1 gets no pod", "already on batch-0 is counted as misscheduled", "numberMisscheduled 1"},
			objects: []string{"node/batch-0", "node/batch-1"},
			proof:   []string{"tolerations: none"}},
		{name: "NoExecute taint without value, DaemonSet is the alert's target", rule: "daemonset-nodes",
			snap: func() *Snapshot {
				return &Snapshot{Target: target, DaemonSets: []appsv1.DaemonSet{ds(0, corev1.Toleration{Key: "workload", Operator: corev1.TolerationOpExists})},
					Nodes: []corev1.Node{tainted("gpu-0", gpu), tainted("batch-0", batch)}}
			},
			summary: []string{"taint nvidia.com/gpu:NoExecute of node gpu-0"}},
		{name: "nodeSelector no longer matches a node with a pod", rule: "daemonset-nodes",
			snap: func() *Snapshot {
				d := ds(1)
				d.Spec.Template.Spec.NodeSelector = map[string]string{"pool": "general"}
				return &Snapshot{DaemonSets: []appsv1.DaemonSet{d}, Nodes: []corev1.Node{tainted("batch-0")}, Pods: []corev1.Pod{dsPod("shipper-b", "batch-0")}}
			},
			summary: []string{"batch-0 no longer matches its nodeSelector/node affinity (pool=general)"}},
		{name: "tolerated taints and condition taints are not reported", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{Target: target, DaemonSets: []appsv1.DaemonSet{ds(0, corev1.Toleration{Key: "workload", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule})},
					Nodes: []corev1.Node{tainted("batch-0", batch), tainted("sick-0", notReady)}}
			}},
		{name: "a deliberate taint on a DaemonSet nobody asked about is not reported", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{DaemonSets: []appsv1.DaemonSet{ds(0)}, Nodes: []corev1.Node{tainted("gpu-0", gpu)}}
			}},
	})
}

func TestNodeAffinityTerms(t *testing.T) {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", Labels: map[string]string{"zone": "a", "cores": "16"}}}
	req := func(terms ...corev1.NodeSelectorTerm) *corev1.PodSpec {
		return &corev1.PodSpec{Affinity: &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{
			RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{NodeSelectorTerms: terms}}}}
	}
	expr := func(k string, op corev1.NodeSelectorOperator, v ...string) corev1.NodeSelectorTerm {
		return corev1.NodeSelectorTerm{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: k, Operator: op, Values: v}}}
	}
	for _, c := range []struct {
		name string
		spec *corev1.PodSpec
		want bool
	}{
		{"In", req(expr("zone", corev1.NodeSelectorOpIn, "a", "b")), true},
		{"NotIn", req(expr("zone", corev1.NodeSelectorOpNotIn, "a")), false},
		{"DoesNotExist", req(expr("gpu", corev1.NodeSelectorOpDoesNotExist)), true},
		{"Gt", req(expr("cores", corev1.NodeSelectorOpGt, "8")), true},
		{"terms are ORed", req(expr("zone", corev1.NodeSelectorOpIn, "b"), expr("cores", corev1.NodeSelectorOpLt, "32")), true},
		{"matchFields name", req(corev1.NodeSelectorTerm{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{"n2"}}}}), false},
	} {
		if got := nodeMatchesPodSpec(c.spec, n); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}
