package k8s

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/rest"

	"github.com/k8flex/k8flex/investigate"
)

func TestCollectLogs(t *testing.T) {
	p := newPod("shop", "web-0", crashLooping(4), func(p *corev1.Pod) {
		p.Spec.InitContainers = []corev1.Container{{Name: "migrate"}}
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar"}, corev1.Container{Name: "never"})
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "migrate", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "Completed"}}}}
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses,
			corev1.ContainerStatus{Name: "sidecar", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
			corev1.ContainerStatus{Name: "never", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}})
	})
	logs := mapLogs{
		"shop/web-0/app":          "current start\nrefused",
		"shop/web-0/app/previous": "previous start\nrefused",
		"shop/web-0/migrate":      "migrated",
		"shop/web-0/sidecar":      "ok",
	}
	s := gatherWith(t, []runtime.Object{p}, logs, investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}, investigate.PodCrash)
	var got []string
	for _, l := range s.Logs {
		name, _ := logTitle(l)
		got = append(got, name)
	}
	want := []string{"logs/shop/web-0/migrate", "logs/shop/web-0/app", "logs/shop/web-0/app/previous", "logs/shop/web-0/sidecar"}
	if !slices.Equal(got, want) {
		t.Errorf("logs = %v, want %v (init first, previous for the restarted one, none for a container that never ran)", got, want)
	}
	if !s.Logs[0].Init || !s.Logs[2].Previous || s.Logs[2].Lines[0] != "previous start" {
		t.Errorf("flags or lines wrong: %+v", s.Logs)
	}
}

func TestClusterLogsUsesPodLogSubresource(t *testing.T) {
	var got *url.URL
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.Method != http.MethodGet {
			t.Errorf("method = %s, want GET", req.Method)
		}
		got = req.URL
		_, _ = w.Write([]byte("line\n"))
	}))
	defer srv.Close()
	c, err := NewCluster(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	logs, err := c.Logs(context.Background(), "shop", "web-0", "app", true, 50)
	if err != nil || logs != "line\n" {
		t.Fatalf("Logs = %q, %v", logs, err)
	}
	if got == nil || got.Path != "/api/v1/namespaces/shop/pods/web-0/log" {
		t.Fatalf("request = %v, want the pods/log subresource of shop/web-0", got)
	}
	q := got.Query()
	if q.Get("container") != "app" || q.Get("previous") != "true" || q.Get("tailLines") != "50" || q.Get("limitBytes") == "" {
		t.Errorf("options = %v", q)
	}
}

// memLogs is a Reader over a Memory that is its own LogSource, as Cluster is.
type memLogs struct {
	*Memory
	mapLogs
}

func TestGatherLogSource(t *testing.T) {
	target := investigate.Target{Kind: investigate.KindPod, Name: "web-0", Namespace: "shop", Pod: "web-0"}
	p := newPod("shop", "web-0", crashLooping(2))

	// A Reader that reads logs is the Gatherer's log source by default.
	api := memLogs{newMemory(t, p), mapLogs{"shop/web-0/app/previous": "refused"}}
	s, err := NewGatherer(api, Options{}).gather(context.Background(), target, investigate.PodCrash)
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(s.Logs, func(l ContainerLog) bool { return l.Container == "app" && l.Previous })
	if i < 0 || !slices.Equal(s.Logs[i].Lines, []string{"refused"}) {
		t.Errorf("logs = %+v, want the previous app log read through the Reader", s.Logs)
	}

	// One that does not leaves logs a gap.
	s, err = NewGatherer(newMemory(t, p), Options{}).gather(context.Background(), target, investigate.PodCrash)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Logs) != 0 {
		t.Errorf("logs = %+v, want none without a log source", s.Logs)
	}
	if !slices.ContainsFunc(s.Gaps, func(g investigate.Gap) bool {
		return g.Collector == "logs" && strings.Contains(g.Reason, "no log source configured")
	}) {
		t.Errorf("gaps = %+v, want logs: no log source configured", s.Gaps)
	}
}
