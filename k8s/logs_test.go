package k8s

import (
	"context"
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

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

func TestClientLogsUsesPodLogSubresource(t *testing.T) {
	cs := fake.NewClientset(newPod("shop", "web-0"))
	var opts *corev1.PodLogOptions
	cs.PrependReactor("get", "pods", func(a k8stesting.Action) (bool, runtime.Object, error) {
		if a.GetSubresource() != "log" {
			return false, nil, nil
		}
		opts = a.(k8stesting.GenericAction).GetValue().(*corev1.PodLogOptions)
		return true, &runtime.Unknown{Raw: []byte("line\n")}, nil
	})
	got, err := ClientLogs{Client: cs}.Logs(context.Background(), "shop", "web-0", "app", true, 50)
	if err != nil || got != "line\n" {
		t.Fatalf("Logs = %q, %v", got, err)
	}
	if opts.Container != "app" || !opts.Previous || opts.TailLines == nil || *opts.TailLines != 50 || opts.LimitBytes == nil {
		t.Errorf("options = %+v", opts)
	}
}
