package k8s

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// initWaiting puts the pod in Init with one init container running cmd.
func initWaiting(name string, cmd ...string) podOpt {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Spec.InitContainers = []corev1.Container{{Name: name, Image: "busybox:1.36", Command: cmd}}
		p.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: name,
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.NewTime(time.Date(2026, 11, 1, 10, 0, 0, 0, time.UTC))}}}}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodInitialized, Status: corev1.ConditionFalse, Reason: "ContainersNotInitialized", Message: "containers with incomplete status: [" + name + "]"},
			{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "PodInitializing"}}}}
	}
}

func TestDiagnoseInitWaits(t *testing.T) {
	at := time.Date(2026, 11, 1, 10, 40, 0, 0, time.UTC)
	runRuleCases(t, []string{"init-container-waiting"}, []ruleCase{
		{name: "nc loop on a Service whose only pod crash-loops", rule: "init-container-waiting",
			snap: func() *Snapshot {
				web := newPod("shop", "web-1", initWaiting("wait-for-cache", "sh", "-c", "until nc -z cache.shop.svc.cluster.local 6379; do echo waiting; sleep 2; done"))
				cache := newPod("shop", "cache-0", withLabels("app", "cache"), crashLooping(9))
				ev := newEvent("shop", "e1", "Pod", "shop", "cache-0", "BackOff", at)
				return &Snapshot{Pods: []corev1.Pod{*web}, RelatedPods: []corev1.Pod{*cache}, Events: []corev1.Event{*ev},
					Services:       []corev1.Service{svc("shop", "cache", map[string]string{"app": "cache"})},
					EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "cache", 0, 1)}}
			},
			summary: []string{"stuck in Init", "wait-for-cache", "running for 40m", "cache.shop.svc.cluster.local:6379", "Service shop/cache has no ready endpoints", "cache-0", "CrashLoopBackOff"},
			objects: []string{"pod/shop/web-1", "service/shop/cache", "pod/shop/cache-0"},
			proof:   []string{"until nc -z", "Initialized=False"}},
		{name: "nslookup of a short name whose Deployment was scaled to zero", rule: "init-container-waiting",
			snap: func() *Snapshot {
				api := newPod("billing", "api-7f-x", initWaiting("wait-db", "sh", "-c", "while ! nslookup ledger-db; do sleep 5; done"))
				zero := int32(0)
				dep := newDeployment("billing", "ledger-db", map[string]string{"app": "ledger-db"})
				dep.Spec.Replicas = &zero
				dep.Spec.Template.Labels = map[string]string{"app": "ledger-db"}
				dep.ManagedFields = []metav1.ManagedFieldsEntry{
					{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:template":{}}}`)}},
					{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale", Time: &metav1.Time{Time: at.Add(-time.Hour)}, FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
				}
				return &Snapshot{Pods: []corev1.Pod{*api}, Deployments: []appsv1.Deployment{*dep},
					Services: []corev1.Service{svc("billing", "ledger-db", map[string]string{"app": "ledger-db"})}}
			},
			summary: []string{"wait-db", "ledger-db", "Deployment billing/ledger-db behind it is scaled to 0", "last set by kubectl (scale subresource)"},
			objects: []string{"service/billing/ledger-db"}},
		{name: "wait-for a Service that does not exist, restarting", rule: "init-container-waiting",
			snap: func() *Snapshot {
				p := newPod("etl", "loader-0", initWaiting("wait", "/bin/wait-for-it.sh", "queue.broker:5672", "--timeout=60"))
				p.Status.InitContainerStatuses[0] = corev1.ContainerStatus{Name: "wait", RestartCount: 4,
					State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
					LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}
				return &Snapshot{Pods: []corev1.Pod{*p}, MissingRefs: []string{"service/broker/queue"}}
			},
			summary: []string{"waits for queue.broker:5672", "exit code 1, 4 restarts", "Service broker/queue does not exist"}},
		{name: "a copying init container is no wait",
			snap: func() *Snapshot {
				p := newPod("shop", "web-2", initWaiting("copy", "sh", "-c", "cp -r /src/assets /www"))
				return &Snapshot{Pods: []corev1.Pod{*p}, Services: []corev1.Service{svc("shop", "src", nil)}}
			}},
		{name: "a sidecar init container runs for the pod's life",
			snap: func() *Snapshot {
				p := newPod("shop", "web-3", initWaiting("proxy", "sh", "-c", "while true; do nc -z cache 6379; sleep 10; done"))
				always := corev1.ContainerRestartPolicyAlways
				p.Spec.InitContainers[0].RestartPolicy = &always
				return &Snapshot{Pods: []corev1.Pod{*p}, Services: []corev1.Service{svc("shop", "cache", map[string]string{"app": "cache"})},
					EndpointSlices: []discoveryv1.EndpointSlice{slice("shop", "cache", 0, 1)}}
			}},
	})
}

func TestInitWaitTargets(t *testing.T) {
	for _, tt := range []struct {
		cmd  []string
		host string
		port string
	}{
		{[]string{"sh", "-c", "until nc -zv -w 2 db.data.svc 5432; do sleep 1; done"}, "db.data.svc", "5432"},
		{[]string{"sh", "-c", "until pg_isready -h postgres -p 5432; do sleep 2; done"}, "postgres", "5432"},
		{[]string{"sh", "-c", "until curl -sf http://auth:8080/healthz; do sleep 3; done"}, "auth", "8080"},
		{[]string{"bash", "-c", "until echo > /dev/tcp/mq/5672; do sleep 1; done"}, "mq", "5672"},
		{[]string{"sh", "-c", "until getent hosts es-master.search; do sleep 2; done"}, "es-master.search", ""},
	} {
		got := initWaitTargets(&corev1.Container{Command: tt.cmd})
		if len(got) == 0 || got[0].host != tt.host || got[0].port != tt.port {
			t.Errorf("%q: got %+v, want %s:%s first", tt.cmd, got, tt.host, tt.port)
		}
	}
}
