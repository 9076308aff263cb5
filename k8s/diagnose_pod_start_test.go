package k8s

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// warn returns a Warning event of reason with message on pod ns/name.
func warn(ns, pod, reason, msg string) corev1.Event {
	e := newEvent(ns, pod+"."+reason, "Pod", ns, pod, reason, time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))
	e.Message = msg
	return *e
}

func containerCreating() podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}}}}
	}
}

func withClaim(volume, claim string) podOpt {
	return func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: volume, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim}}})
	}
}

func TestDiagnoseSandboxes(t *testing.T) {
	runRuleCases(t, []string{"pod-sandbox"}, []ruleCase{
		{name: "host-local range exhausted", rule: "pod-sandbox",
			snap: func() *Snapshot {
				n := nodeWith("worker-4")
				n.Spec.PodCIDR = "10.244.4.0/26"
				n.Status.Allocatable = corev1.ResourceList{corev1.ResourcePods: resource.MustParse("110")}
				return &Snapshot{Nodes: []corev1.Node{n},
					Pods: []corev1.Pod{*newPod("shop", "web-1", onNode("worker-4"), containerCreating()), *newPod("shop", "web-2", onNode("worker-4"), containerCreating())},
					Events: []corev1.Event{
						warn("shop", "web-1", "FailedCreatePodSandBox", `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "abc": plugin type="bridge" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.4.1-10.244.4.62`),
						warn("shop", "web-2", "FailedCreatePodSandBox", `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "def": plugin type="bridge" failed (add): failed to allocate for range 0: no IP addresses available in range set: 10.244.4.1-10.244.4.62`)}}
			},
			summary: []string{"2 pods", "worker-4", "CNI plugin bridge cannot assign it an IP address", "10.244.4.1-10.244.4.62"},
			objects: []string{"node/worker-4", "pod/shop/web-1", "pod/shop/web-2"},
			proof:   []string{"podCIDR 10.244.4.0/26", "no IP addresses available"}},
		{name: "CNI not initialised", rule: "pod-sandbox",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "agent-x", onNode("worker-9"), containerCreating())},
					Events: []corev1.Event{warn("ops", "agent-x", "FailedCreatePodSandBox", `Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "x": plugin type="cilium-cni" failed (add): unable to connect to Cilium daemon: dial unix /var/run/cilium/cilium.sock: connect: no such file or directory`)}}
			},
			summary: []string{"cilium-cni is not ready on node worker-9"}},
		{name: "no sandbox failure",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("ops", "agent-y", containerCreating())}, Events: []corev1.Event{warn("ops", "agent-y", "Pulling", "Pulling image")}}
			}},
	})
}

func TestDiagnoseVolumeAttach(t *testing.T) {
	pv := corev1.PersistentVolume{ObjectMeta: metav1.ObjectMeta{Name: "pvc-1234"}, Spec: corev1.PersistentVolumeSpec{
		ClaimRef:               &corev1.ObjectReference{Namespace: "data", Name: "data-db-0"},
		PersistentVolumeSource: corev1.PersistentVolumeSource{CSI: &corev1.CSIPersistentVolumeSource{Driver: "ebs.csi.aws.com", VolumeHandle: "vol-0abc"}}}}
	runRuleCases(t, []string{"volume-attach"}, []ruleCase{
		{name: "multi-attach held by a NotReady node", rule: "volume-attach",
			snap: func() *Snapshot {
				old := nodeWith("worker-1", cond(corev1.NodeReady, corev1.ConditionUnknown, "NodeStatusUnknown", "Kubelet stopped posting node status."))
				old.Status.VolumesAttached = []corev1.AttachedVolume{{Name: "kubernetes.io/csi/ebs.csi.aws.com^vol-0abc", DevicePath: ""}}
				old.Status.VolumesInUse = []corev1.UniqueVolumeName{"kubernetes.io/csi/ebs.csi.aws.com^vol-0abc"}
				return &Snapshot{Nodes: []corev1.Node{old, nodeWith("worker-2")}, PVs: []corev1.PersistentVolume{pv},
					Pods:   []corev1.Pod{*newPod("data", "db-0", onNode("worker-2"), containerCreating(), withClaim("data", "data-db-0"))},
					Events: []corev1.Event{warn("data", "db-0", "FailedAttachVolume", `Multi-Attach error for volume "pvc-1234" Volume is already exclusively attached to one node and can't be attached to another`)}}
			},
			summary: []string{"db-0", "volume pvc-1234 (claim data-db-0)", "Multi-Attach", "node worker-1 (NotReady"},
			objects: []string{"pvc/data/data-db-0", "node/worker-1"},
			proof:   []string{"already exclusively attached", "volumesAttached: kubernetes.io/csi/ebs.csi.aws.com^vol-0abc"}},
		{name: "multi-attach held by the previous pod of a Deployment", rule: "volume-attach",
			snap: func() *Snapshot {
				oldPod := newPod("shop", "uploads-6d-a", onNode("worker-1"), withClaim("files", "uploads"), func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} })
				return &Snapshot{Nodes: []corev1.Node{nodeWith("worker-1"), nodeWith("worker-3")},
					Pods:   []corev1.Pod{*newPod("shop", "uploads-7f-b", onNode("worker-3"), containerCreating(), withClaim("files", "uploads")), *oldPod},
					Events: []corev1.Event{warn("shop", "uploads-7f-b", "FailedAttachVolume", `Multi-Attach error for volume "pvc-77" Volume is already used by pod(s) uploads-6d-a`)}}
			},
			summary: []string{"pod uploads-6d-a on node worker-1 (Terminating)"}},
		{name: "a missing ConfigMap volume is not an attach problem",
			snap: func() *Snapshot {
				p := newPod("shop", "web-0", containerCreating(), func(p *corev1.Pod) {
					p.Spec.Volumes = []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "web"}}}}}
				})
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{warn("shop", "web-0", "FailedMount",
					"Unable to attach or mount volumes: unmounted volumes=[config], unattached volumes=[config kube-api-access-x]: timed out waiting for the condition")}}
			}},
	})
}

func TestDiagnoseContainerMounts(t *testing.T) {
	createErr := func(msg string) podOpt {
		return func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerError", Message: msg}}}}
		}
	}
	mounts := func(vm corev1.VolumeMount, v corev1.Volume) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, vm)
			p.Spec.Volumes = append(p.Spec.Volumes, v)
		}
	}
	cm := corev1.Volume{Name: "cfg", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "nginx-conf"}}}}
	dirType := corev1.HostPathDirectory
	bidi := corev1.MountPropagationBidirectional
	runRuleCases(t, []string{"container-mount"}, []ruleCase{
		{name: "subPath file over a directory", rule: "container-mount",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("web", "nginx-0", mounts(corev1.VolumeMount{Name: "cfg", MountPath: "/etc/nginx/conf.d", SubPath: "default.conf"}, cm),
					createErr(`failed to create containerd task: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: error during container init: error mounting "/var/lib/kubelet/pods/x/volume-subpaths/cfg/app/0" to rootfs at "/etc/nginx/conf.d": mount src=..., flags=MS_BIND|MS_REC: not a directory: unknown: Are you trying to mount a directory onto a file (or vice-versa)?`))}}
			},
			summary: []string{"container app of pod web/nginx-0", "mountPath /etc/nginx/conf.d with subPath default.conf", "configmap nginx-conf", "file over a directory"},
			proof:   []string{"CreateContainerError"}},
		{name: "hostPath of the wrong type", rule: "container-mount",
			snap: func() *Snapshot {
				hp := corev1.Volume{Name: "sock", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/run/agent", Type: &dirType}}}
				p := newPod("ops", "agent-1", mounts(corev1.VolumeMount{Name: "sock", MountPath: "/run/agent"}, hp), containerCreating())
				p.Spec.NodeName = "worker-5"
				return &Snapshot{Pods: []corev1.Pod{*p}, Events: []corev1.Event{warn("ops", "agent-1", "FailedMount", `MountVolume.SetUp failed for volume "sock" : hostPath type check failed: /run/agent is not a directory`)}}
			},
			summary: []string{"hostPath /run/agent on node worker-5 is not a directory", "volumeMount sock at mountPath /run/agent"}},
		{name: "propagation on a private host mount", rule: "container-mount",
			snap: func() *Snapshot {
				hp := corev1.Volume{Name: "mnt", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/mnt/disks"}}}
				return &Snapshot{Pods: []corev1.Pod{*newPod("storage", "csi-node-a", mounts(corev1.VolumeMount{Name: "mnt", MountPath: "/mnt/disks", MountPropagation: &bidi}, hp),
					createErr(`Error response from daemon: path /mnt/disks is mounted on / but it is not a shared mount`))}}
			},
			summary: []string{"mountPropagation Bidirectional", "shared"}},
		{name: "a missing executable is not a mount problem",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("web", "api-0", createErr(`exec: "/app/serve": stat /app/serve: no such file or directory`))}}
			}},
	})
}

func TestDiagnosePIDs(t *testing.T) {
	runRuleCases(t, []string{"pid-exhaustion", "node-pid"}, []ruleCase{
		{name: "node PIDPressure names the forking pod", rule: "node-pid-pressure",
			snap: func() *Snapshot {
				n := nodeWith("worker-6", withCond(cond(corev1.NodePIDPressure, corev1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available"))...)
				return &Snapshot{Nodes: []corev1.Node{n}, Pods: []corev1.Pod{*newPod("media", "thumbs-1", onNode("worker-6")), *newPod("media", "web-1", onNode("worker-6"))},
					Logs: []ContainerLog{{Namespace: "media", Pod: "thumbs-1", Container: "app", Lines: []string{"spawn worker", "sh: fork: retry: Resource temporarily unavailable", "sh: fork: retry: Resource temporarily unavailable (×30)"}}}}
			},
			summary: []string{"worker-6", "PIDPressure", "media/thumbs-1 fails to fork"},
			objects: []string{"pod/media/thumbs-1"}},
		{name: "a pod at its own PID limit", rule: "pid-exhaustion",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("search", "indexer-0", crashLooping(3))},
					Logs: []ContainerLog{{Namespace: "search", Pod: "indexer-0", Container: "app", Previous: true, Lines: []string{
						`[0.412s][warning][os,thread] Failed to start thread "Unknown thread" - pthread_create failed (EAGAIN)`,
						`Exception in thread "main" java.lang.OutOfMemoryError: unable to create native thread: possibly out of memory or process/resource limits reached`}}}}
			},
			summary: []string{"search/indexer-0 cannot create processes or threads", "podPidsLimit"}},
		{name: "no fork failure",
			snap: func() *Snapshot {
				return &Snapshot{Pods: []corev1.Pod{*newPod("search", "indexer-1", crashLooping(3))},
					Logs: []ContainerLog{{Namespace: "search", Pod: "indexer-1", Container: "app", Lines: []string{"ERROR connection refused"}}}}
			}},
	})
}
