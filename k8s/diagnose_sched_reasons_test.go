package k8s

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// unschedulable makes the pod Pending with the scheduler's message.
func unschedulable(msg string) podOpt {
	return func(p *corev1.Pod) {
		pending()(p)
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: msg}}
	}
}

func hostPortOn(ports ...int32) podOpt {
	return func(p *corev1.Pod) {
		for _, port := range ports {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{ContainerPort: port, HostPort: port})
		}
	}
}

func pinnedTo(node string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Affinity = &corev1.Affinity{NodeAffinity: &corev1.NodeAffinity{RequiredDuringSchedulingIgnoredDuringExecution: &corev1.NodeSelector{
			NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchFields: []corev1.NodeSelectorRequirement{{Key: "metadata.name", Operator: corev1.NodeSelectorOpIn, Values: []string{node}}}}}}}}
	}
}

func antiAffinity(key string, kv ...string) podOpt {
	return func(p *corev1.Pod) {
		sel := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			sel[kv[i]] = kv[i+1]
		}
		p.Spec.Affinity = &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{RequiredDuringSchedulingIgnoredDuringExecution: []corev1.PodAffinityTerm{
			{TopologyKey: key, LabelSelector: &metav1.LabelSelector{MatchLabels: sel}}}}}
	}
}

func labelledNode(name string, kv ...string) corev1.Node {
	n := nodeWith(name, healthyConds()...)
	n.Labels = map[string]string{corev1.LabelHostname: name}
	for i := 0; i+1 < len(kv); i += 2 {
		n.Labels[kv[i]] = kv[i+1]
	}
	return n
}

func TestDiagnoseSchedulingReasons(t *testing.T) {
	const portsMsg = "0/3 nodes are available: 1 node(s) didn't have free ports for the requested pod ports, 2 node(s) didn't match Pod's node affinity/selector. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling."
	three := func() []corev1.Node {
		return []corev1.Node{labelledNode("n1"), labelledNode("n2"), labelledNode("n3")}
	}
	runRuleCases(t, []string{"failed-scheduling"}, []ruleCase{
		{name: "DaemonSet pod blocked by another DaemonSet's hostPort; its node pin is by design", rule: "failed-scheduling",
			snap: func() *Snapshot {
				p := newPod("obs", "agent-x1", controlledBy("DaemonSet", "agent"), hostPortOn(4317), pinnedTo("n1"), unschedulable(portsMsg))
				holder := newPod("mon", "collector-a", controlledBy("DaemonSet", "collector"), hostPortOn(4317), onNode("n1"))
				return &Snapshot{Nodes: three(), Pods: []corev1.Pod{*p}, RelatedPods: []corev1.Pod{*holder}}
			},
			summary: []string{"host port conflict", "hostPort 4317/TCP", "mon/collector-a (daemonset/collector)", "on node n1", "by design"},
			proof:   []string{"pod mon/collector-a on node n1 binds hostPort 4317/TCP"}},
		{name: "Deployment pod with hostNetwork holder", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/2 nodes are available: 2 node(s) didn't have free ports for the requested pod ports."
				p := newPod("web", "edge-7c9-abc", ownedByRS("edge-7c9"), withLabels("pod-template-hash", "7c9"), hostPortOn(8443), unschedulable(msg))
				holder := newPod("ingress", "proxy-0", onNode("n2"), func(p *corev1.Pod) {
					p.Spec.HostNetwork = true
					p.Spec.Containers[0].Ports = []corev1.ContainerPort{{ContainerPort: 8443}}
				})
				return &Snapshot{Nodes: []corev1.Node{labelledNode("n1"), labelledNode("n2")}, Pods: []corev1.Pod{*p}, RelatedPods: []corev1.Pod{*holder}}
			},
			summary: []string{"host port conflict", "8443/TCP", "ingress/proxy-0", "node n2"}},
		{name: "anti-affinity: more replicas than nodes, taint on the rest comes second", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/4 nodes are available: 1 node(s) had untolerated taint {CriticalAddonsOnly: true}, 3 node(s) didn't match pod anti-affinity rules."
				aa := antiAffinity(corev1.LabelHostname, "app", "scorer")
				var pods []corev1.Pod
				for i, n := range []string{"n1", "n2", "n3"} {
					pods = append(pods, *newPod("risk", "scorer-"+string(rune('a'+i)), withLabels("app", "scorer"), aa, onNode(n)))
				}
				p := newPod("risk", "scorer-x", withLabels("app", "scorer", "pod-template-hash", "h"), ownedByRS("scorer-h"), aa, unschedulable(msg))
				sys := labelledNode("sys")
				sys.Spec.Taints = []corev1.Taint{{Key: "CriticalAddonsOnly", Value: "true", Effect: corev1.TaintEffectNoSchedule}}
				five := int32(5)
				dep := appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "risk", Name: "scorer"}, Spec: appsv1.DeploymentSpec{Replicas: &five}}
				return &Snapshot{Nodes: append(three(), sys), Pods: []corev1.Pod{*p}, RelatedPods: pods, Deployments: []appsv1.Deployment{dep}}
			},
			summary: []string{"pod anti-affinity", "topologyKey kubernetes.io/hostname", "app=scorer", "wants 5 replicas but only 3 nodes", "on the other 1 node", "CriticalAddonsOnly=true:NoSchedule"}},
		{name: "StatefulSet anti-affinity per zone", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/2 nodes are available: 2 node(s) didn't match pod anti-affinity rules."
				aa := antiAffinity(corev1.LabelTopologyZone, "app", "db")
				a := newPod("data", "db-0", withLabels("app", "db"), aa, onNode("n1"))
				p := newPod("data", "db-1", withLabels("app", "db"), controlledBy("StatefulSet", "db"), aa, unschedulable(msg))
				return &Snapshot{Nodes: []corev1.Node{labelledNode("n1", corev1.LabelTopologyZone, "z1"), labelledNode("n2", corev1.LabelTopologyZone, "z1")},
					Pods: []corev1.Pod{*p}, RelatedPods: []corev1.Pod{*a}}
			},
			summary: []string{"pod anti-affinity", "topologyKey topology.kubernetes.io/zone", "db-0 on n1"}},
		{name: "taint named only by the nodes (newer scheduler message)", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/3 nodes are available: 3 node(s) had untolerated taint(s)."
				ns := three()
				for i := range ns {
					ns[i].Spec.Taints = []corev1.Taint{{Key: "dedicated", Value: "ingest", Effect: corev1.TaintEffectNoSchedule}}
				}
				p := newPod("geo", "tiler-1", unschedulable(msg), func(p *corev1.Pod) {
					p.Spec.Tolerations = []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "other", Effect: corev1.TaintEffectNoSchedule}}
				})
				return &Snapshot{Nodes: ns, Pods: []corev1.Pod{*p}}
			},
			summary: []string{"untolerated taint", "dedicated=ingest:NoSchedule", "n1, n2 and n3"}},
		{name: "PV zone not offered by any node", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/2 nodes are available: 2 node(s) had volume node affinity conflict."
				p := newPod("an", "ch-2", unschedulable(msg), func(p *corev1.Pod) {
					p.Spec.Volumes = []corev1.Volume{{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "data-ch-2"}}}}
				})
				pvc := corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Namespace: "an", Name: "data-ch-2"}, Spec: corev1.PersistentVolumeClaimSpec{VolumeName: "pv-1"}, Status: corev1.PersistentVolumeClaimStatus{Phase: corev1.ClaimBound}}
				pv := corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pv-1"}, Spec: corev1.PersistentVolumeSpec{NodeAffinity: &corev1.VolumeNodeAffinity{Required: &corev1.NodeSelector{
					NodeSelectorTerms: []corev1.NodeSelectorTerm{{MatchExpressions: []corev1.NodeSelectorRequirement{{Key: corev1.LabelTopologyZone, Operator: corev1.NodeSelectorOpIn, Values: []string{"eu-1c"}}}}}}}}}
				return &Snapshot{Nodes: []corev1.Node{labelledNode("n1", corev1.LabelTopologyZone, "eu-1a"), labelledNode("n2", corev1.LabelTopologyZone, "eu-1b")},
					Pods: []corev1.Pod{*p}, PVCs: []corev1.PersistentVolumeClaim{pvc}, PVs: []corev1.PersistentVolume{pv}}
			},
			summary: []string{"volume node affinity conflict", "PVC data-ch-2", "topology.kubernetes.io/zone In [eu-1c]", "no node satisfies it", "eu-1a on n1"}},
		{name: "insufficient memory first, control-plane taint last", rule: "failed-scheduling",
			snap: func() *Snapshot {
				msg := "0/3 nodes are available: 1 node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }, 2 Insufficient memory."
				cp := labelledNode("cp")
				cp.Spec.Taints = []corev1.Taint{{Key: "node-role.kubernetes.io/control-plane", Effect: corev1.TaintEffectNoSchedule}}
				w1, w2 := labelledNode("w1"), labelledNode("w2")
				for _, n := range []*corev1.Node{&w1, &w2} {
					n.Status.Allocatable = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Gi")}
				}
				p := newPod("ml", "embed-1", unschedulable(msg), func(p *corev1.Pod) {
					p.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("24Gi")}
				})
				return &Snapshot{Nodes: []corev1.Node{cp, w1, w2}, Pods: []corev1.Pod{*p}}
			},
			summary: []string{"Pending and cannot be scheduled: insufficient memory", "24Gi", "larger than the allocatable memory of every node", "control-plane"}},
		{name: "a scheduled pod is not a scheduling failure",
			snap: func() *Snapshot {
				return &Snapshot{Nodes: three(), Pods: []corev1.Pod{*newPod("obs", "agent-1", hostPortOn(4317), onNode("n1"))}}
			}},
	})
}

func TestRankSchedPutsByDesignLast(t *testing.T) {
	xs := []schedExplain{{reason: "pin", nodes: 3, benign: true}, {reason: "ports", nodes: 1}, {reason: "pvc", nodes: 0}, {reason: "taint", nodes: 2}}
	rankSched(xs)
	var got []string
	for _, x := range xs {
		got = append(got, x.reason)
	}
	want := []string{"pvc", "taint", "ports", "pin"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("order %v, want %v", got, want)
		}
	}
}

func TestNodesNamedIn(t *testing.T) {
	for _, tt := range []struct {
		objs []string
		text string
		want bool
	}{
		{[]string{"node/worker-2"}, "pinned to node worker-2, and worker-2 is cordoned", true},
		{[]string{"node/worker-2", "node/worker-3"}, "pinned to node worker-2", false},
		{[]string{"pod/shop/web-0"}, "worker-2", false},
		{nil, "anything", false},
	} {
		if got := nodesNamedIn(tt.objs, tt.text); got != tt.want {
			t.Errorf("nodesNamedIn(%q, %q) = %v", tt.objs, tt.text, got)
		}
	}
}
