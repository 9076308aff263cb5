package k8s

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/investigate"
)

func TestDiagnoseGoMaxProcsThrottling(t *testing.T) {
	limited := func(cpu string, env ...corev1.EnvVar) podOpt {
		return func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cpu)}
			p.Spec.Containers[0].Env = env
		}
	}
	node := func(name string, cores string) corev1.Node {
		return corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.NodeStatus{Capacity: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(cores)}}}
	}
	snap := func(p *corev1.Pod, nodeCores string, lines ...string) *Snapshot {
		return &Snapshot{Category: investigate.CPUThrottling, Pods: []corev1.Pod{*p}, Nodes: []corev1.Node{node("node-1", nodeCores)},
			Alert: &investigate.Alert{Labels: map[string]string{"alertname": "CPUThrottlingHigh", "container": "app"},
				Annotations: map[string]string{"description": "81.2% throttling of CPU in namespace x for container app."}},
			Logs: []ContainerLog{{Namespace: p.Namespace, Pod: p.Name, Container: "app", Lines: lines}}}
	}
	runRuleCases(t, []string{"cpu-throttling"}, []ruleCase{
		{name: "the Go program logs GOMAXPROCS far above its limit", rule: "cpu-throttling",
			snap: func() *Snapshot {
				return snap(newPod("pricing", "quote-0", limited("2")), "64", `{"msg":"starting","go_version":"go1.22.7","GOMAXPROCS":64}`)
			},
			summary: []string{"GOMAXPROCS unset", "GOMAXPROCS=64", "CPU limit of 2", "81.2%"}},
		{name: "a Go program (version only) on a 48-core node", rule: "cpu-throttling",
			snap: func() *Snapshot {
				return snap(newPod("search", "indexer-1", limited("1")), "48", `level=info msg="boot" runtime=go1.21.13`)
			},
			summary: []string{"GOMAXPROCS unset", "the node has 48 cores", "CPU limit of 1"}},
	})
	// Not Go, or GOMAXPROCS set: throttling, but no Go runtime explanation.
	for name, s := range map[string]*Snapshot{
		"GOMAXPROCS set":   snap(newPod("pricing", "quote-0", limited("2", corev1.EnvVar{Name: "GOMAXPROCS", Value: "2"})), "64", `{"go_version":"go1.22.7","GOMAXPROCS":2}`),
		"a JVM, not Go":    snap(newPod("pricing", "quote-0", limited("2")), "64", `INFO Started Application in 4.1 seconds (JVM running for 4.8)`),
		"limit near cores": snap(newPod("pricing", "quote-0", limited("4")), "4", `{"go_version":"go1.22.7"}`),
	} {
		for _, f := range s.Diagnose() {
			if f.Rule == "cpu-throttling" && strings.Contains(f.Summary, "GOMAXPROCS") {
				t.Errorf("%s: Go runtime blamed: %s", name, f.Summary)
			}
		}
	}
}
