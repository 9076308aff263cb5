package apiservertest

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
)

// recorded is a cluster as `kubectl get -o yaml` prints it, with what a
// replay must keep: a Namespace's labels, a Job whose selector names its
// recorded UID and a pod labelled with it, a pod that was Terminating, a
// PVC whose protection finalizer no controller will clear, a Deployment at
// generation 3, a tainted node (and a node only pods name).
const recorded = `
apiVersion: v1
kind: Node
metadata:
  name: worker-2
spec:
  taints: [{key: dedicated, value: batch, effect: NoSchedule}]
status:
  addresses: [{type: InternalIP, address: 10.0.1.12}, {type: Hostname, address: worker-2}]
  conditions: [{type: Ready, status: "True", reason: KubeletReady, lastHeartbeatTime: "2026-11-09T09:40:00Z", lastTransitionTime: "2026-11-01T00:00:00Z"}]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: batch
  generation: 3
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers: [{name: web, image: example.invalid/web:1}]
status:
  observedGeneration: 3
  replicas: 1
---
apiVersion: v1
kind: Namespace
metadata:
  name: batch
  labels: {team: data}
---
apiVersion: batch/v1
kind: Job
metadata:
  name: export
  namespace: batch
  uid: 0b9a4a43-0000-4000-8000-000000000001
spec:
  selector:
    matchLabels: {batch.kubernetes.io/controller-uid: 0b9a4a43-0000-4000-8000-000000000001}
  template:
    metadata:
      labels:
        batch.kubernetes.io/controller-uid: 0b9a4a43-0000-4000-8000-000000000001
        batch.kubernetes.io/job-name: export
        controller-uid: 0b9a4a43-0000-4000-8000-000000000001
        job-name: export
    spec:
      restartPolicy: Never
      containers: [{name: export, image: example.invalid/export:1}]
status:
  failed: 1
---
apiVersion: v1
kind: Pod
metadata:
  name: export-x7k2p
  namespace: batch
  labels:
    batch.kubernetes.io/controller-uid: 0b9a4a43-0000-4000-8000-000000000001
    batch.kubernetes.io/job-name: export
    controller-uid: 0b9a4a43-0000-4000-8000-000000000001
    job-name: export
  ownerReferences:
  - {apiVersion: batch/v1, kind: Job, name: export, uid: 0b9a4a43-0000-4000-8000-000000000001, controller: true}
spec:
  nodeName: worker-1
  restartPolicy: Never
  containers: [{name: export, image: example.invalid/export:1}]
status:
  phase: Running
  containerStatuses:
  - name: export
    image: example.invalid/export:1
    imageID: ""
    ready: true
    restartCount: 2
    state: {running: {startedAt: "2026-11-09T09:40:00Z"}}
    lastState: {terminated: {exitCode: 1, reason: Error}}
---
apiVersion: v1
kind: Pod
metadata:
  name: web-0
  namespace: batch
  deletionTimestamp: "2026-11-09T09:45:00Z"
  deletionGracePeriodSeconds: 30
spec:
  nodeName: worker-1
  containers: [{name: web, image: example.invalid/web:1}]
status:
  phase: Running
  containerStatuses:
  - name: web
    image: example.invalid/web:1
    imageID: ""
    ready: false
    restartCount: 0
    state: {waiting: {reason: CrashLoopBackOff}}
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
  namespace: batch
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
status:
  phase: Pending
`

// Load keeps what a recorded cluster says, the fake kubelet answers for a
// log nobody set as a kubelet would from the pod's status, and Unload
// leaves the server as Start did, so that the same recording loads again.
func TestLoadAndUnload(t *testing.T) {
	s := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	admin := s.Client(t)

	for round := 1; round <= 2; round++ {
		res := s.Load(t, []byte(recorded))
		if len(res.Namespaces) != 1 || res.Namespaces[0] != "batch" {
			t.Errorf("round %d: namespaces created = %q, want [batch]", round, res.Namespaces)
		}
		ns, err := admin.CoreV1().Namespaces().Get(ctx, "batch", metav1.GetOptions{})
		if err != nil || ns.Labels["team"] != "data" {
			t.Errorf("round %d: namespace batch labels = %v (%v), want team=data", round, ns.Labels, err)
		}
		job, err := admin.BatchV1().Jobs("batch").Get(ctx, "export", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("round %d: get job: %v", round, err)
		}
		pod, err := admin.CoreV1().Pods("batch").Get(ctx, "export-x7k2p", metav1.GetOptions{})
		if err != nil {
			t.Fatalf("round %d: get pod: %v", round, err)
		}
		sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
		if err != nil || !sel.Matches(labels.Set(pod.Labels)) {
			t.Errorf("round %d: job selector %v does not select its pod %v (%v)", round, job.Spec.Selector, pod.Labels, err)
		}
		if len(pod.OwnerReferences) != 1 || pod.OwnerReferences[0].UID != job.UID {
			t.Errorf("round %d: pod owner %v, want job uid %s", round, pod.OwnerReferences, job.UID)
		}
		dep, err := admin.AppsV1().Deployments("batch").Get(ctx, "web", metav1.GetOptions{})
		if err != nil || dep.Generation != 3 || dep.Status.ObservedGeneration != 3 || len(dep.Spec.Template.Annotations) != 0 {
			t.Errorf("round %d: deployment web: generation %d, observed %d, template annotations %v (%v); want 3, 3, none",
				round, dep.Generation, dep.Status.ObservedGeneration, dep.Spec.Template.Annotations, err)
		}
		for name, want := range map[string]string{"worker-2": "dedicated", "worker-1": ""} {
			n, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
			var keys []string
			for _, t := range n.Spec.Taints {
				keys = append(keys, t.Key)
			}
			if err != nil || strings.Join(keys, ",") != want {
				t.Errorf("round %d: node %s taints %v (%v), want %q", round, name, keys, err, want)
			}
			if err == nil && !slices.ContainsFunc(n.Status.Addresses, func(a corev1.NodeAddress) bool {
				return a.Type == corev1.NodeExternalDNS && a.Address == "127.0.0.1"
			}) {
				t.Errorf("round %d: node %s addresses %v lack the fake kubelet's", round, name, n.Status.Addresses)
			}
		}
		web, err := admin.CoreV1().Pods("batch").Get(ctx, "web-0", metav1.GetOptions{})
		if err != nil || web.DeletionTimestamp == nil {
			t.Errorf("round %d: web-0 is not Terminating: %v, %v", round, err, web.DeletionTimestamp)
		}

		for _, tt := range []struct {
			name, pod, container string
			previous             bool
			want                 string // "" = an empty log
		}{
			{name: "running, nothing recorded", pod: "export-x7k2p", container: "export"},
			{name: "previous instance, nothing recorded", pod: "export-x7k2p", container: "export", previous: true},
			{name: "no previous instance", pod: "web-0", container: "web", previous: true,
				want: `previous terminated container "web" in pod "web-0" not found`},
			{name: "waiting", pod: "web-0", container: "web",
				want: `container "web" in pod "web-0" is waiting to start: CrashLoopBackOff`},
		} {
			res := admin.CoreV1().Pods("batch").GetLogs(tt.pod, &corev1.PodLogOptions{Container: tt.container, Previous: tt.previous}).Do(ctx)
			b, err := res.Raw()
			if err != nil {
				err = res.Error()
			}
			switch {
			case tt.want == "" && (err != nil || len(b) != 0):
				t.Errorf("round %d: %s: log %q, %v; want an empty log", round, tt.name, b, err)
			case tt.want != "" && (!apierrors.IsBadRequest(err) || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("round %d: %s: log %q, %v; want 400 %q", round, tt.name, b, err, tt.want)
			}
		}

		s.Unload(t, res)
		if _, err := admin.CoreV1().Namespaces().Get(ctx, "batch", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("round %d: namespace batch after Unload: %v, want not found", round, err)
		}
		if pods, err := admin.CoreV1().Pods("").List(ctx, metav1.ListOptions{}); err != nil || len(pods.Items) != 0 {
			t.Errorf("round %d: pods left after Unload: %v (%v)", round, pods, err)
		}
		if pvcs, err := admin.CoreV1().PersistentVolumeClaims("").List(ctx, metav1.ListOptions{}); err != nil || len(pvcs.Items) != 0 {
			t.Errorf("round %d: PVCs left after Unload: %v (%v)", round, pvcs, err)
		}
		if sas, err := admin.CoreV1().ServiceAccounts("batch").List(ctx, metav1.ListOptions{}); err != nil || len(sas.Items) != 0 {
			t.Errorf("round %d: ServiceAccounts left in batch after Unload: %v (%v)", round, sas, err)
		}
		for _, name := range []string{"worker-1", "worker-2"} {
			if _, err := admin.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
				t.Errorf("round %d: node %s after Unload: %v, want not found", round, name, err)
			}
		}
	}
}
