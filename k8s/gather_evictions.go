package k8s

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const (
	// maxPressuredNodes bounds the nodes under pressure whose eviction
	// victims are read for one investigation.
	maxPressuredNodes = 2
	// maxEvictionVictims bounds the pods read from the kubelet's eviction
	// events (per investigation).
	maxEvictionVictims = 6
)

// evictionReasons are the kubelet's event reasons about the pods it
// evicts under node pressure: Evicted names the victim and the starved
// resource; FailedKillPod says the victim could not be stopped (under PID
// pressure the runtime itself cannot fork).
var evictionReasons = []string{"Evicted", "FailedKillPod"}

// collectEvictionVictims follows a node condition to the pods behind it.
// When a node of the graph reports MemoryPressure, DiskPressure or
// PIDPressure, the kubelet of that node evicts the pods that hold the most
// of the starved resource, in whatever namespace they run: its Evicted and
// FailedKillPod events (all namespaces, those the node's kubelet reported)
// are read, kept as events of the graph, and the pods they name join
// RelatedPods. One list per reason, only when a node is under pressure.
func collectEvictionVictims(ctx context.Context, r *run) error {
	r.mu.Lock()
	var nodes []string
	for i := range r.snap.Nodes {
		if nodeUnderPressure(&r.snap.Nodes[i]) && len(nodes) < maxPressuredNodes {
			nodes = append(nodes, r.snap.Nodes[i].Name)
		}
	}
	r.mu.Unlock()
	if len(nodes) == 0 {
		return nil
	}
	var errs []error
	var kept []corev1.Event
	for _, reason := range evictionReasons {
		evs, err := cachedList(ctx, r, "events/reason="+reason, func(ctx context.Context) ([]corev1.Event, error) {
			l, err := readList[corev1.EventList](ctx, r.g.api, resEvents, "", metav1.ListOptions{FieldSelector: "reason=" + reason})
			if err != nil {
				return nil, fmt.Errorf("list %s events: %w", reason, err)
			}
			return l.Items, nil
		})
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range evs {
			if e.Reason == reason && e.InvolvedObject.Kind == "Pod" && slices.Contains(nodes, eventHost(&e)) {
				kept = append(kept, e)
			}
		}
	}
	// The pods evicted most often come first: the kubelet picks again the
	// pod that still holds the resource.
	sort.SliceStable(kept, func(i, j int) bool { return kept[i].Count > kept[j].Count })
	var want []podName
	pods, related := r.podsSnapshot()
	for _, e := range kept {
		x := podName{e.InvolvedObject.Namespace, e.InvolvedObject.Name}
		if slices.Contains(want, x) || hasPod(pods, related, x.ns, x.name) || len(want) >= maxEvictionVictims {
			continue
		}
		want = append(want, x)
	}
	errs = append(errs, r.addRelatedPods(ctx, want)...)
	r.mu.Lock()
	r.extraEvents = append(r.extraEvents, kept...)
	r.mu.Unlock()
	return errors.Join(errs...)
}

// nodeUnderPressure reports whether the kubelet reports a resource
// pressure condition (memory, disk, PIDs) on the node.
func nodeUnderPressure(n *corev1.Node) bool {
	for _, c := range n.Status.Conditions {
		switch c.Type {
		case corev1.NodeMemoryPressure, corev1.NodeDiskPressure, corev1.NodePIDPressure:
			if c.Status == corev1.ConditionTrue {
				return true
			}
		}
	}
	return false
}

// eventHost returns the node whose kubelet reported an event.
func eventHost(e *corev1.Event) string {
	if e.Source.Host != "" {
		return e.Source.Host
	}
	return e.ReportingInstance
}

func hasPod(pods, related []corev1.Pod, ns, name string) bool {
	same := func(p corev1.Pod) bool { return p.Namespace == ns && p.Name == name }
	return slices.ContainsFunc(pods, same) || slices.ContainsFunc(related, same)
}
