package apiservertest

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestTail(t *testing.T) {
	for _, tt := range []struct {
		name, text string
		n          int
		want       string
	}{
		{name: "fewer lines than asked", text: "a\nb\n", n: 5, want: "a\nb\n"},
		{name: "last lines kept", text: "a\nb\nc\n", n: 2, want: "b\nc\n"},
		{name: "no trailing newline", text: "a\nb\nc", n: 1, want: "c"},
		{name: "zero lines", text: "a\nb\n", n: 0, want: ""},
		{name: "empty text", text: "", n: 3, want: ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := tail(tt.text, tt.n); got != tt.want {
				t.Errorf("tail(%q, %d) = %q, want %q", tt.text, tt.n, got, tt.want)
			}
		})
	}
}

func TestFindBinariesNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("K8FLEX_APISERVER_DIR", dir)
	t.Setenv("K8FLEX_ETCD", filepath.Join(dir, "etcd"))
	_, err := FindBinaries()
	if err == nil {
		t.Fatal("FindBinaries in an empty dir: no error")
	}
	for _, name := range []string{"kube-apiserver", "kubectl", "etcd"} {
		if !strings.Contains(err.Error(), filepath.Join(dir, name)) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	for _, name := range []string{"kube-apiserver", "kubectl", "etcd"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	b, err := FindBinaries()
	if err != nil {
		t.Fatalf("FindBinaries with every binary present: %v", err)
	}
	if b.APIServer != filepath.Join(dir, "kube-apiserver") {
		t.Errorf("APIServer = %s, want it in %s", b.APIServer, dir)
	}
}

// TestServer drives the real API server the way the collectors will: pod
// status through the status subresource, logs through pods/log served by the
// fake kubelet, and RBAC through a ServiceAccount token.
func TestServer(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := s.Client(t)

	info, err := admin.Discovery().ServerVersion()
	if err != nil {
		t.Fatalf("server version: %v", err)
	}
	if info.GitVersion != Version {
		t.Errorf("server version %s, want %s", info.GitVersion, Version)
	}

	s.CreateNamespace(t, "shop")
	s.AddNode(t, "node-a")
	pod, err := admin.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "shop"},
		Spec: corev1.PodSpec{
			NodeName:   "node-a",
			Containers: []corev1.Container{{Name: "app", Image: "example.invalid/web:1"}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	pod.Status.Phase = corev1.PodRunning
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{
		Name: "app", RestartCount: 3, Image: "example.invalid/web:1",
		State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
		LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
			ExitCode: 1, Reason: "Error",
		}},
	}}
	if _, err := admin.CoreV1().Pods("shop").UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update pod status: %v", err)
	}
	got, err := admin.CoreV1().Pods("shop").Get(ctx, "web-0", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get pod: %v", err)
	}
	if cs := got.Status.ContainerStatuses; len(cs) != 1 || cs[0].RestartCount != 3 {
		t.Errorf("pod status not stored: %+v", got.Status.ContainerStatuses)
	}

	api, err := admin.CoreV1().Pods("shop").Create(ctx, &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "api-0", Namespace: "shop"},
		Spec:       corev1.PodSpec{NodeName: "node-a", Containers: []corev1.Container{{Name: "app", Image: "example.invalid/api:1"}}},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod: %v", err)
	}
	api.Status.Phase = corev1.PodRunning
	api.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", Image: "example.invalid/api:1",
		State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}}
	if _, err := admin.CoreV1().Pods("shop").UpdateStatus(ctx, api, metav1.UpdateOptions{}); err != nil {
		t.Fatalf("update pod status: %v", err)
	}

	s.Kubelet.SetLog("shop", "web-0", "app", false, "starting\nlistening\nready\n")
	s.Kubelet.SetLog("shop", "web-0", "app", true, "starting\npanic: config missing\n")

	t.Run("logs", func(t *testing.T) {
		two := int64(2)
		for _, tt := range []struct {
			name string
			opts corev1.PodLogOptions
			want string
		}{
			{name: "current", opts: corev1.PodLogOptions{Container: "app"}, want: "starting\nlistening\nready\n"},
			{name: "tail", opts: corev1.PodLogOptions{Container: "app", TailLines: &two}, want: "listening\nready\n"},
			{name: "previous", opts: corev1.PodLogOptions{Container: "app", Previous: true}, want: "starting\npanic: config missing\n"},
		} {
			t.Run(tt.name, func(t *testing.T) {
				b, err := admin.CoreV1().Pods("shop").GetLogs("web-0", &tt.opts).DoRaw(ctx)
				if err != nil {
					t.Fatalf("get logs: %v", err)
				}
				if string(b) != tt.want {
					t.Errorf("logs = %q, want %q", b, tt.want)
				}
			})
		}
		_, err := admin.CoreV1().Pods("shop").GetLogs("web-0", &corev1.PodLogOptions{Container: "missing"}).DoRaw(ctx)
		if err == nil {
			t.Error("logs of a container the pod does not have: no error")
		}
		// No log set: the kubelet answers from the pod's status.
		b, err := admin.CoreV1().Pods("shop").GetLogs("api-0", &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx)
		if err != nil || len(b) != 0 {
			t.Errorf("log of a running container nobody set: %q, %v; want an empty log", b, err)
		}
		res := admin.CoreV1().Pods("shop").GetLogs("api-0", &corev1.PodLogOptions{Container: "app", Previous: true}).Do(ctx)
		if err := res.Error(); !apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), `previous terminated container "app" in pod "api-0" not found`) {
			t.Errorf("previous log of a container that never restarted: %v; want the kubelet's 400", err)
		}
		var sawPrevious bool
		for _, r := range s.Kubelet.Requests() {
			if strings.HasPrefix(r, "/containerLogs/shop/web-0/app?") && strings.Contains(r, "previous=true") {
				sawPrevious = true
			}
		}
		if !sawPrevious {
			t.Errorf("kubelet never asked for the previous log; requests: %q", s.Kubelet.Requests())
		}
	})

	t.Run("rbac", func(t *testing.T) {
		sa := s.ServiceAccountClient(t, "shop", "reader")
		if _, err := sa.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Fatalf("list pods without a role: err = %v, want forbidden", err)
		}
		s.BindClusterRole(t, "shop", "reader", "pod-reader", rbacv1.PolicyRule{
			APIGroups: []string{""}, Resources: []string{"pods", "pods/log"}, Verbs: []string{"get", "list"},
		})
		// RBAC caches are refreshed asynchronously; poll briefly.
		deadline := time.Now().Add(10 * time.Second)
		for {
			_, err = sa.CoreV1().Pods("shop").List(ctx, metav1.ListOptions{})
			if err == nil || time.Now().After(deadline) {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("list pods with a role: %v", err)
		}
		if _, err := sa.CoreV1().Pods("shop").GetLogs("web-0", &corev1.PodLogOptions{Container: "app"}).DoRaw(ctx); err != nil {
			t.Errorf("logs with pods/log: %v", err)
		}
		if _, err := sa.CoreV1().Secrets("shop").List(ctx, metav1.ListOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("list secrets: err = %v, want forbidden", err)
		}
		if err := sa.CoreV1().Pods("shop").Delete(ctx, "web-0", metav1.DeleteOptions{}); !apierrors.IsForbidden(err) {
			t.Errorf("delete pod: err = %v, want forbidden", err)
		}
	})

	t.Run("kubectl", func(t *testing.T) {
		out, _, err := s.Kubectl(ctx, nil, "get", "pods", "-n", "shop", "-o", "name")
		if err != nil {
			t.Fatal(err)
		}
		if strings.TrimSpace(string(out)) != "pod/api-0\npod/web-0" {
			t.Errorf("kubectl get pods = %q, want pod/api-0 and pod/web-0", out)
		}
	})
}
