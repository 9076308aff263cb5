package faultgen

import (
	"fmt"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// nodeShape is the capacity of one machine type.
type nodeShape struct {
	instanceType string
	cpu          int   // cores
	memGi        int64 // GiB
}

var shapes = []nodeShape{{"m6i.xlarge", 4, 16}, {"m6i.2xlarge", 8, 32}, {"c6i.2xlarge", 8, 16}, {"r6i.xlarge", 4, 32}, {"m7g.xlarge", 4, 16}}

// nodePool is a group of identical nodes.
type nodePool struct {
	name   string
	zones  []string
	shape  nodeShape
	labels map[string]string
	taints []corev1.Taint
}

// addNodes adds n Ready nodes of the pool (their kube-node-lease Leases
// renewed seconds ago) and returns them.
func (w *world) addNodes(n int, pool nodePool) []*corev1.Node {
	if pool.shape.cpu == 0 {
		pool.shape = shapes[w.r.Intn(3)]
	}
	if len(pool.zones) == 0 {
		region := pick(w.r, regions)
		pool.zones = []string{region + "a", region + "b", region + "c"}
	}
	style := w.r.Intn(3)
	var out []*corev1.Node
	for i := 0; i < n; i++ {
		zone := pool.zones[i%len(pool.zones)]
		ip := fmt.Sprintf("10.%d.%d.%d", 20+w.r.Intn(20), w.r.Intn(64), 4+w.r.Intn(250))
		var name string
		switch style {
		case 0:
			name = fmt.Sprintf("ip-%s.%s.compute.internal", dashed(ip), zone[:len(zone)-1])
		case 1:
			name = fmt.Sprintf("gke-%s-%s-%s-%s", w.cluster, pool.name, w.hex(8), w.alnum(4))
		default:
			name = fmt.Sprintf("k8s-%s-%02d", pool.name, len(w.nodes)+1)
		}
		labels := map[string]string{
			"kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux", "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
			"kubernetes.io/hostname": name, "node.kubernetes.io/instance-type": pool.shape.instanceType,
			"topology.kubernetes.io/zone": zone, "topology.kubernetes.io/region": zone[:len(zone)-1],
			"node-pool": pool.name,
		}
		for k, v := range pool.labels {
			labels[k] = v
		}
		if pool.shape.instanceType == "m7g.xlarge" {
			labels["kubernetes.io/arch"], labels["beta.kubernetes.io/arch"] = "arm64", "arm64"
		}
		capMem := pool.shape.memGi*1024*1024 - 400_000 - w.r.Int63n(200_000)
		allocMem := capMem - 1_800_000
		boot := w.between(20*24*time.Hour, 90*24*time.Hour)
		node := &corev1.Node{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Node"},
			ObjectMeta: w.meta("", name, labels, boot),
			Spec: corev1.NodeSpec{PodCIDR: fmt.Sprintf("10.244.%d.0/24", len(w.nodes)+1), PodCIDRs: []string{fmt.Sprintf("10.244.%d.0/24", len(w.nodes)+1)},
				ProviderID: fmt.Sprintf("aws:///%s/i-0%s", zone, w.hex(16)), Taints: pool.taints},
			Status: corev1.NodeStatus{
				Capacity: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(fmt.Sprint(pool.shape.cpu)), corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dKi", capMem)),
					corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("104845292Ki"),
				},
				Allocatable: corev1.ResourceList{
					corev1.ResourceCPU: resource.MustParse(fmt.Sprintf("%dm", pool.shape.cpu*1000-90-10*pool.shape.cpu)), corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dKi", allocMem)),
					corev1.ResourcePods: resource.MustParse("110"), corev1.ResourceEphemeralStorage: resource.MustParse("95551679124"),
				},
				Conditions:      w.healthyNodeConditions(boot),
				Addresses:       []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: ip}, {Type: corev1.NodeHostName, Address: name}},
				DaemonEndpoints: corev1.NodeDaemonEndpoints{KubeletEndpoint: corev1.DaemonEndpoint{Port: 10250}},
				NodeInfo: corev1.NodeSystemInfo{MachineID: w.hex(32), SystemUUID: "ec2" + w.hex(5) + "-" + w.hex(4) + "-" + w.hex(4) + "-" + w.hex(4) + "-" + w.hex(12),
					BootID: string(w.uid()), KernelVersion: "6.1.119-129.201.amzn2023.x86_64", OSImage: "Amazon Linux 2023.6.20250115",
					ContainerRuntimeVersion: "containerd://1.7.25", KubeletVersion: "v1.31.5", KubeProxyVersion: "v1.31.5",
					OperatingSystem: "linux", Architecture: labels["kubernetes.io/arch"]},
			},
		}
		w.add(node)
		w.nodes = append(w.nodes, node)
		out = append(out, node)
		lease := &coordinationv1.Lease{
			TypeMeta:   metav1.TypeMeta{APIVersion: "coordination.k8s.io/v1", Kind: "Lease"},
			ObjectMeta: w.meta("kube-node-lease", name, nil, boot),
			Spec: coordinationv1.LeaseSpec{HolderIdentity: ptr(name), LeaseDurationSeconds: ptr[int32](40),
				RenewTime: ptr(metav1.NewMicroTime(w.now.Add(-w.between(time.Second, 9*time.Second))))},
		}
		lease.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "Node", Name: name, UID: node.UID}}
		w.add(lease)
		w.leases = append(w.leases, lease)
	}
	return out
}

func (w *world) healthyNodeConditions(boot time.Duration) []corev1.NodeCondition {
	hb := metav1.NewTime(w.now.Add(-w.between(5*time.Second, 50*time.Second)).Truncate(time.Second))
	up := w.ago(boot - 90*time.Second)
	c := func(t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string) corev1.NodeCondition {
		return corev1.NodeCondition{Type: t, Status: s, Reason: reason, Message: msg, LastHeartbeatTime: hb, LastTransitionTime: up}
	}
	return []corev1.NodeCondition{
		c(corev1.NodeMemoryPressure, corev1.ConditionFalse, "KubeletHasSufficientMemory", "kubelet has sufficient memory available"),
		c(corev1.NodeDiskPressure, corev1.ConditionFalse, "KubeletHasNoDiskPressure", "kubelet has no disk pressure"),
		c(corev1.NodePIDPressure, corev1.ConditionFalse, "KubeletHasSufficientPID", "kubelet has sufficient PID available"),
		c(corev1.NodeReady, corev1.ConditionTrue, "KubeletReady", "kubelet is posting ready status"),
	}
}

// setNodeCondition replaces one condition of the node, transitioned ago.
func (w *world) setNodeCondition(n *corev1.Node, t corev1.NodeConditionType, s corev1.ConditionStatus, reason, msg string, ago time.Duration) *corev1.NodeCondition {
	for i := range n.Status.Conditions {
		c := &n.Status.Conditions[i]
		if c.Type == t {
			c.Status, c.Reason, c.Message, c.LastTransitionTime = s, reason, msg, w.ago(ago)
			return c
		}
	}
	return nil
}

// lease returns the node's kube-node-lease Lease.
func (w *world) lease(n *corev1.Node) *coordinationv1.Lease {
	for _, l := range w.leases {
		if l.Name == n.Name {
			return l
		}
	}
	return nil
}

// nodeIP returns the node's InternalIP.
func nodeIP(n *corev1.Node) string {
	for _, a := range n.Status.Addresses {
		if a.Type == corev1.NodeInternalIP {
			return a.Address
		}
	}
	return ""
}

func dashed(ip string) string {
	b := []byte(ip)
	for i := range b {
		if b[i] == '.' {
			b[i] = '-'
		}
	}
	return string(b)
}
