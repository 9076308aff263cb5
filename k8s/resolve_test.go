package k8s

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestResolve(t *testing.T) {
	web := map[string]string{"app": "web"}
	objs := []runtime.Object{
		newDeployment("shop", "web", web),
		newPod("shop", "web-7f9c6d8b5c-aaaaa", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c"), crashLooping(3)),
		newPod("shop", "web-7f9c6d8b5c-bbbbb", withLabels("app", "web"), ownedByRS("web-7f9c6d8b5c")),
		newPod("shop", "payment-api-6d4b8f7c59-ccccc", withLabels("app", "payment-api"), ownedByRS("payment-api-6d4b8f7c59")),
		newPod("shop", "db-0", withLabels("app", "db"), pending()),
		newPod("monitoring", "kube-state-metrics-6d9c8b7f5d-wxq2l", withLabels("app", "kube-state-metrics"), crashLooping(2),
			func(p *corev1.Pod) { p.Spec.NodeName = "node-2" }),
		newNode("node-1", "10.0.0.1"),
		newNode("node-2", "10.0.0.2"),
	}
	for _, tt := range []struct {
		name        string
		target      investigate.Target
		cat         investigate.Category
		wantPods    []string
		wantRelated []string
		wantKind    investigate.Kind
		wantGone    bool
		wantNode    string
		wantErr     string
	}{
		{name: "deployment resolves to its unhealthy pods", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindDeployment, Name: "web", Namespace: "shop", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "web"}},
			wantPods: []string{"web-7f9c6d8b5c-aaaaa"}, wantRelated: []string{"web-7f9c6d8b5c-bbbbb"}, wantKind: investigate.KindDeployment},
		{name: "pod with siblings", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindPod, Name: "web-7f9c6d8b5c-bbbbb", Namespace: "shop", Pod: "web-7f9c6d8b5c-bbbbb"},
			wantPods: []string{"web-7f9c6d8b5c-bbbbb"}, wantRelated: []string{"web-7f9c6d8b5c-aaaaa"}, wantKind: investigate.KindPod},
		{name: "gone pod investigated through its owner", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindPod, Name: "web-7f9c6d8b5c-zzzzz", Namespace: "shop", Pod: "web-7f9c6d8b5c-zzzzz"},
			wantPods: []string{"web-7f9c6d8b5c-aaaaa"}, wantRelated: []string{"web-7f9c6d8b5c-bbbbb"}, wantKind: investigate.KindPod, wantGone: true},
		{name: "an exporter's own pod, asked about explicitly, is investigated", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindPod, Name: "kube-state-metrics-6d9c8b7f5d-wxq2l", Namespace: "monitoring", Pod: "kube-state-metrics-6d9c8b7f5d-wxq2l"},
			wantPods: []string{"kube-state-metrics-6d9c8b7f5d-wxq2l"}, wantKind: investigate.KindPod},
		{name: "instance IP resolves to its node", cat: investigate.NodeNotReady,
			target:   investigate.Target{Instance: "10.0.0.1:9100"},
			wantPods: []string{"web-7f9c6d8b5c-aaaaa"}, wantRelated: []string{"payment-api-6d4b8f7c59-ccccc", "web-7f9c6d8b5c-bbbbb"}, wantKind: investigate.KindNode, wantNode: "node-1"},
		{name: "namespace target takes the unhealthy pods", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindNamespace, Name: "shop", Namespace: "shop"},
			wantPods: []string{"db-0", "web-7f9c6d8b5c-aaaaa"}, wantKind: investigate.KindNamespace},
		{name: "namespace found for a workload without one", cat: investigate.PodCrash,
			target:   investigate.Target{Kind: investigate.KindDeployment, Name: "web", Workload: investigate.Ref{Kind: investigate.KindDeployment, Name: "web"}},
			wantPods: []string{"web-7f9c6d8b5c-aaaaa"}, wantRelated: []string{"web-7f9c6d8b5c-bbbbb"}, wantKind: investigate.KindDeployment},
		{name: "namespace required", cat: investigate.PodCrash, target: investigate.Target{Kind: investigate.KindPod, Name: "nowhere", Pod: "nowhere"}, wantErr: "needs a namespace"},
		{name: "invalid name", cat: investigate.PodCrash, target: investigate.Target{Kind: investigate.KindPod, Name: "Bad_Name", Namespace: "shop"}, wantErr: "not a valid"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			g := NewGatherer(newMemory(t, objs...), Options{Logs: mapLogs{}, Metrics: newMemory(t)})
			s, err := g.gather(context.Background(), tt.target, tt.cat)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := podNames(s.Pods); !slices.Equal(got, tt.wantPods) {
				t.Errorf("pods = %v, want %v", got, tt.wantPods)
			}
			if tt.wantRelated != nil {
				if got := podNames(s.RelatedPods); !slices.Equal(got, tt.wantRelated) {
					t.Errorf("related = %v, want %v", got, tt.wantRelated)
				}
			}
			if s.Target.Kind != tt.wantKind {
				t.Errorf("target kind = %q, want %q", s.Target.Kind, tt.wantKind)
			}
			if s.TargetGone != tt.wantGone {
				t.Errorf("TargetGone = %t, want %t", s.TargetGone, tt.wantGone)
			}
			if tt.wantNode != "" && s.Target.Node != tt.wantNode {
				t.Errorf("node = %q, want %q", s.Target.Node, tt.wantNode)
			}
			if len(s.Gaps) > 0 {
				t.Errorf("gaps: %+v", s.Gaps)
			}
		})
	}
}

func TestGuessOwner(t *testing.T) {
	for _, tt := range []struct {
		pod  string
		want ownerGuess
	}{
		{"catalog-web-7f9c6d8b5c-h2xkt", ownerGuess{ReplicaSet: "catalog-web-7f9c6d8b5c", Deployment: "catalog-web", Other: "catalog-web-7f9c6d8b5c"}},
		{"postgres-0", ownerGuess{StatefulSet: "postgres"}},
		// Ambiguous names give every candidate; matches() checks real owners.
		{"java-api-checker-2lhkn", ownerGuess{ReplicaSet: "java-api-checker", Deployment: "java-api", Other: "java-api-checker"}},
	} {
		t.Run(tt.pod, func(t *testing.T) {
			if got := guessOwner(tt.pod); got != tt.want {
				t.Errorf("guessOwner(%q) = %+v, want %+v", tt.pod, got, tt.want)
			}
		})
	}
}

// A pod target brings every pod of its workload, whatever its phase: the
// pods of the Deployment's other ReplicaSet (the rollout's old revision),
// an evicted (Failed) pod and a terminating one; a pod of another
// Deployment does not come along.
func TestResolvePodReadsTheWholeWorkload(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC))
	objs := []runtime.Object{
		newDeployment("shop", "web", map[string]string{"app": "web"}),
		newReplicaSet("shop", "web-6f8d9c7b5d", "web"), newReplicaSet("shop", "web-58c9d7f6b4", "web"),
		newPod("shop", "web-6f8d9c7b5d-pt7wz", withLabels("app", "web"), ownedByRS("web-6f8d9c7b5d"), crashLooping(4)),
		newPod("shop", "web-58c9d7f6b4-a1b2c", withLabels("app", "web"), ownedByRS("web-58c9d7f6b4")),
		newPod("shop", "web-58c9d7f6b4-evict", withLabels("app", "web"), ownedByRS("web-58c9d7f6b4"), func(p *corev1.Pod) {
			p.Status = corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted", Message: "The node was low on resource: memory."}
		}),
		newPod("shop", "web-58c9d7f6b4-gone1", withLabels("app", "web"), ownedByRS("web-58c9d7f6b4"), func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
		newPod("shop", "webhook-7d9f8c6b5a-zzzzz", withLabels("app", "webhook"), ownedByRS("webhook-7d9f8c6b5a")),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "web-6f8d9c7b5d-pt7wz", Namespace: "shop", Pod: "web-6f8d9c7b5d-pt7wz"}, investigate.PodCrash)
	got := append(podNames(s.Pods), podNames(s.RelatedPods)...)
	slices.Sort(got)
	want := []string{"web-58c9d7f6b4-a1b2c", "web-58c9d7f6b4-evict", "web-58c9d7f6b4-gone1", "web-6f8d9c7b5d-pt7wz"}
	if !slices.Equal(got, want) {
		t.Errorf("pods = %v, want %v", got, want)
	}
	if s.Pods[0].Name != "web-6f8d9c7b5d-pt7wz" {
		t.Errorf("first pod = %s, want the target", s.Pods[0].Name)
	}
}
