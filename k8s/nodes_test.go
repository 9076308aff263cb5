package k8s

import (
	"slices"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectNodes(t *testing.T) {
	nodes := []runtime.Object{newNode("node-1", "10.0.0.1"), newNode("node-2", "10.0.0.2"), newNode("node-3", "10.0.0.3")}
	for _, tt := range []struct {
		name string
		pod  runtime.Object
		cat  investigate.Category
		want []string
	}{
		{"running pod: its node only", newPod("a", "p", crashLooping(1)), investigate.PodCrash, []string{"node-1"}},
		{"unscheduled pod: every node", newPod("a", "p", pending()), investigate.PodPending, []string{"node-1", "node-2", "node-3"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := gatherWith(t, append([]runtime.Object{tt.pod}, nodes...), mapLogs{}, investigate.Target{Kind: investigate.KindPod, Name: "p", Namespace: "a", Pod: "p"}, tt.cat)
			var got []string
			for _, n := range s.Nodes {
				got = append(got, n.Name)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("nodes = %v, want %v", got, tt.want)
			}
		})
	}
}
