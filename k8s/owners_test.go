package k8s

import (
	"slices"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectOwners(t *testing.T) {
	yes := true
	rs := func(name, rev string) *appsv1.ReplicaSet {
		return &appsv1.ReplicaSet{ObjectMeta: metav1.ObjectMeta{Namespace: "web", Name: name, Annotations: map[string]string{"deployment.kubernetes.io/revision": rev},
			OwnerReferences: []metav1.OwnerReference{{Kind: "Deployment", Name: "store", Controller: &yes}}}}
	}
	objs := []runtime.Object{
		newDeployment("web", "store", map[string]string{"app": "store"}),
		rs("store-6f8d9c7b5d", "4"), rs("store-7c5f8b9d6d", "3"), rs("store-5a5a5a5a5a", "2"), rs("store-4b4b4b4b4b", "1"),
		newPod("web", "store-6f8d9c7b5d-pt7wz", withLabels("app", "store"), ownedByRS("store-6f8d9c7b5d"), crashLooping(1)),
	}
	s := gatherWith(t, objs, mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "store-6f8d9c7b5d-pt7wz", Namespace: "web", Pod: "store-6f8d9c7b5d-pt7wz"}, investigate.PodCrash)
	if len(s.Deployments) != 1 || s.Deployments[0].Name != "store" {
		t.Errorf("deployments = %v, want store (through its ReplicaSet)", s.Deployments)
	}
	var names []string
	for _, r := range s.ReplicaSets {
		names = append(names, r.Name)
	}
	want := []string{"store-5a5a5a5a5a", "store-6f8d9c7b5d", "store-7c5f8b9d6d"} // newest 3 revisions, sorted
	if !slices.Equal(names, want) {
		t.Errorf("replicasets = %v, want %v", names, want)
	}
}
