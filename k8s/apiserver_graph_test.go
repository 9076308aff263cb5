package k8s_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/k8flex/k8flex/internal/apiservertest"
	"github.com/k8flex/k8flex/investigate"
	"github.com/k8flex/k8flex/k8s"
)

// graphCluster is a small cluster holding every kind of the evidence graph
// beside pods and workloads: an HPA and a PDB of a Deployment, an Ingress
// routing to its Service and one routing to a Service that does not
// exist, and a CronJob with the Job it created.
const graphCluster = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: web
      containers: [{name: app, image: "web:1"}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata:
  name: web-6f8d9c7b5d
  namespace: shop
  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: web, uid: 00000000-0000-0000-0000-000000000001, controller: true}]
spec:
  replicas: 2
  selector: {matchLabels: {app: web, pod-template-hash: 6f8d9c7b5d}}
  template:
    metadata: {labels: {app: web, pod-template-hash: 6f8d9c7b5d}}
    spec:
      serviceAccountName: web
      containers: [{name: app, image: "web:1"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: web-6f8d9c7b5d-pt7wz
  namespace: shop
  labels: {app: web, pod-template-hash: 6f8d9c7b5d}
  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: web-6f8d9c7b5d, uid: 00000000-0000-0000-0000-000000000002, controller: true}]
spec:
  nodeName: worker-1
  serviceAccountName: web
  containers: [{name: app, image: "web:1"}]
status:
  phase: Running
  conditions: [{type: Ready, status: "False"}]
  containerStatuses:
  - name: app
    image: "web:1"
    imageID: ""
    ready: false
    restartCount: 4
    state: {waiting: {reason: CrashLoopBackOff}}
    lastState: {terminated: {reason: Error, exitCode: 1}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: storefront, namespace: shop}
spec:
  rules:
  - host: shop.example.com
    http:
      paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: legacy, namespace: shop}
spec:
  defaultBackend: {service: {name: checkout-v1, port: {number: 8080}}}
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: web, namespace: shop}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: web}
  minReplicas: 2
  maxReplicas: 4
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
status:
  currentReplicas: 4
  desiredReplicas: 4
  conditions:
  - {type: ScalingLimited, status: "True", reason: TooManyReplicas, message: the desired replica count is more than the maximum replica count, lastTransitionTime: "2026-03-01T10:00:00Z"}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: web, namespace: shop}
spec:
  minAvailable: 2
  selector: {matchLabels: {app: web}}
status:
  currentHealthy: 1
  desiredHealthy: 2
  expectedPods: 2
  disruptionsAllowed: 0
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup, namespace: shop}
spec:
  schedule: "0 2 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          containers: [{name: backup, image: "backup:1"}]
---
apiVersion: batch/v1
kind: Job
metadata:
  name: backup-29000000
  namespace: shop
  ownerReferences: [{apiVersion: batch/v1, kind: CronJob, name: backup, uid: 00000000-0000-0000-0000-000000000003, controller: true}]
spec:
  template:
    metadata: {labels: {job-name: backup-29000000}}
    spec:
      restartPolicy: Never
      containers: [{name: backup, image: "backup:1"}]
---
apiVersion: v1
kind: Pod
metadata:
  name: backup-29000000-x7k2p
  namespace: shop
  labels: {job-name: backup-29000000}
  ownerReferences: [{apiVersion: batch/v1, kind: Job, name: backup-29000000, uid: 00000000-0000-0000-0000-000000000004, controller: true}]
spec:
  nodeName: worker-1
  restartPolicy: Never
  containers: [{name: backup, image: "backup:1"}]
status:
  phase: Failed
  containerStatuses:
  - name: backup
    image: "backup:1"
    imageID: ""
    ready: false
    restartCount: 0
    state: {terminated: {reason: Error, exitCode: 2}}
`

// TestGraphKindsOnRealAPIServer reads the kinds of the evidence graph
// (HPA, PDB, Ingress, CronJob, ServiceAccount) from a real kube-apiserver
// through k8s.Cluster, as K8flex's ServiceAccount under the shipped
// ClusterRole: each is decoded, kept and rendered.
func TestGraphKindsOnRealAPIServer(t *testing.T) {
	s := apiservertest.Start(t)
	s.ApplyKustomization(t, "../manifests/base")
	s.Load(t, []byte(graphCluster))
	api, err := k8s.NewCluster(s.ServiceAccountConfig(t, "k8flex", "k8flex"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	apiservertest.WaitAuthorized(t, func() error {
		return api.List(ctx, corev1.SchemeGroupVersion.WithResource("pods"), "", metav1.ListOptions{Limit: 1}, &corev1.PodList{})
	})
	g := k8s.NewGatherer(api, k8s.Options{CollectorTimeout: 30 * time.Second, CacheTTL: -1})
	gather := func(pod string) *k8s.Snapshot {
		t.Helper()
		got, err := g.Gather(ctx, investigate.Target{Kind: investigate.KindPod, Name: pod, Namespace: "shop", Pod: pod}, investigate.PodCrash)
		if err != nil {
			t.Fatal(err)
		}
		snap := got.(*k8s.Snapshot)
		for _, gap := range snap.Gaps {
			if gap.Collector != "metrics" && !strings.Contains(gap.Reason, "logs of") {
				t.Errorf("collector %s failed: %s", gap.Collector, gap.Reason)
			}
		}
		return snap
	}

	web := gather("web-6f8d9c7b5d-pt7wz")
	if len(web.HorizontalPodAutoscalers) != 1 || web.HorizontalPodAutoscalers[0].Status.CurrentReplicas != 4 {
		t.Errorf("HPAs = %+v, want web with its status", web.HorizontalPodAutoscalers)
	}
	if len(web.PodDisruptionBudgets) != 1 || web.PodDisruptionBudgets[0].Status.DesiredHealthy != 2 {
		t.Errorf("PDBs = %+v, want web with its status", web.PodDisruptionBudgets)
	}
	var ingresses []string
	for _, ing := range web.Ingresses {
		ingresses = append(ingresses, ing.Name)
	}
	if !slices.Equal(ingresses, []string{"legacy", "storefront"}) {
		t.Errorf("ingresses = %v, want legacy and storefront", ingresses)
	}
	if !slices.Contains(web.MissingRefs, "service/shop/checkout-v1") || slices.ContainsFunc(web.MissingRefs, func(r string) bool {
		return strings.HasPrefix(r, "serviceaccount/")
	}) {
		t.Errorf("missing refs = %v, want the dangling backend and no ServiceAccount (it exists)", web.MissingRefs)
	}
	var sections []string
	for _, sec := range web.Evidence().Sections {
		sections = append(sections, sec.Name)
	}
	for _, want := range []string{"ingresses", "scaling"} {
		if !slices.Contains(sections, want) {
			t.Errorf("sections %v lack %s", sections, want)
		}
	}

	job := gather("backup-29000000-x7k2p")
	if len(job.CronJobs) != 1 || job.CronJobs[0].Spec.Schedule != "0 2 * * *" {
		t.Errorf("cronjobs = %+v, want backup", job.CronJobs)
	}
}
