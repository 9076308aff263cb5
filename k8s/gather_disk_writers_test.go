package k8s

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// On a node with DiskPressure the writers whose logs are read are chosen
// by how they write, not by the API's name order: a pod's own writable
// hostPath before scratch emptyDirs, the critical node infrastructure
// (network plugin, CSI driver: binaries and state on the host) last.
func TestCollectDiskWritersRanksWriters(t *testing.T) {
	hostPath := func(vol, path string, critical bool) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: vol, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}})
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: vol, MountPath: "/" + vol})
			if critical {
				p.Spec.PriorityClassName = "system-node-critical"
			}
		}
	}
	emptyDir := func(p *corev1.Pod) {
		p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
		p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: "tmp", MountPath: "/tmp"})
	}
	node := nodeWith("node-1", cond(corev1.NodeDiskPressure, corev1.ConditionTrue, "KubeletHasDiskPressure", "kubelet has disk pressure"))
	for _, tc := range []struct {
		name   string
		pods   []*corev1.Pod
		writer string // the pod whose log must be read and named
	}{
		{name: "a hostPath buffer behind two network agents and two scratch emptyDirs in earlier namespaces",
			pods: []*corev1.Pod{
				newPod("a-apps", "cache-1", emptyDir), newPod("b-apps", "render-1", emptyDir),
				newPod("kube-system", "cni-agent-x", hostPath("cni-bin", "/opt/cni/bin", true), hostPath("state", "/var/lib/cni-agent", true)),
				newPod("kube-system", "csi-node-y", hostPath("plugin-dir", "/var/lib/csi-driver", true)),
				newPod("zz-logging", "shipper-z", hostPath("buffer", "/var/lib/shipper/buffer", false)),
			},
			writer: "zz-logging/shipper-z"},
		{name: "an emptyDir spool behind network agents",
			pods: []*corev1.Pod{
				newPod("kube-system", "cni-agent-x", hostPath("cni-bin", "/opt/cni/bin", true)),
				newPod("kube-system", "csi-node-y", hostPath("plugin-dir", "/var/lib/csi-driver", true)),
				newPod("kube-system", "proxy-agent-q", hostPath("state", "/var/lib/proxy-agent", true)),
				newPod("zz-etl", "spooler-z", emptyDir),
			},
			writer: "zz-etl/spooler-z"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			objs := []runtime.Object{&node}
			logs := mapLogs{}
			for _, p := range tc.pods {
				objs = append(objs, p)
				logs[p.Namespace+"/"+p.Name+"/app"] = "INFO all good"
			}
			logs[tc.writer+"/app"] = "WARN failed to flush batch: destination answered 503, will retry in 30s"
			g := NewGatherer(newMemory(t, objs...), Options{Logs: logs, Metrics: newMemory(t)})
			s, err := g.gather(context.Background(), investigate.Target{Kind: investigate.KindNode, Name: "node-1", Node: "node-1"}, investigate.DiskPressure)
			if err != nil {
				t.Fatal(err)
			}
			read := map[string]bool{}
			for _, l := range s.Logs {
				read[l.Namespace+"/"+l.Pod] = true
			}
			if !read[tc.writer] {
				t.Fatalf("log of %s not read; read %v", tc.writer, read)
			}
			if len(read) > maxDiskWritersPerNode {
				t.Errorf("%d writer logs read, want at most %d", len(read), maxDiskWritersPerNode)
			}
			var sum []string
			for _, f := range s.Diagnose() {
				sum = append(sum, fmt.Sprintf("%s: %s", f.Rule, f.Summary))
			}
			if !strings.Contains(strings.Join(sum, "\n"), "likely consumer is pod "+tc.writer) {
				t.Errorf("findings do not name %s:\n%s", tc.writer, strings.Join(sum, "\n"))
			}
		})
	}
}
