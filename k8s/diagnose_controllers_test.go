package k8s

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/k8flex/k8flex/investigate"
)

func int32p(n int32) *int32 { return &n }

// zeroDeployment is a Deployment at spec.replicas 0 whose template carries app=name.
func zeroDeployment(ns, name string) *appsv1.Deployment {
	d := newDeployment(ns, name, map[string]string{"app": name})
	d.Spec.Replicas = int32p(0)
	d.Spec.Template.Labels = map[string]string{"app": name}
	return d
}

func TestDiagnoseScaledToZero(t *testing.T) {
	at := metav1.NewTime(time.Date(2026, 10, 7, 21, 43, 12, 0, time.UTC))
	svc := corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "billing", Name: "renderer"}, Spec: corev1.ServiceSpec{Selector: map[string]string{"app": "renderer"}}}
	runRuleCases(t, []string{"scaled-to-zero"}, []ruleCase{
		{name: "kubectl scale on a Deployment behind a Service", rule: "scaled-to-zero",
			snap: func() *Snapshot {
				d := zeroDeployment("billing", "renderer")
				d.ManagedFields = []metav1.ManagedFieldsEntry{
					{Manager: "kubectl-client-side-apply", Operation: metav1.ManagedFieldsOperationUpdate, Time: &metav1.Time{Time: at.Add(-time.Hour)},
						FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:template":{}}}`)}},
					{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, Subresource: "scale", Time: &at,
						FieldsType: "FieldsV1", FieldsV1: &metav1.FieldsV1{Raw: []byte(`{"f:spec":{"f:replicas":{}}}`)}},
				}
				d.Annotations = map[string]string{corev1.LastAppliedConfigAnnotation: `{"spec":{"replicas":3}}`}
				ev := createEvent("Deployment", "billing", "renderer", "ScalingReplicaSet", "Scaled down replica set renderer-7d4b9c8f6d from 3 to 0", 1, at.Time)
				return &Snapshot{Deployments: []appsv1.Deployment{*d}, Services: []corev1.Service{svc}, Events: []corev1.Event{ev}}
			},
			summary: []string{"Deployment billing/renderer was scaled from 3 to 0 replicas", "Service renderer", `field manager "kubectl"`, "scale subresource", "last kubectl apply set replicas: 3"},
			proof:   []string{"manager=kubectl", "Scaled down replica set"}},
		{name: "StatefulSet with an HPA that cannot undo it", rule: "scaled-to-zero",
			snap: func() *Snapshot {
				s := appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "cache"}, Spec: appsv1.StatefulSetSpec{Replicas: int32p(0)}}
				h := autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "db", Name: "cache"},
					Spec: autoscalingv2.HorizontalPodAutoscalerSpec{ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "StatefulSet", Name: "cache"}, MinReplicas: int32p(2), MaxReplicas: 5},
					Status: autoscalingv2.HorizontalPodAutoscalerStatus{Conditions: []autoscalingv2.HorizontalPodAutoscalerCondition{
						{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "ScalingDisabled", Message: "scaling is disabled since the replica count of the target is zero"}}}}
				return &Snapshot{StatefulSets: []appsv1.StatefulSet{s}, HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{h}}
			},
			summary: []string{"StatefulSet db/cache is scaled to zero"},
			proof:   []string{"ScalingActive=False ScalingDisabled"}},
		{name: "a Deployment with replicas is not reported", rule: "",
			snap: func() *Snapshot {
				d := zeroDeployment("billing", "renderer")
				d.Spec.Replicas = int32p(3)
				return &Snapshot{Deployments: []appsv1.Deployment{*d}, Services: []corev1.Service{svc}}
			}},
	})
}

func TestDiagnoseRolloutStuck(t *testing.T) {
	mk := func(newPod *corev1.Pod) func() *Snapshot {
		return func() *Snapshot {
			d := newDeployment("wh", "api", map[string]string{"app": "api"})
			d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "31"}
			zero := intstr.FromInt32(0)
			d.Spec.Strategy.RollingUpdate = &appsv1.RollingUpdateDeployment{MaxUnavailable: &zero}
			d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse,
				Reason: "ProgressDeadlineExceeded", Message: `ReplicaSet "api-6c8d5f7b94" has timed out progressing.`}}
			nrs := newReplicaSet("wh", "api-6c8d5f7b94", "api")
			nrs.Annotations = map[string]string{"deployment.kubernetes.io/revision": "31"}
			nrs.Spec.Replicas = int32p(1)
			nrs.Spec.Template.Spec.Containers = []corev1.Container{{Name: "api", Image: "api:2.19.0"}}
			nrs.Status.Replicas = 1
			ors := newReplicaSet("wh", "api-79f4c6d8b5", "api")
			ors.Annotations = map[string]string{"deployment.kubernetes.io/revision": "30"}
			ors.Status.Replicas, ors.Status.ReadyReplicas = 2, 2
			return &Snapshot{Deployments: []appsv1.Deployment{*d}, ReplicaSets: []appsv1.ReplicaSet{*nrs, *ors}, Pods: []corev1.Pod{*newPod}}
		}
	}
	unready := newPod("wh", "api-6c8d5f7b94-lq4wm", ownedByRS("api-6c8d5f7b94"), func(p *corev1.Pod) {
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse}}
	})
	crashing := newPod("wh", "api-6c8d5f7b94-zz9xq", ownedByRS("api-6c8d5f7b94"), crashLooping(5))
	cases := []ruleCase{
		{name: "new pod never ready", rule: "rollout-stuck", snap: mk(unready),
			summary: []string{"Deployment wh/api is stuck", "ProgressDeadlineExceeded", "new ReplicaSet api-6c8d5f7b94 (revision 31, api:2.19.0)", "api-6c8d5f7b94-lq4wm is Running but never becomes Ready", "old ReplicaSet api-79f4c6d8b5 still runs 2", "maxUnavailable 0"}},
		{name: "new pod crash-looping", rule: "rollout-stuck", snap: mk(crashing),
			summary: []string{"api-6c8d5f7b94-zz9xq is crash-looping"}},
		{name: "a progressing rollout is not reported", rule: "",
			snap: func() *Snapshot {
				s := mk(unready)()
				s.Deployments[0].Status.Conditions[0].Status = corev1.ConditionTrue
				s.Deployments[0].Status.Conditions[0].Reason = "ReplicaSetUpdated"
				return s
			}},
	}
	runRuleCases(t, []string{"rollout-"}, cases)
	// The category follows the new pods' state.
	for _, c := range []struct {
		pod  *corev1.Pod
		want investigate.Category
	}{{unready, investigate.EndpointMissing}, {crashing, investigate.PodCrash}} {
		for _, f := range mk(c.pod)().Diagnose() {
			if f.Rule == "rollout-stuck" && f.Category != c.want {
				t.Errorf("%s: category %s, want %s", c.pod.Name, f.Category, c.want)
			}
		}
	}
}

func hpa(name string, maxR, cur int32, conds ...autoscalingv2.HorizontalPodAutoscalerCondition) autoscalingv2.HorizontalPodAutoscaler {
	return autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "tiles", Name: name},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{Kind: "Deployment", Name: name}, MinReplicas: int32p(2), MaxReplicas: maxR,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: int32p(70)}}}}},
		Status: autoscalingv2.HorizontalPodAutoscalerStatus{CurrentReplicas: cur, DesiredReplicas: cur, Conditions: conds},
	}
}

func withCPU(h autoscalingv2.HorizontalPodAutoscaler, pct int32) autoscalingv2.HorizontalPodAutoscaler {
	h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricStatus{
		Name: corev1.ResourceCPU, Current: autoscalingv2.MetricValueStatus{AverageUtilization: int32p(pct)}}}}
	return h
}

func TestDiagnoseAutoscalers(t *testing.T) {
	tooMany := autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingLimited, Status: corev1.ConditionTrue, Reason: "TooManyReplicas", Message: "the desired replica count is more than the maximum replica count"}
	withReq := func(name string, containers ...corev1.Container) *appsv1.Deployment {
		d := newDeployment("tiles", name, map[string]string{"app": name})
		d.Spec.Template.Spec.Containers = containers
		return d
	}
	req := corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("500m")}}
	runRuleCases(t, []string{"hpa-"}, []ruleCase{
		{name: "at maxReplicas with CPU above target", rule: "hpa-max-replicas",
			snap: func() *Snapshot {
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{withCPU(hpa("render", 3, 3, tooMany), 196)}}
			},
			summary: []string{"HorizontalPodAutoscaler tiles/render is at its maxReplicas of 3", "TooManyReplicas", "resource cpu is 196% average utilization against a target of 70% average utilization", "about 9"},
			proof:   []string{"ScalingLimited=True TooManyReplicas"}},
		{name: "at maxReplicas without the condition but above an average-value target", rule: "hpa-max-replicas",
			snap: func() *Snapshot {
				h := hpa("queue", 4, 4)
				v := resource.MustParse("100")
				h.Spec.Metrics = []autoscalingv2.MetricSpec{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"}, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: &v}}}}
				cur := resource.MustParse("250")
				h.Status.CurrentMetrics = []autoscalingv2.MetricStatus{{Type: autoscalingv2.PodsMetricSourceType, Pods: &autoscalingv2.PodsMetricStatus{
					Metric: autoscalingv2.MetricIdentifier{Name: "queue_depth"}, Current: autoscalingv2.MetricValueStatus{AverageValue: &cur}}}}
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{h}}
			},
			summary: []string{"maxReplicas of 4", "pods queue_depth is 250 average"}},
		{name: "missing request named by the HPA", rule: "hpa-metrics-unavailable",
			snap: func() *Snapshot {
				h := hpa("fares", 15, 3, autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetResourceMetric",
					Message: "the HPA was unable to compute the replica count: failed to get cpu utilization: missing request for cpu in container proxy of Pod fares-7b5d9c6f48-x2k9p"})
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{h}}
			},
			summary: []string{"cannot compute a replica count", "FailedGetResourceMetric", "container proxy sets no cpu request", "at 3 replicas"}},
		{name: "missing request found in the template from an event", rule: "hpa-metrics-unavailable",
			snap: func() *Snapshot {
				h := hpa("fares", 15, 3)
				ev := createEvent("HorizontalPodAutoscaler", "tiles", "fares", "FailedComputeMetricsReplicas", "invalid metrics (1 invalid out of 1), first error is: failed to get cpu resource metric value", 12, t0)
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{h}, Events: []corev1.Event{ev},
					Deployments: []appsv1.Deployment{*withReq("fares", corev1.Container{Name: "app", Resources: req}, corev1.Container{Name: "sidecar"})}}
			},
			summary: []string{"container sidecar sets no cpu request"}},
		{name: "no resource metrics API", rule: "hpa-metrics-unavailable",
			snap: func() *Snapshot {
				h := hpa("fares", 15, 3, autoscalingv2.HorizontalPodAutoscalerCondition{Type: autoscalingv2.ScalingActive, Status: corev1.ConditionFalse, Reason: "FailedGetResourceMetric",
					Message: "the HPA was unable to compute the replica count: failed to get cpu utilization: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: the server could not find the requested resource (get pods.metrics.k8s.io)"})
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{h},
					Deployments: []appsv1.Deployment{*withReq("fares", corev1.Container{Name: "app", Resources: req})}}
			},
			summary: []string{"the resource metrics API (metrics-server) returns no metrics"}},
		{name: "at its minimum under target is fine", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{withCPU(hpa("render", 3, 2), 20)}}
			}},
		{name: "at maxReplicas below target is fine", rule: "",
			snap: func() *Snapshot {
				return &Snapshot{HorizontalPodAutoscalers: []autoscalingv2.HorizontalPodAutoscaler{withCPU(hpa("render", 3, 3), 50)}}
			}},
	})
}

func failedJob(ns, name, cron string, created time.Time) batchv1.Job {
	t := true
	j := batchv1.Job{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.NewTime(created)},
		Spec:   batchv1.JobSpec{BackoffLimit: int32p(2)},
		Status: batchv1.JobStatus{Conditions: []batchv1.JobCondition{{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded", Message: "Job has reached the specified backoff limit"}}}}
	if cron != "" {
		j.OwnerReferences = []metav1.OwnerReference{{Kind: "CronJob", Name: cron, Controller: &t}}
	}
	return j
}

func TestDiagnoseFailedJobs(t *testing.T) {
	failedPod := func(name, job string) corev1.Pod {
		return *newPod("play", name, controlledBy("Job", job), func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "app", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Reason: "Error"}}}}
		})
	}
	logs := []ContainerLog{{Namespace: "play", Pod: "sync-29684625-7xq2d", Container: "app", Lines: []string{"starting", "ERROR Failed to resolve 'catalog' ([Errno -2] Name or service not known)"}}}
	runRuleCases(t, []string{"job-"}, []ruleCase{
		{name: "the target Job's pods are gone; a newer run shows why", rule: "job-failed",
			snap: func() *Snapshot {
				return &Snapshot{Target: investigate.Target{Kind: investigate.KindJob, Namespace: "play", Name: "sync-29684595"},
					Jobs: []batchv1.Job{failedJob("play", "sync-29684595", "sync", t0), failedJob("play", "sync-29684625", "sync", t0.Add(30*time.Minute))},
					Pods: []corev1.Pod{failedPod("sync-29684625-7xq2d", "sync-29684625")}, Logs: logs}
			},
			summary: []string{"Job play/sync-29684595 failed", "as did 1 other runs of CronJob play/sync", "Failed to resolve 'catalog'", "from the pods of sync-29684625"},
			objects: []string{"cronjob/play/sync"},
			proof:   []string{"exitCode=1"}},
		{name: "a lone Job with no pods left: its deadline explains it", rule: "job-deadline-exceeded",
			snap: func() *Snapshot {
				j := failedJob("play", "migrate", "", t0)
				j.Status.Conditions[0].Reason, j.Status.Conditions[0].Message = "DeadlineExceeded", "Job was active longer than specified deadline"
				j.Spec.ActiveDeadlineSeconds = func() *int64 { n := int64(600); return &n }()
				return &Snapshot{Jobs: []batchv1.Job{j}}
			},
			summary: []string{"Job play/migrate ran past its spec.activeDeadlineSeconds: 600", "DeadlineExceeded"}},
		{name: "a completed Job is not reported", rule: "",
			snap: func() *Snapshot {
				j := failedJob("play", "migrate", "", t0)
				j.Status.Conditions = []batchv1.JobCondition{{Type: batchv1.JobComplete, Status: corev1.ConditionTrue}}
				return &Snapshot{Jobs: []batchv1.Job{j}}
			}},
	})
}
