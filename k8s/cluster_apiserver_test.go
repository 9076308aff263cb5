package k8s_test

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/k8s"
)

// Through a real API server (protobuf Status and all), the kubelet's 400s
// for a container instance that does not exist read as empty logs, and a
// log that exists is read.
func TestClusterLogsOnRealAPIServer(t *testing.T) {
	s := apiservertest.Start(t)
	s.CreateNamespace(t, "shop")
	s.AddNode(t, "node-a")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := s.Client(t)
	pod, err := admin.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"},
		Spec: corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{
			{Name: "app", Image: "example.invalid/web:1"}, {Name: "sidecar", Image: "example.invalid/proxy:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// app restarted, but its previous instance is gone (no lastState);
	// sidecar has not started yet.
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{
		{Name: "app", RestartCount: 2, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
		{Name: "sidecar", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}},
	}
	if _, err := admin.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	s.Kubelet.SetLog("shop", "web-0", "app", false, "listening on :8080\n")

	c, err := k8s.NewCluster(s.Config)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		container string
		previous  bool
		want      string
	}{
		{container: "app", want: "listening on :8080\n"},
		{container: "app", previous: true},
		{container: "sidecar"},
	} {
		got, err := c.Logs(ctx, "shop", "web-0", tt.container, tt.previous, 100)
		if err != nil || got != tt.want {
			t.Errorf("Logs(%s, previous=%v) = %q, %v; want %q", tt.container, tt.previous, got, err, tt.want)
		}
	}
	if _, err := c.Logs(ctx, "shop", "web-0", "missing", false, 100); err == nil {
		t.Error("logs of a container the pod does not have: no error")
	}
}
