package k8s

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/runtime"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectEvents(t *testing.T) {
	t0 := time.Date(2026, 11, 19, 13, 0, 0, 0, time.UTC)
	objs := []runtime.Object{
		newPod("shop", "web-0", crashLooping(2)),
		newNode("node-1", "10.0.0.1"),
		newEvent("shop", "e-pod", "Pod", "shop", "web-0", "BackOff", t0.Add(2*time.Minute)),
		newEvent("shop", "e-pod-old", "Pod", "shop", "web-0", "Pulled", t0),
		newEvent("default", "e-node", "Node", "", "node-1", "NodeNotReady", t0.Add(time.Minute)),
		newEvent("default", "e-other-node", "Node", "", "node-9", "NodeNotReady", t0),
		newEvent("other", "e-other-ns", "Pod", "other", "x", "BackOff", t0),
	}
	for i := 0; i < 25; i++ {
		objs = append(objs, newEvent("shop", fmt.Sprintf("noise-%02d", i), "Pod", "shop", fmt.Sprintf("p-%d", i), "Scheduled", t0.Add(time.Duration(i)*time.Second)))
	}
	// A Reader that ignores field selectors (as client-go's fake does) returns
	// node-9's and namespace "other"'s events too: they must be filtered in code.
	for _, ignore := range []bool{false, true} {
		t.Run(fmt.Sprintf("ignoreFieldSelectors=%t", ignore), func(t *testing.T) {
			api := newRecordingReader(t, objs...)
			api.ignoreFieldSelectors = ignore
			s, err := NewGatherer(api, Options{Logs: mapLogs{}, Metrics: newMemory(t)}).gather(context.Background(),
				investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
			if err != nil {
				t.Fatal(err)
			}
			var involved []string
			for _, e := range s.Events[:s.InvolvedEvents] {
				involved = append(involved, e.Name)
			}
			want := []string{"e-pod-old", "e-node", "e-pod"}
			if fmt.Sprint(involved) != fmt.Sprint(want) {
				t.Errorf("involved events = %v, want %v (oldest first)", involved, want)
			}
			rest := s.Events[s.InvolvedEvents:]
			if len(rest) != maxNamespaceEvents {
				t.Fatalf("%d namespace events, want %d", len(rest), maxNamespaceEvents)
			}
			if rest[len(rest)-1].Name != "noise-24" || rest[0].Name != "noise-05" {
				t.Errorf("namespace events %s..%s, want the newest 20 (noise-05..noise-24)", rest[0].Name, rest[len(rest)-1].Name)
			}
		})
	}
}
