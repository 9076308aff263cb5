package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestDiagnoseHostDiskWriter(t *testing.T) {
	pressured := nodeWith("node-1", corev1.NodeCondition{Type: corev1.NodeDiskPressure, Status: corev1.ConditionTrue, Reason: "KubeletHasDiskPressure"})
	mount := func(path string, v corev1.Volume) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, v)
			p.Spec.Containers[0].VolumeMounts = append(p.Spec.Containers[0].VolumeMounts, corev1.VolumeMount{Name: v.Name, MountPath: path})
		}
	}
	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
	daemon := func(p *corev1.Pod) {
		tr := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "DaemonSet", Name: "shipper", Controller: &tr}}
	}
	snap := func(p *corev1.Pod, lines ...string) *Snapshot {
		return &Snapshot{Nodes: []corev1.Node{pressured}, RelatedPods: []corev1.Pod{*p},
			Logs: []ContainerLog{{Namespace: p.Namespace, Pod: p.Name, Container: "app", Lines: lines}}}
	}
	runRuleCases(t, []string{"node-disk-pressure"}, []ruleCase{
		{
			name: "daemonset log shipper buffers to a hostPath while its sink answers 429",
			snap: func() *Snapshot {
				p := newPod("obs", "shipper-abcde", daemon, mount("/var/log", hostPath("varlog", "/var/log")), mount("/buffer", hostPath("buf", "/var/lib/shipper-buffer")))
				return snap(p, `ERROR sink returned HTTP 429 Too Many Requests; retrying in 30s`, `WARN disk buffer holds 41.2GiB in /buffer`)
			},
			rule:    "node-disk-pressure",
			summary: []string{"obs/shipper-abcde", "daemonset/shipper", "hostPath /var/lib/shipper-buffer", "refuses its output"},
			proof:   []string{"HTTP 429"},
		},
		{
			name: "deployment spools to an emptyDir without sizeLimit while its broker is full",
			snap: func() *Snapshot {
				p := newPod("etl", "loader-7c-x1", ownedByRS("loader-7c"), withLabels("pod-template-hash", "7c"),
					mount("/spool", corev1.Volume{Name: "spool", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}))
				return snap(p, `publish failed: broker queue is full, will retry`)
			},
			rule:    "node-disk-pressure",
			summary: []string{"etl/loader-7c-x1", "deployment/loader", "emptyDir spool without sizeLimit"},
		},
	})
	// Must not name a writer: reading /var/log only, or a hostPath writer
	// whose output is delivered.
	for _, tc := range []struct {
		name string
		p    *corev1.Pod
		line string
	}{
		{"system hostPath only", newPod("obs", "reader-1", daemon, mount("/var/log", hostPath("varlog", "/var/log"))), "HTTP 429 from sink, retrying in 5s"},
		{"writer without refusals", newPod("obs", "shipper-2", daemon, mount("/buffer", hostPath("buf", "/var/lib/shipper-buffer"))), "INFO flushed 2000 records"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, f := range snap(tc.p, tc.line).Diagnose() {
				if f.Rule == "node-disk-pressure" && strings.Contains(f.Summary, "likely consumer") {
					t.Errorf("writer named: %s", f.Summary)
				}
			}
		})
	}
}
