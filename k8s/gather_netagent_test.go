package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// creating is a pod bound to its node whose sandbox is not created yet.
func creating() podOpt {
	return func(p *corev1.Pod) {
		p.Status = corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "app",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}}
	}
}

// nodeAgent returns a hostNetwork DaemonSet pod on node shaped by opt.
func nodeAgent(ns, name, node string, opt func(*corev1.Pod)) *corev1.Pod {
	p := newPod(ns, name, onNode(node), controlledBy("DaemonSet", strings.SplitN(name, "-", 2)[0]))
	p.Spec.HostNetwork = true
	if opt != nil {
		opt(p)
	}
	return p
}

func cniMount(p *corev1.Pod) {
	p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "cni-conf", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc/cni/net.d"}}})
}

func netAdmin(p *corev1.Pod) {
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Capabilities: &corev1.Capabilities{Add: []corev1.Capability{"NET_ADMIN"}}}
}

func privileged(p *corev1.Pod) {
	t := true
	p.Spec.Containers[0].SecurityContext = &corev1.SecurityContext{Privileged: &t}
}

// A pod stuck in ContainerCreating leads to the network agent of its
// node, recognised by shape among the node's other host agents, and to
// its log.
func TestGatherNetworkAgentOfTheNode(t *testing.T) {
	stuck := newPod("media", "encoder-6f7d8c9b5-abcde", ownedByRS("encoder-6f7d8c9b5"), onNode("w-4"), creating())
	agent := nodeAgent("net-system", "podnet-x7k2p", "w-4", cniMount)
	proxy := nodeAgent("kube-system", "proxy-q9z8m", "w-4", privileged)
	exporter := nodeAgent("monitoring", "exporter-m2n3b", "w-4", nil)
	other := nodeAgent("net-system", "podnet-a1b2c", "w-5", cniMount)
	logs := mapLogs{"net-system/podnet-x7k2p/app": "starting\nipam: failed to allocate for range 0: no IP addresses available in range set: 10.4.2.0/26\n"}
	s := gatherWith(t, []runtime.Object{stuck, agent, proxy, exporter, other, newNode("w-4", "10.0.0.4")}, logs,
		investigate.Target{Kind: investigate.KindPod, Namespace: "media", Name: stuck.Name, Pod: stuck.Name}, investigate.PodPending)
	names := strings.Join(podNames(s.RelatedPods), ",")
	if !strings.Contains(names, "podnet-x7k2p") {
		t.Fatalf("related pods %s lack the node's network agent", names)
	}
	for _, no := range []string{"proxy-q9z8m", "exporter-m2n3b", "podnet-a1b2c"} {
		if strings.Contains(names, no) {
			t.Errorf("related pods %s hold %s", names, no)
		}
	}
	found := false
	for _, l := range s.Logs {
		found = found || l.Pod == "podnet-x7k2p" && strings.Contains(strings.Join(l.Lines, "\n"), "range set")
	}
	if !found {
		t.Error("the agent's log was not read")
	}
}

// A running pod does not lead to the network agent.
func TestGatherNetworkAgentOnlyForSandboxes(t *testing.T) {
	p := newPod("media", "encoder-0", onNode("w-4"), crashLooping(2))
	agent := nodeAgent("net-system", "podnet-x7k2p", "w-4", cniMount)
	s := gatherWith(t, []runtime.Object{p, agent, newNode("w-4", "10.0.0.4")}, mapLogs{},
		investigate.Target{Kind: investigate.KindPod, Namespace: "media", Name: "encoder-0", Pod: "encoder-0"}, investigate.PodCrash)
	if strings.Contains(strings.Join(podNames(s.RelatedPods), ","), "podnet") {
		t.Error("network agent read for a pod whose containers run")
	}
}

func TestDiagnoseSandboxAgentShortage(t *testing.T) {
	const noIP = `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": plugin type="vpc-net" name="vpc-net" failed (add): add cmd: failed to assign an IP address to container`
	snap := func(agent *corev1.Pod, lines ...string) *Snapshot {
		p := newPod("media", "encoder-6f7d8c9b5-abcde", ownedByRS("encoder-6f7d8c9b5"), onNode("w-4"), creating())
		e := newEvent("media", "e1", "Pod", "media", p.Name, "FailedCreatePodSandBox", t0)
		e.Message = noIP
		return &Snapshot{Pods: []corev1.Pod{*p}, RelatedPods: []corev1.Pod{*agent}, Events: []corev1.Event{*e},
			Logs: []ContainerLog{{Namespace: agent.Namespace, Pod: agent.Name, Container: "app", Lines: lines}}}
	}
	runRuleCases(t, []string{"pod-sandbox"}, []ruleCase{
		{name: "structured agent log names the exhausted subnet", rule: "pod-sandbox",
			snap: func() *Snapshot {
				return snap(nodeAgent("kube-system", "vpcnet-7fk2q", "w-4", netAdmin),
					`{"level":"info","msg":"Received AddNetwork"}`,
					`{"level":"error","msg":"allocate secondary addresses: SubnetFull: the subnet subnet-0a1b has no free addresses"} (block of 2 lines ×4)`,
					`{"level":"debug","msg":"no available IP addresses in the datastore"}`)
			},
			summary: []string{"network agent kube-system/vpcnet-7fk2q", `"allocate secondary addresses: SubnetFull: the subnet subnet-0a1b has no free addresses"`},
			objects: []string{"pod/kube-system/vpcnet-7fk2q"}},
		{name: "host-local IPAM range full", rule: "pod-sandbox",
			snap: func() *Snapshot {
				return snap(nodeAgent("net-system", "podnet-x7k2p", "w-4", cniMount),
					"2026-05-14 16:20:01 [ERROR] ipam: failed to allocate for range 0: no IP addresses available in range set: 10.4.2.0/26")
			},
			summary: []string{"net-system/podnet-x7k2p", "no IP addresses available in range set: 10.4.2.0/26"}},
		{name: "agent log without a shortage is not quoted", rule: "pod-sandbox",
			snap: func() *Snapshot {
				return snap(nodeAgent("net-system", "podnet-x7k2p", "w-4", cniMount), "agent ready", "synced 12 endpoints")
			},
			summary: []string{"the pod IP range is exhausted"}},
	})
	s := snap(nodeAgent("net-system", "podnet-x7k2p", "w-4", cniMount), "agent ready")
	for _, f := range s.Diagnose() {
		if strings.Contains(f.Summary, "network agent") {
			t.Errorf("agent named without a shortage in its log: %s", f.Summary)
		}
	}
}
