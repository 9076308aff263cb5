package k8s

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

// evictedEvent is the kubelet's Evicted (or FailedKillPod) event on node
// about pod ns/name.
func evictedEvent(node, ns, name, reason, msg string, count int32) *corev1.Event {
	e := newEvent(ns, name+"."+strings.ToLower(reason), "Pod", ns, name, reason, time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	e.Message, e.Count = msg, count
	e.Source = corev1.EventSource{Component: "kubelet", Host: node}
	return e
}

const pidEvictMsg = "The node was low on resource: pids. Threshold quantity: 3000, available: 25. "

// A crash-looping pod on a node under PIDPressure leads to the pods the
// node's kubelet evicts, in other namespaces: they join the graph with
// their events, and the one the kubelet cannot stop is named.
func TestGatherEvictionVictimsAcrossNamespaces(t *testing.T) {
	n := newNode("pool-b-3", "10.0.0.3")
	n.Status.Conditions = withCond(cond(corev1.NodePIDPressure, corev1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available"))
	victim := newPod("edge", "proxy-0", onNode("pool-b-3"), crashLooping(4))
	holder := newPod("batch", "builder-7x2", onNode("pool-b-3"))
	gone := newPod("tools", "cache-1", onNode("pool-b-3"))
	gone.Status.Phase, gone.Status.Reason = corev1.PodFailed, "Evicted"
	elsewhere := newPod("batch", "builder-9q1", onNode("pool-a-1"))
	objs := []runtime.Object{n, victim, holder, gone, elsewhere,
		evictedEvent("pool-b-3", "batch", "builder-7x2", "Evicted", pidEvictMsg, 12),
		evictedEvent("pool-b-3", "batch", "builder-7x2", "FailedKillPod", `error killing pod: failed to "KillContainer" for "app": runc did not terminate successfully: fork/exec /usr/sbin/runc: resource temporarily unavailable`, 11),
		evictedEvent("pool-b-3", "tools", "cache-1", "Evicted", pidEvictMsg, 1),
		evictedEvent("pool-a-1", "batch", "builder-9q1", "Evicted", pidEvictMsg, 3),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Namespace: "edge", Name: "proxy-0", Pod: "proxy-0"}, investigate.PodCrash)
	got := podNames(s.RelatedPods)
	for _, want := range []string{"builder-7x2", "cache-1"} {
		if !strings.Contains(strings.Join(got, ","), want) {
			t.Errorf("related pods %v lack %s", got, want)
		}
	}
	if strings.Contains(strings.Join(got, ","), "builder-9q1") {
		t.Errorf("related pods %v hold a pod another node's kubelet evicted", got)
	}
	if !involvedEvent(s, "Pod", "builder-7x2") {
		t.Error("the holder's eviction events are not events of the graph")
	}
	var f *investigate.Finding
	for _, x := range s.Diagnose() {
		if x.Rule == "node-pid-pressure" {
			f = &x
			break
		}
	}
	if f == nil {
		t.Fatal("no node-pid-pressure finding")
	}
	if !strings.Contains(f.Summary, "batch/builder-7x2 holds the node's PIDs") || !strings.Contains(f.Summary, "FailedKillPod") {
		t.Errorf("summary does not name the holder: %s", f.Summary)
	}
}

// Without a node under pressure the kubelet's evictions are not followed.
func TestGatherEvictionVictimsOnlyUnderPressure(t *testing.T) {
	objs := []runtime.Object{newNode("pool-b-3", "10.0.0.3"), newPod("edge", "proxy-0", onNode("pool-b-3"), crashLooping(4)),
		newPod("batch", "builder-7x2", onNode("pool-b-3")),
		evictedEvent("pool-b-3", "batch", "builder-7x2", "Evicted", pidEvictMsg, 12)}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Namespace: "edge", Name: "proxy-0", Pod: "proxy-0"}, investigate.PodCrash)
	if got := podNames(s.RelatedPods); strings.Contains(strings.Join(got, ","), "builder-7x2") {
		t.Errorf("related pods %v: evictions followed on a node without pressure", got)
	}
}

func TestDiagnosePIDHolder(t *testing.T) {
	pressured := func(pods ...*corev1.Pod) *Snapshot {
		n := nodeWith("w-2", withCond(cond(corev1.NodePIDPressure, corev1.ConditionTrue, "KubeletHasInsufficientPID", "kubelet has insufficient PID available"))...)
		s := &Snapshot{Nodes: []corev1.Node{n}}
		for _, p := range pods {
			s.RelatedPods = append(s.RelatedPods, *p)
		}
		return s
	}
	runRuleCases(t, []string{"node-pid"}, []ruleCase{
		{name: "the kubelet cannot stop the holder", rule: "node-pid-pressure",
			snap: func() *Snapshot {
				s := pressured(newPod("ci", "job-4-abc", onNode("w-2")), newPod("web", "front-1", onNode("w-2")))
				s.Events = []corev1.Event{*evictedEvent("w-2", "ci", "job-4-abc", "Evicted", pidEvictMsg, 30),
					*evictedEvent("w-2", "ci", "job-4-abc", "FailedKillPod", "error killing pod: fork/exec /usr/bin/runc: resource temporarily unavailable", 29)}
				return s
			},
			summary: []string{"ci/job-4-abc holds the node's PIDs", "FailedKillPod ×29"}, objects: []string{"pod/ci/job-4-abc"}},
		{name: "a StatefulSet pod evicted again and again", rule: "node-pid-pressure",
			snap: func() *Snapshot {
				sts := newPod("data", "crawler-0", onNode("w-2"), controlledBy("StatefulSet", "crawler"))
				s := pressured(sts, newPod("data", "api-1", onNode("w-2")))
				s.Events = []corev1.Event{*evictedEvent("w-2", "data", "crawler-0", "Evicted", pidEvictMsg, 7)}
				return s
			},
			summary: []string{"data/crawler-0 holds the node's PIDs", "evicted it 7 times", "still runs"}},
	})
	// Must not name a holder: a pod evicted once and gone is collateral.
	s := pressured(newPod("web", "front-1", onNode("w-2")))
	gone := newPod("tools", "cache-1", onNode("w-2"))
	gone.Status.Phase = corev1.PodFailed
	s.RelatedPods = append(s.RelatedPods, *gone)
	s.Events = []corev1.Event{*evictedEvent("w-2", "tools", "cache-1", "Evicted", pidEvictMsg, 1)}
	for _, f := range s.Diagnose() {
		if strings.Contains(f.Summary, "holds the node's PIDs") {
			t.Errorf("a holder named from one eviction of a gone pod: %s", f.Summary)
		}
	}
}
